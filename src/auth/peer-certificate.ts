/**
 * The client certificate of a request, as the TLS layer received it (RFC 8446 §4.4.2): only
 * from the TLS socket itself, so that it cannot be claimed any other way. Requests on the
 * plain listener, or over TLS without a certificate, have none; no HTTP header is ever read
 * for one (a proxy's X-Client-Cert would be anyone's to send).
 */
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import {
  ClientCertificateError,
  type ClientCertificatePurpose,
  type ClientCertificates,
  type VerifiedClientCertificate,
} from "./client-certificate.js";

export interface PeerCertificate {
  /** The client's certificate, DER. */
  readonly der: Buffer;
  /**
   * Whether the TLS session was resumed (RFC 8446 §2.2): then the certificate was checked at an
   * earlier handshake, not this one. The mTLS listener does not resume sessions; a login
   * refuses a resumed one all the same.
   */
  readonly resumed: boolean;
}

/**
 * The leaf only, as an X509Certificate whose DER is copied out on demand: the certificates the
 * client sent after it are never a trust input (ClientCertificates builds the path from our own
 * CA certificates), and `getPeerCertificate(true)` turned every one of them into a detailed
 * object (names, extensions, key, three fingerprints) on each login, a few times the cost.
 */
export function peerCertificateOf(request: { readonly raw: IncomingMessage }): PeerCertificate | undefined {
  const socket = request.raw.socket;
  if (!(socket instanceof TLSSocket)) return undefined;
  const peer = socket.getPeerX509Certificate();
  if (!peer) return undefined; // no certificate was sent
  return { der: peer.raw, resumed: socket.isSessionReused() };
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
