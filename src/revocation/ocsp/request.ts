/**
 * OCSPRequest (RFC 6960 §4.1.1), parsed strictly with the DER reader: any malformation,
 * an oversized request, too many CertIDs, or a nonce outside RFC 8954's 1..32 octets is an
 * OcspRequestError, which the responder answers with malformedRequest (RFC 6960 §2.3).
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT GeneralName OPTIONAL,
 *                              requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *                              issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 */
import {
  children,
  DerError,
  decode,
  type Element,
  expectTag,
  readBitString,
  readBoolean,
  readOctetString,
  readOid,
  sequenceOf,
  TAG,
} from "../../pki/der-reader.js";
import { OID } from "../../pki/oids.js";

/** Larger than any honest request (one CertID is ~75 bytes; a signed one with a certificate ~2 KB). */
export const MAX_REQUEST_BYTES = 8192;
/** CertIDs in one OCSPRequest; RFC 5019 §2.1.1 clients send one. */
export const MAX_CERT_IDS = 10;
/** RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)). */
export const MAX_NONCE_BYTES = 32;
/** RFC 5280 §4.1.2.2: serials are at most 20 octets; anything longer cannot be one of ours. */
const MAX_SERIAL_OCTETS = 20;

export type CertIdHash = "sha1" | "sha256";

const HASHES: Readonly<Record<string, { name: CertIdHash; bytes: number }>> = {
  [OID.sha1]: { name: "sha1", bytes: 20 },
  [OID.sha256]: { name: "sha256", bytes: 32 },
};
/** Digests we recognise but do not answer for (their CertIDs get `unauthorized`). */
const OTHER_HASHES: Readonly<Record<string, number>> = { [OID.sha384]: 48, [OID.sha512]: 64 };

export interface CertIdRequest {
  /** undefined: a recognised digest we do not serve (SHA-384/512). */
  readonly hash: CertIdHash | undefined;
  readonly issuerNameHash: Buffer;
  readonly issuerKeyHash: Buffer;
  /** Canonical lower-case hex of a positive serial of at most 20 octets; undefined otherwise (never ours). */
  readonly serial: string | undefined;
  /** The CertID exactly as the client encoded it, echoed in live responses (RFC 6960 §4.2.2.3). */
  readonly encoded: Buffer;
}

export interface OcspRequest {
  readonly certIds: readonly CertIdRequest[];
  /** The nonce value (RFC 8954), when the request carries one. */
  readonly nonce: Buffer | undefined;
}

/** Base64 (RFC 4648 §4, or the URL-safe alphabet of §5) of at most MAX_REQUEST_BYTES. */
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const MAX_BASE64 = Math.ceil(MAX_REQUEST_BYTES / 3) * 4;

/**
 * The DER request of a GET (RFC 5019 §5): the base64 in the path after the responder URL,
 * already percent-decoded. A '+' that a client or proxy turned into a space is put back.
 * An empty buffer when it is not base64 (the parser then refuses it).
 */
export function decodeGetRequest(path: string): Buffer {
  if (path.length === 0 || path.length > MAX_BASE64) return Buffer.alloc(0);
  const text = path.includes(" ") ? path.replaceAll(" ", "+") : path;
  return BASE64.test(text) ? Buffer.from(text, "base64") : Buffer.alloc(0);
}

export class OcspRequestError extends Error {
  override readonly name = "OcspRequestError";
}

const fail = (message: string): never => {
  throw new OcspRequestError(message);
};

const EXTENSION_OIDS = {
  nonce: OID.ocspNonce,
  acceptableResponses: "1.3.6.1.5.5.7.48.1.4", // RFC 6960 §4.4.3
  serviceLocator: "1.3.6.1.5.5.7.48.1.7", // RFC 6960 §4.4.6
  preferredSignatureAlgorithms: "1.3.6.1.5.5.7.48.1.8", // RFC 6960 §4.4.7
} as const;
const KNOWN_EXTENSIONS = new Set<string>(Object.values(EXTENSION_OIDS));

