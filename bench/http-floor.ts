/**
 * The floor under any Node.js responder on this machine, for bench:ocsp: node:http in
 * `processes` node:cluster workers, answering every request with the same fixed body and
 * headers an OCSP answer has, and doing nothing else (a GET at once, a POST once its body is
 * read, as our lane does). Whatever our responder's figures lack against these, its own work
 * costs; whatever these lack against the targets, Node's HTTP stack and the machine do.
 *
 *   node --import tsx bench/http-floor.ts <port> <processes> <body bytes>
 */
import cluster from "node:cluster";
import { createServer } from "node:http";

const [port, processes, bodyBytes] = process.argv.slice(2).map(Number) as [number, number, number];

if (cluster.isPrimary) {
  for (let i = 0; i < processes; i++) cluster.fork();
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const body = Buffer.alloc(bodyBytes, 0x30);
  const now = new Date().toUTCString();
  const headers = {
    "content-type": "application/ocsp-response",
    "cache-control": "max-age=43200, public, no-transform, must-revalidate",
    "last-modified": now,
    expires: now,
    etag: '"0123456789abcdefghijklmnopq"',
    "content-length": body.length,
  };
  createServer((request, response) => {
    if (request.method === "GET") response.writeHead(200, headers).end(body);
    else request.resume().on("end", () => response.writeHead(200, headers).end(body));
  }).listen(port, "127.0.0.1");
}
