/**
 * Shared pieces of the interoperability suites: PEM and DER handling written independently
 * of src/pki (so a bug there cannot hide itself), the object identifiers the peers print,
 * and HTTP helpers for a harness that listens on a real socket.
 */
import { createHash, X509Certificate } from "node:crypto";
import type { Harness } from "../helpers/harness.js";

/** Object identifiers as the peers print them, written out here rather than imported from src/. */
export const OIDS = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  subjectAltName: "2.5.29.17",
  crlDistributionPoints: "2.5.29.31",
  freshestCrl: "2.5.29.46",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
  ocspNoCheck: "1.3.6.1.5.5.7.48.1.5",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  ocspSigning: "1.3.6.1.5.5.7.3.9",
  countryName: "2.5.4.6",
  organizationName: "2.5.4.10",
  organizationalUnitName: "2.5.4.11",
  commonName: "2.5.4.3",
  serialNumber: "2.5.4.5",
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
  ecdsaWithSHA384: "1.2.840.10045.4.3.3",
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  ed25519: "1.3.101.112",
} as const;

/** Extended key usage names used in profiles, mapped to their OIDs (RFC 5280 §4.2.1.12). */
export const EKU_OIDS: Record<string, string> = {
  serverAuth: OIDS.serverAuth,
  clientAuth: OIDS.clientAuth,
  emailProtection: OIDS.emailProtection,
  ocspSigning: OIDS.ocspSigning,
};

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----\r?\n?/g;

/** Every CERTIFICATE block of a PEM text, in order, each ending with a newline. */
export function splitPems(text: string): string[] {
  return (text.match(PEM_BLOCK) ?? []).map((block) => (block.endsWith("\n") ? block : `${block}\n`));
}

export const derToPem = (der: Uint8Array): string => new X509Certificate(Buffer.from(der)).toString();
export const pemToDer = (pem: string): Buffer => Buffer.from(new X509Certificate(pem).raw);

export interface Tlv {
  readonly tag: number;
  /** The whole encoding, header included. */
  readonly encoded: Buffer;
  readonly content: Buffer;
}

/** Reads the DER TLV at `offset` (definite lengths only, as DER requires). */
export function readTlv(buffer: Buffer, offset = 0): Tlv {
  const tag = buffer[offset]!;
  let length = buffer[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error(`unsupported DER length form at ${offset}`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + buffer[offset + 2 + i]!;
    header += octets;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new Error(`DER value at ${offset} runs past the end`);
  return {
    tag,
    encoded: buffer.subarray(offset, end),
    content: buffer.subarray(offset + header, end),
  };
}

export function children(tlv: Tlv): Tlv[] {
  const items: Tlv[] = [];
  for (let offset = 0; offset < tlv.content.length; ) {
    const item = readTlv(tlv.content, offset);
    items.push(item);
    offset += item.encoded.length;
  }
  return items;
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } (RFC 5280 §4.1). */
export function certificateParts(der: Buffer) {
  const outer = readTlv(der);
  if (outer.encoded.length !== der.length) throw new Error("trailing bytes after the certificate");
  const [tbs, signatureAlgorithm, signature] = children(outer);
  const tbsFields = children(tbs!);
  // version [0], serial, signature AlgorithmIdentifier, issuer, validity, subject, spki, …
  return {
    tbs: tbs!,
    signatureAlgorithm: signatureAlgorithm!,
    signature: signature!,
    tbsSignatureAlgorithm: tbsFields[2]!,
    serial: tbsFields[1]!,
    subjectPublicKeyInfo: tbsFields[6]!,
  };
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 over the subjectPublicKey BIT STRING's bits. */
export function keyIdentifierOf(spki: Buffer): string {
  const [, subjectPublicKey] = children(readTlv(spki));
  if (subjectPublicKey?.tag !== 0x03) throw new Error("SubjectPublicKeyInfo without a BIT STRING");
  return createHash("sha1").update(subjectPublicKey.content.subarray(1)).digest("hex");
}

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Starts the harness on a real socket; returns its origin, e.g. http://127.0.0.1:40123. */
export async function listen(harness: Harness): Promise<string> {
  const address = await harness.app.listen({ host: "127.0.0.1", port: 0 });
  const url = new URL(address);
  if (url.hostname !== "127.0.0.1") throw new Error(`listening on ${address}, not 127.0.0.1`);
  return url.origin;
}

/** The root (DER over /ca/root-1.crt) and the issuing CA chain (PEM over /ca/issuing-1.pem). */
export async function fetchHierarchy(origin: string, rootId = "root-1", issuingId = "issuing-1") {
  const rootResponse = await fetch(`${origin}/ca/${rootId}.crt`);
  if (rootResponse.status !== 200) throw new Error(`GET /ca/${rootId}.crt: ${rootResponse.status}`);
  const rootContentType = rootResponse.headers.get("content-type") ?? "";
  const rootDer = Buffer.from(await rootResponse.arrayBuffer());
  const chainResponse = await fetch(`${origin}/ca/${issuingId}.pem`);
  if (chainResponse.status !== 200) throw new Error(`GET /ca/${issuingId}.pem: ${chainResponse.status}`);
  const chainContentType = chainResponse.headers.get("content-type") ?? "";
  const chainPems = splitPems(await chainResponse.text());
  return {
    rootDer,
    rootPem: derToPem(rootDer),
    rootContentType,
    /** The issuing CA certificate followed by its ancestors (here: the root). */
    chainPems,
    issuingPem: chainPems[0]!,
    issuingDer: pemToDer(chainPems[0]!),
    chainContentType,
  };
}

/** POST /api/v1/certificates over HTTP as JSON; returns the JSON document (201 required). */
export async function issueOverHttp(
  origin: string,
  token: string,
  body: Record<string, unknown>,
): Promise<{ certificate: string; chain: string[]; serial: string; notAfter: string }> {
  const response = await fetch(`${origin}/api/v1/certificates`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json",
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`issuance failed with ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** The extensions of a certificate, by dotted OID (the OID decoded here, independently of src/). */
export function extensionsOf(der: Buffer): Map<string, { critical: boolean; value: Buffer }> {
  const tbsFields = children(certificateParts(der).tbs);
  const wrapper = tbsFields.find((field) => field.tag === 0xa3);
  const result = new Map<string, { critical: boolean; value: Buffer }>();
  if (!wrapper) return result;
  for (const extension of children(children(wrapper)[0]!)) {
    const fields = children(extension);
    const id = decodeOid(fields[0]!.content);
    const critical = fields.length === 3 && fields[1]!.content[0] === 0xff;
    result.set(id, { critical, value: fields[fields.length - 1]!.content });
  }
  return result;
}

function decodeOid(content: Buffer): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs[0]! < 80n ? arcs[0]! / 40n : 2n;
  return [first, arcs[0]! - first * 40n, ...arcs.slice(1)].join(".");
}

/**
 * Whether a BIT STRING holding a named bit list is in DER form: trailing zero bits removed
 * and the unused-bits count saying so (X.690 §11.2.2, §11.2.1).
 */
export function isMinimalNamedBitList(bitString: Tlv): boolean {
  if (bitString.tag !== 0x03 || bitString.content.length === 0) return false;
  const unused = bitString.content[0]!;
  const bytes = bitString.content.subarray(1);
  if (bytes.length === 0) return unused === 0;
  const last = bytes[bytes.length - 1]!;
  return unused < 8 && (last & ((1 << unused) - 1)) === 0 && ((last >> unused) & 1) === 1;
}
