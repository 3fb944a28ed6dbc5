/** Package managers: they only start the program, so `urb record` does not record them. */
import { basename } from "node:path";

const PACKAGE_MANAGERS = /^(npm|npx|npm-cli\.js|npx-cli\.js|yarn|yarn\.js|yarn\.cjs|yarnpkg|pnpm|pnpm\.cjs|pnpx|corepack|corepack\.js)$/;

/** Is `script` (a process's argv[1]) a package manager's own entry point? */
export function isPackageManager(script: string | undefined): boolean {
  return script !== undefined && PACKAGE_MANAGERS.test(basename(script));
}
