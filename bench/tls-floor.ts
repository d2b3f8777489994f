/**
 * The floor under certificate logins, for bench:sso: node:https in `processes` node:cluster
 * workers with our mTLS listener's own TLS settings (src/tls/mtls-listener.ts: a P-256 key,
 * a CertificateRequest naming our CAs, no tickets, no renegotiation), answering every request
 * with the serial number of the client's certificate once the handshake has given it, and
 * doing nothing else. A certificate login needs such a handshake and more; whatever these
 * figures lack against the target, TLS in Node.js and the machine (which the driver shares)
 * do.
 *
 *   node --import tsx bench/tls-floor.ts <port> <processes> <key.pem> <certificate.pem> <authorities.pem>
 */
import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { TLSSocket } from "node:tls";
import { MTLS_SERVER_OPTIONS, mtlsContextOptions } from "../src/tls/mtls-listener.js";

const [port, processes, keyFile, certificateFile, authoritiesFile] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];

if (cluster.isPrimary) {
  for (let i = 0; i < Number(processes); i++) cluster.fork();
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const read = (file: string) => readFileSync(file, "utf8");
  // One PEM string may hold several CA certificates (node:tls `ca`).
  const options = mtlsContextOptions(read(keyFile), read(certificateFile), [read(authoritiesFile)]);
  createServer({ ...options, ...MTLS_SERVER_OPTIONS }, (request, response) => {
    const socket = request.socket;
    const peer = socket instanceof TLSSocket ? socket.getPeerX509Certificate() : undefined;
    response.writeHead(peer ? 200 : 401, { "content-type": "text/plain" }).end(peer?.serialNumber ?? "");
  }).listen(Number(port), "127.0.0.1");
}