interface Extension {
  readonly id: string;
  readonly critical: boolean;
  readonly value: Buffer;
}

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension (RFC 5280 §4.1), each OID at most once. */
function readExtensions(element: Element, what: string): Extension[] {
  const items = sequenceOf(element, what, 1, 16);
  const seen = new Set<string>();
  return items.map((item) => {
    const fields = sequenceOf(item, `${what} entry`, 2, 3);
    const id = readOid(fields[0], `${what} extnID`);
    if (seen.has(id)) fail(`${what}: extension ${id} appears twice`);
    seen.add(id);
    let critical = false;
    if (fields.length === 3) {
      critical = readBoolean(fields[1], `${what} critical`);
      // X.690 §11.5: a DER encoding leaves out a value equal to its DEFAULT.
      if (!critical) fail(`${what}: critical FALSE must be omitted in DER (X.690 §11.5)`);
    }
    const value = readOctetString(fields.at(-1), `${what} extnValue`);
    if (critical && !KNOWN_EXTENSIONS.has(id)) fail(`${what}: unsupported critical extension ${id}`);
    return { id, critical, value };
  });
}

/** RFC 8954 §2.1: the extnValue is the DER of an OCTET STRING of 1 to 32 octets. */
function readNonce(value: Buffer): Buffer {
  let nonce: Buffer;
  try {
    nonce = readOctetString(decode(value), "nonce");
  } catch (error) {
    if (error instanceof DerError)
      fail(`the nonce is not a DER OCTET STRING (RFC 8954 §2.1): ${error.message}`);
    throw error;
  }
  if (nonce.length < 1 || nonce.length > MAX_NONCE_BYTES)
    fail(`the nonce has ${nonce.length} octets; RFC 8954 §2.1 allows 1 to ${MAX_NONCE_BYTES}`);
  return nonce;
}

/** AlgorithmIdentifier of a digest: parameters absent or NULL (RFC 5754 §2: both must be accepted). */
function readDigestAlgorithm(element: Element | undefined): string {
  const fields = sequenceOf(element, "CertID hashAlgorithm", 1, 2);
  const id = readOid(fields[0], "CertID hashAlgorithm");
  if (fields.length === 2) {
    const parameters = expectTag(fields[1], TAG.NULL, "CertID hashAlgorithm parameters");
    if (parameters.content.length !== 0) fail("CertID hashAlgorithm: NULL must be empty");
  }
  return id;
}

/** CertificateSerialNumber: a minimal INTEGER; negative or over-long serials are valid DER but never ours. */
function readSerial(element: Element | undefined): string | undefined {
  const { content } = expectTag(element, TAG.INTEGER, "CertID serialNumber");
  if (content.length === 0) fail("CertID serialNumber: empty INTEGER");
  if (content.length > 1 && content[0] === 0 && (content[1]! & 0x80) === 0)
    fail("CertID serialNumber: INTEGER is not minimally encoded (X.690 §8.3.2)");
  if (content.length > 1 && content[0] === 0xff && (content[1]! & 0x80) !== 0)
    fail("CertID serialNumber: INTEGER is not minimally encoded (X.690 §8.3.2)");
  if ((content[0]! & 0x80) !== 0) return undefined; // negative
  const magnitude = content[0] === 0 && content.length > 1 ? content.subarray(1) : content;
  if (magnitude.length > MAX_SERIAL_OCTETS) return undefined;
  return magnitude.toString("hex");
}

function readCertId(element: Element | undefined, index: number): CertIdRequest {
  const what = `requestList[${index}].reqCert`;
  const fields = sequenceOf(element, what, 4, 4);
  const algorithm = readDigestAlgorithm(fields[0]);
  const issuerNameHash = readOctetString(fields[1], `${what} issuerNameHash`);
  const issuerKeyHash = readOctetString(fields[2], `${what} issuerKeyHash`);
  const serial = readSerial(fields[3]);
  const known = HASHES[algorithm];
  const bytes = known?.bytes ?? OTHER_HASHES[algorithm];
  if (bytes === undefined) fail(`${what}: unsupported hash algorithm ${algorithm}`);
  if (issuerNameHash.length !== bytes || issuerKeyHash.length !== bytes)
    fail(`${what}: the issuer hashes must be ${bytes} octets for ${known?.name ?? algorithm}`);
  return { hash: known?.name, issuerNameHash, issuerKeyHash, serial, encoded: element!.encoded };
}

