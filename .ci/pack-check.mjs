#!/usr/bin/env node
/**
 * The package as a user gets it: `npm pack`, install the tarball into an empty project (offline: the
 * package has no dependencies, its peers are optional), then from that project
 *  - import every entry point (".", "./node", "./record", "./otel", "./pino") and find every value
 *    export the sources declare,
 *  - `tsc --noEmit` (the project's TypeScript, module NodeNext, strict) of a consumer file that
 *    imports every export, values and types, of every entry point,
 *  - `urb --help` from node_modules/.bin.
 * Each step is bounded in time; prints one line per step and exits 1 on the first failure.
 * Run by .ci/run after `npm run build`.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const STEP_MS = 180_000;

function step(what, file, args, cwd) {
  const r = spawnSync(file, args, { cwd, encoding: "utf8", timeout: STEP_MS, env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false" } });
  if (r.status !== 0) {
    console.error(`pack-check: ${what} failed (${r.error ? r.error.message : `exit ${r.status}`})\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  console.log(`pack-check: ${what}: ok`);
  return r.stdout;
}

/** Every export of each entry point's source, split into values and types, with the TypeScript checker. */
function exportsOfSources() {
  const ts = createRequire(join(root, "package.json"))("typescript");
  const entries = Object.entries(pkg.exports).map(([sub, e]) => ({ sub, file: join(root, e.types.replace(/^\.\/dist\//, "").replace(/\.d\.ts$/, ".ts")) }));
  const program = ts.createProgram(
    entries.map((e) => e.file),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true },
  );
  const checker = program.getTypeChecker();
  return entries.map(({ sub, file }) => {
    const sf = program.getSourceFile(file);
    if (!sf) throw new Error(`no source ${file}`);
    const values = [];
    const types = [];
    for (const s of checker.getExportsOfModule(checker.getSymbolAtLocation(sf))) {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      if (target.flags & ts.SymbolFlags.Value) values.push(s.name);
      else {
        // A generic type is named with `any` for each type parameter that has no default.
        const params = (target.declarations ?? []).find((d) => d.typeParameters)?.typeParameters ?? [];
        const required = params.filter((p) => p.default === undefined).length;
        types.push({ name: s.name, args: required > 0 ? `<${Array(required).fill("any").join(", ")}>` : "" });
      }
    }
    return { spec: sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`, values, types };
  });
}

const work = mkdtempSync(join(tmpdir(), "urb-pack-"));
const timer = setTimeout(() => {
  console.error("pack-check: timed out");
  process.exit(1);
}, 10 * 60_000);
try {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const packed = JSON.parse(step("npm pack", npm, ["pack", "--json", "--pack-destination", work], root));
  const tarball = join(work, packed[0].filename);
  const app = join(work, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }));
  step("npm install of the tarball", npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], app);

  const entries = exportsOfSources();
  const runtime = entries
    .map((e, i) => `import * as m${i} from ${JSON.stringify(e.spec)};\nfor (const name of ${JSON.stringify(e.values)}) if (!(name in m${i})) throw new Error(${JSON.stringify(e.spec)} + " lacks " + name);`)
    .join("\n");
  writeFileSync(join(app, "imports.mjs"), `${runtime}\nconsole.log("imported ${entries.length} entry points");\n`);
  step(`import of ${entries.map((e) => e.spec).join(", ")}`, process.execPath, ["imports.mjs"], app);

  const consumer = entries
    .map((e, i) => {
      const names = [...e.values.map((n) => `${n} as v${i}_${n}`), ...e.types.map((t) => `type ${t.name} as t${i}_${t.name}`)];
      const uses = [...e.values.map((n) => `  v${i}_${n},`), ...e.types.map((t) => `  undefined as unknown as t${i}_${t.name}${t.args},`)];
      return `import { ${names.join(", ")} } from ${JSON.stringify(e.spec)};\nexport const uses${i}: unknown[] = [\n${uses.join("\n")}\n];`;
    })
    .join("\n");
  writeFileSync(join(app, "consumer.ts"), consumer);
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: true, types: ["node"], typeRoots: [join(root, "node_modules", "@types")] }, files: ["consumer.ts"] }),
  );
  const count = entries.reduce((n, e) => n + e.values.length + e.types.length, 0);
  step(`tsc --noEmit of a consumer of all ${count} exports`, process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app);

  const help = step("urb --help from node_modules/.bin", join(app, "node_modules", ".bin", "urb"), ["--help"], app);
  if (!/urb/.test(help)) {
    console.error(`pack-check: urb --help printed no usage:\n${help}`);
    process.exit(1);
  }
} finally {
  clearTimeout(timer);
  rmSync(work, { recursive: true, force: true });
}

