/**
 * The mutual-TLS listener (RFC 8705 §5 "mtls_endpoint_aliases"): the same application as the
 * main listener, over HTTPS on a port of its own, asking every client for a certificate.
 *
 * - CertificateRequest (RFC 8446 §4.3.2 certificate_authorities; RFC 5246 §7.4.4
 *   certificate_authorities in TLS 1.2) names this service's CA certificates, so that a browser
 *   offers only certificates we issued; the list follows the IssuerRegistry when it reloads.
 * - The handshake never fails for the certificate (rejectUnauthorized false): the application
 *   decides (ClientCertificates), and can answer with a precise error instead of a TLS alert.
 * - No session resumption: no tickets (RFC 5077, SSL_OP_NO_TICKET; in TLS 1.3 the stateful
 *   tickets OpenSSL then issues need a session cache Node only keeps with a `resumeSession`
 *   listener, and there is none), so every connection is a full handshake in which the client
 *   proves possession of its key again: a logged-out or revoked certificate is not carried
 *   over by a remembered session. No renegotiation either (TLS 1.2), so a connection's client
 *   certificate cannot change under it.
 */
import { constants } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { IssuerRegistry } from "../ca/issuers.js";
import { ConfigError } from "../config.js";
import { encodePem } from "../pki/pem.js";
import type { ServerCredentials } from "./server-credentials.js";

/** How often, while closing, connections that have finished their last request are closed. */
const IDLE_SWEEP_MS = 200;

export interface MtlsListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly credentials: ServerCredentials;
  readonly issuers: IssuerRegistry;
  /** The application: Fastify's `routing`. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
}

export interface MtlsListener {
  readonly server: Server;
  /** Where it listens. */
  readonly address: AddressInfo;
  readonly credentials: ServerCredentials;
  /** Stops accepting connections, lets requests in flight finish, closes the rest. */
  close(): Promise<void>;
}

/** Each CA certificate of this service, PEM: the trust list, and the names in CertificateRequest. */
export const clientCertificateAuthorities = (issuers: IssuerRegistry): string[] =>
  issuers.all().map((issuer) => encodePem("CERTIFICATE", issuer.row.certificate));

/**
 * The listener's TLS settings for a key, its certificate chain and the CA certificates to name
 * in CertificateRequest (also bench/tls-floor.ts's, which measures what they cost alone).
 */
export const mtlsContextOptions = (
  key: string,
  certificateChain: string,
  authorities: readonly string[],
): SecureContextOptions => ({
  key,
  cert: certificateChain,
  ca: [...authorities],
  minVersion: "TLSv1.2",
  secureOptions: constants.SSL_OP_NO_TICKET | constants.SSL_OP_NO_RENEGOTIATION,
});

/** The server asks every client for a certificate; the application, not the handshake, judges it. */
export const MTLS_SERVER_OPTIONS = { requestCert: true, rejectUnauthorized: false } as const;

const secureContextOptions = (credentials: ServerCredentials, issuers: IssuerRegistry) =>
  mtlsContextOptions(credentials.key, credentials.certificateChain, clientCertificateAuthorities(issuers));

export async function startMtlsListener(options: MtlsListenerOptions): Promise<MtlsListener> {
  const { credentials, issuers } = options;
  const contextOptions = () => secureContextOptions(credentials, issuers);
  try {
    createSecureContext(contextOptions()); // a key that does not match the certificate fails here, clearly
  } catch (error) {
    throw new ConfigError(
      `the mTLS listener's certificate and key cannot be used: ${(error as Error).message}`,
    );
  }
  const server = createServer({ ...contextOptions(), ...MTLS_SERVER_OPTIONS }, options.handler);
  const stopFollowing = issuers.onReload(() => server.setSecureContext(contextOptions()));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    stopFollowing();
    throw error;
  }
  return {
    server,
    address: server.address() as AddressInfo,
    credentials,
    async close() {
      stopFollowing();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // close() ends idle keep-alive connections now; the others once their last response is sent.
      const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      try {
        await closed;
      } finally {
        clearInterval(sweep);
      }
    },
  };
}
