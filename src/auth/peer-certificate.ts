/**
 * The client certificate of a request, as the TLS layer received it (RFC 8446 §4.4.2): only
 * from the TLS socket itself, so that it cannot be claimed any other way. Requests on the
 * plain listener, or over TLS without a certificate, have none; no HTTP header is ever read
 * for one (a proxy's X-Client-Cert would be anyone's to send).
 */
import type { IncomingMessage } from "node:http";
import { type DetailedPeerCertificate, TLSSocket } from "node:tls";
import {
  ClientCertificateError,
  type ClientCertificatePurpose,
  type ClientCertificates,
  type VerifiedClientCertificate,
} from "./client-certificate.js";

export interface PeerCertificate {
  /** The client's certificate, DER. */
  readonly der: Buffer;
  /** The certificates the client sent after it, DER, in order (not trusted: see ClientCertificates). */
  readonly chain: readonly Buffer[];
  /**
   * Whether the TLS session was resumed (RFC 8446 §2.2): then the certificate was checked at an
   * earlier handshake, not this one. The mTLS listener does not resume sessions; a login
   * refuses a resumed one all the same.
   */
  readonly resumed: boolean;
}

export function peerCertificateOf(request: { readonly raw: IncomingMessage }): PeerCertificate | undefined {
  const socket = request.raw.socket;
  if (!(socket instanceof TLSSocket)) return undefined;
  const peer = socket.getPeerCertificate(true);
  if (!peer?.raw) return undefined; // an empty object: no certificate was sent
  const chain: Buffer[] = [];
  let previous: DetailedPeerCertificate = peer;
  for (
    let next = peer.issuerCertificate;
    next?.raw && next !== previous && chain.length < 10;
    next = next.issuerCertificate
  ) {
    chain.push(next.raw);
    previous = next;
  }
  return { der: peer.raw, chain, resumed: socket.isSessionReused() };
}

/**
 * The request's client certificate, checked for `purpose`: what a certificate login or a
 * `tls_client_auth` client authentication calls. Refuses (ClientCertificateError, 401) a request
 * without one (`certificate-required`), one on a resumed TLS session (`tls-session-resumed`), and
 * a certificate that fails a check of ClientCertificates.verify.
 */
export function authenticateClientCertificate(
  request: { readonly raw: IncomingMessage },
  certificates: ClientCertificates,
  purpose: ClientCertificatePurpose,
): Promise<VerifiedClientCertificate> {
  const peer = peerCertificateOf(request);
  if (!peer)
    throw new ClientCertificateError(
      "certificate-required",
      "this request needs a TLS client certificate: connect to the mTLS listener with one this service issued",
    );
  if (peer.resumed)
    throw new ClientCertificateError(
      "tls-session-resumed",
      "this TLS session was resumed, so the client certificate was not proven in this handshake: connect anew",
    );
  return certificates.verify(peer, purpose);
}