/** Signature ::= SEQUENCE { signatureAlgorithm, signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL } */
function checkSignature(element: Element): void {
  const [signature] = sequenceOf(element, "optionalSignature", 1, 1, 0xa0);
  const fields = sequenceOf(signature, "optionalSignature.Signature", 2, 3);
  sequenceOf(fields[0], "optionalSignature.signatureAlgorithm", 1, 2);
  readBitString(fields[1], "optionalSignature.signature");
  if (fields[2]) {
    const [certs] = sequenceOf(fields[2], "optionalSignature.certs", 1, 1, 0xa0);
    for (const certificate of sequenceOf(certs, "optionalSignature.certs", 0, 8))
      sequenceOf(certificate, "optionalSignature certificate", 3, 3);
  }
}

/**
 * Parses an OCSPRequest. A signed request is checked for structure only: requests need no
 * signature here (RFC 6960 §4.1.2: the responder MAY require them), so it is not verified.
 */
export function parseOcspRequest(der: Uint8Array): OcspRequest {
  if (der.length === 0) fail("the request is empty");
  if (der.length > MAX_REQUEST_BYTES)
    fail(`the request has ${der.length} bytes; at most ${MAX_REQUEST_BYTES} are accepted`);
  try {
    const top = sequenceOf(decode(der), "OCSPRequest", 1, 2);
    if (top[1]) checkSignature(expectTag(top[1], 0xa0, "optionalSignature"));
    const fields = children(expectTag(top[0], TAG.SEQUENCE, "tbsRequest"));
    let at = 0;
    if (fields[at]?.tag === 0xa0) {
      // X.690 §11.5: version v1 is the DEFAULT and must not be encoded; no other version exists.
      fail("tbsRequest.version must be omitted (v1 is the DEFAULT, RFC 6960 §4.1.1; X.690 §11.5)");
    }
    if (fields[at]?.tag === 0xa1) {
      sequenceOf(fields[at], "tbsRequest.requestorName", 1, 1, 0xa1);
      at++;
    }
    const list = children(expectTag(fields[at], TAG.SEQUENCE, "tbsRequest.requestList"));
    if (list.length === 0) fail("tbsRequest.requestList is empty: it names no certificate");
    if (list.length > MAX_CERT_IDS)
      fail(
        `the request asks about ${list.length} certificates; at most ${MAX_CERT_IDS} are answered at once`,
      );
    at++;
    let nonce: Buffer | undefined;
    if (fields[at] && fields[at]!.tag !== 0xa2)
      fail(`tbsRequest has an unexpected field (tag 0x${fields[at]!.tag.toString(16)}) after requestList`);
    if (fields[at]) {
      const [extensions] = sequenceOf(fields[at], "tbsRequest.requestExtensions", 1, 1, 0xa2);
      for (const extension of readExtensions(extensions!, "requestExtensions"))
        if (extension.id === EXTENSION_OIDS.nonce) nonce = readNonce(extension.value);
      at++;
    }
    if (at !== fields.length) fail("tbsRequest has unexpected fields");
    const certIds = list.map((request, index) => {
      const parts = sequenceOf(request, `requestList[${index}]`, 1, 2);
      if (parts[1]) {
        const [extensions] = sequenceOf(
          parts[1],
          `requestList[${index}].singleRequestExtensions`,
          1,
          1,
          0xa0,
        );
        readExtensions(extensions!, `requestList[${index}].singleRequestExtensions`);
      }
      return readCertId(parts[0], index);
    });
    return { certIds, nonce };
  } catch (error) {
    if (error instanceof DerError) throw new OcspRequestError(error.message);
    throw error;
  }
}
