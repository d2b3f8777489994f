/**
 * The portal's static files (stylesheet, browser modules), read once at start from
 * src/web/assets: the service serves them itself, since the machines have no internet and no
 * CDN. Each answer carries a strong ETag (RFC 9110 §8.8.3) so browsers revalidate cheaply.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const ROOT = fileURLToPath(new URL("./assets/", import.meta.url));

function walk(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** The assets by URL path under /assets/ (e.g. "js/csr.js"); files of unknown types are not served. */
export function loadAssets(root = ROOT): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const path of walk(root)) {
    const type = MEDIA_TYPES[extname(path)];
    if (!type) continue;
    const body = readFileSync(path);
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    assets.set(relative(root, path).split(sep).join("/"), { body, type, etag });
  }
  return assets;
}
