/**
 * A small reader of OCSPResponse DER (RFC 6960 §4.2.1) for assertions, built on the strict
 * DER reader: it fails on anything that is not well-formed DER, which is itself a check.
 */

import { explicit, octetString, oid, sequence } from "../../src/pki/der.js";
import { children, decode, type Element, readOid } from "../../src/pki/der-reader.js";
import { OID } from "../../src/pki/oids.js";
import { encodeCertId, issuerHashes } from "../../src/revocation/ocsp/cert-id.js";

export interface ParsedSingleResponse {
  readonly hashOid: string;
  readonly serialHex: string;
  readonly status: "good" | "revoked" | "unknown";
  readonly revocationTime?: string;
  readonly reason?: number;
  readonly thisUpdate: string;
  readonly nextUpdate?: string;
}

export interface ParsedOcspResponse {
  /** OCSPResponseStatus: 0 successful, 1 malformedRequest, 2 internalError, 3 tryLater, 5 sigRequired, 6 unauthorized. */
  readonly status: number;
  readonly basic?: {
    readonly responderKeyHash: Buffer;
    readonly producedAt: string;
    readonly responses: readonly ParsedSingleResponse[];
    readonly nonce?: Buffer;
    readonly certificates: readonly Buffer[];
  };
}

const text = (element: Element): string => element.content.toString("latin1");

export function parseOcspResponse(der: Uint8Array): ParsedOcspResponse {
  const top = children(decode(der));
  if (top[0]!.tag !== 0x0a || top[0]!.content.length !== 1)
    throw new Error("responseStatus is not a one-octet ENUMERATED");
  const status = top[0]!.content[0]!;
  if (status !== 0) {
    if (top.length !== 1) throw new Error("an unsuccessful response must not carry responseBytes");
    return { status };
  }
  const [responseBytes] = children(top[1]!);
  const [type, octets] = children(responseBytes!);
  if (readOid(type, "responseType") !== "1.3.6.1.5.5.7.48.1.1") throw new Error("not id-pkix-ocsp-basic");
  const basic = children(decode(octets!.content));
  const tbs = children(basic[0]!);
  let at = 0;
  if (tbs[0]!.tag === 0xa0) throw new Error("ResponseData.version present (v1 is the DEFAULT)");
  const responderId = tbs[at++]!;
  if (responderId.tag !== 0xa2)
    throw new Error(`responderID is not byKey (tag 0x${responderId.tag.toString(16)})`);
  const responderKeyHash = children(responderId)[0]!.content;
  const producedAt = text(tbs[at++]!);
  const responses = children(tbs[at++]!).map((single): ParsedSingleResponse => {
    const fields = children(single);
    const certId = children(fields[0]!);
    const hashOid = readOid(children(certId[0]!)[0], "hashAlgorithm");
    const serial = certId[3]!.content;
    const serialHex = (serial[0] === 0 && serial.length > 1 ? serial.subarray(1) : serial).toString("hex");
    const certStatus = fields[1]!;
    const thisUpdate = text(fields[2]!);
    const nextUpdate = fields[3]?.tag === 0xa0 ? text(children(fields[3])[0]!) : undefined;
    const base = { hashOid, serialHex, thisUpdate, ...(nextUpdate ? { nextUpdate } : {}) };
    if (certStatus.tag === 0x80) return { ...base, status: "good" };
    if (certStatus.tag === 0x82) return { ...base, status: "unknown" };
    if (certStatus.tag !== 0xa1) throw new Error(`certStatus tag 0x${certStatus.tag.toString(16)}`);
    const revoked = children(certStatus);
    const reason = revoked[1] ? children(revoked[1])[0]!.content[0] : undefined;
    return {
      ...base,
      status: "revoked",
      revocationTime: text(revoked[0]!),
      ...(reason !== undefined ? { reason } : {}),
    };
  });
  let nonce: Buffer | undefined;
  if (tbs[at]?.tag === 0xa1)
    for (const extension of children(children(tbs[at]!)[0]!)) {
      const [id, value] = children(extension);
      if (readOid(id, "extnID") === "1.3.6.1.5.5.7.48.1.2") nonce = decode(value!.content).content;
    }
  const certificates = basic[3] ? children(children(basic[3])[0]!).map((element) => element.encoded) : [];
  return {
    status,
    basic: { responderKeyHash, producedAt, responses, ...(nonce ? { nonce } : {}), certificates },
  };
}

/** Every GeneralizedTime in a DER structure, descending into OCTET STRINGs that hold DER. */
export function generalizedTimes(der: Uint8Array): string[] {
  const found: string[] = [];
  const walk = (element: Element) => {
    if (element.tag === 0x18) found.push(text(element));
    if (element.tag & 0x20) for (const child of children(element)) walk(child);
    else if (element.tag === 0x04 && element.content.length > 1 && element.content[0] === 0x30)
      try {
        walk(decode(element.content));
      } catch {
        // not DER inside: an ordinary OCTET STRING
      }
  };
  walk(decode(der));
  return found;
}

/**
 * An OCSPRequest (RFC 6960 §4.1.1) for one serial of the CA whose certificate is given, as a
 * client builds it: a CertID of the chosen digest, and a nonce (RFC 8954) when given.
 */
export function buildOcspRequest(
  issuerCertificate: Uint8Array,
  serial: string,
  hash: "sha1" | "sha256" = "sha1",
  nonce?: Buffer,
): Buffer {
  const hashes = issuerHashes(issuerCertificate)[hash];
  const extensions = nonce
    ? [explicit(2, sequence(sequence(oid(OID.ocspNonce), octetString(octetString(nonce)))))]
    : [];
  return sequence(sequence(sequence(sequence(encodeCertId(hashes, serial))), ...extensions));
}
