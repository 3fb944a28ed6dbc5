/**
 * A static file server for the browser test, on 127.0.0.1 and a free port. Every response carries
 * the headers that make a page cross-origin isolated (COOP same-origin + COEP require-corp), without
 * which browsers do not give a page or its workers `SharedArrayBuffer`.
 */
import { createServer, type Server } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import type { AddressInfo } from "node:net";

const TYPES: Record<string, string> = { ".js": "text/javascript", ".map": "application/json", ".html": "text/html" };

const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

/** A running server: its origin (`http://127.0.0.1:PORT`) and how to stop it. */
export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

/** Serve `root`'s .js files, and `indexHtml` at `/`. Paths outside `root` are refused. */
export async function serveStatic(root: string, indexHtml: string): Promise<StaticServer> {
  const base = normalize(root + sep);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { "Content-Type": type, ...ISOLATION_HEADERS });
      res.end(body);
    };
    if (path === "/") return send(200, TYPES[".html"] as string, indexHtml);
    const file = normalize(join(base, path));
    const type = TYPES[extname(file)];
    if (!file.startsWith(base) || type === undefined) return send(404, "text/plain", `not served: ${path}`);
    readFile(file).then(
      (body) => send(200, type, body),
      () => send(404, "text/plain", `not found: ${path}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
