/**
 * A tiny loopback HTTP server for browser tests: serves a directory under a URL prefix and
 * a few fixed pages, every response under the portal's Content-Security-Policy. Loopback
 * http://127.0.0.1 is a secure context, so WebCrypto and IndexedDB work.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";

/** The portal's policy: scripts only from the origin itself, so no inline script and no eval. */
export const PORTAL_CSP =
  "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".ico": "image/x-icon",
};

export interface StaticServer {
  readonly origin: string;
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** URL prefix → directory, e.g. { "/assets/": "src/web/assets" }. */
  readonly mounts: Record<string, string>;
  /** Exact paths with fixed bodies; the content type comes from the extension (none: HTML). */
  readonly pages?: Record<string, string>;
  readonly csp?: string;
}

export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const csp = options.csp ?? PORTAL_CSP;
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const send = (status: number, body: string | Buffer, type = "text/plain; charset=utf-8") => {
      response.writeHead(status, {
        "content-type": type,
        "content-security-policy": csp,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      });
      response.end(body);
    };
    const page = options.pages?.[path];
    if (page !== undefined) return send(200, page, TYPES[extname(path) || ".html"]);
    for (const [prefix, directory] of Object.entries(options.mounts)) {
      if (!path.startsWith(prefix)) continue;
      const root = resolve(directory);
      const file = normalize(join(root, decodeURIComponent(path.slice(prefix.length))));
      if (!file.startsWith(root + sep)) return send(403, "forbidden");
      readFile(file).then(
        (body) => send(200, body, TYPES[extname(file)] ?? "application/octet-stream"),
        () => send(404, "not found"),
      );
      return;
    }
    send(404, "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
