/**
 * CertID (RFC 6960 §4.1.1) from the issuer's side: the hashes of its name and key for each
 * digest we answer for, and the canonical CertID of one of its serials, which is what
 * pre-signed responses carry whatever form (NULL or absent digest parameters) a client used.
 */
import { createHash } from "node:crypto";
import { type Der, nullValue, octetString, oid, sequence, unsignedInteger } from "../../pki/der.js";
import { children, decode, readBitString } from "../../pki/der-reader.js";
import { OID } from "../../pki/oids.js";
import type { CertIdHash } from "./request.js";

export const CERT_ID_HASHES: readonly CertIdHash[] = ["sha1", "sha256"];

/** The digest AlgorithmIdentifier as OpenSSL writes it in CertIDs: parameters NULL. */
const DIGEST_ALGORITHM: Readonly<Record<CertIdHash, Der>> = {
  sha1: sequence(oid(OID.sha1), nullValue),
  sha256: sequence(oid(OID.sha256), nullValue),
};

export interface IssuerHashes {
  readonly nameHash: Buffer;
  readonly keyHash: Buffer;
  /** hashAlgorithm, issuerNameHash and issuerKeyHash, encoded once: a CertID is this plus a serial. */
  readonly prefix: Buffer;
}

/** The parts of a certificate a CertID is computed from: subject (the issuer's name) and subjectPublicKey. */
export function certificateParts(certificate: Uint8Array): { subject: Buffer; subjectPublicKey: Buffer } {
  const [tbs] = children(decode(certificate));
  const fields = children(tbs!);
  const offset = fields[0]!.tag === 0xa0 ? 1 : 0; // [0] version
  const subject = fields[offset + 4]!.encoded;
  const [, subjectPublicKey] = children(fields[offset + 5]!);
  return { subject, subjectPublicKey: readBitString(subjectPublicKey, "subjectPublicKey") };
}

/** The serial number of a certificate, as canonical lower-case hex. */
export function certificateSerial(certificate: Uint8Array): string {
  const [tbs] = children(decode(certificate));
  const fields = children(tbs!);
  const serial = fields[fields[0]!.tag === 0xa0 ? 1 : 0]!.content;
  return (serial[0] === 0 && serial.length > 1 ? serial.subarray(1) : serial).toString("hex");
}

/** RFC 6960 §4.1.1: issuerNameHash over the issuer's DER name, issuerKeyHash over its subjectPublicKey bits. */
export function issuerHashes(certificate: Uint8Array): Readonly<Record<CertIdHash, IssuerHashes>> {
  const { subject, subjectPublicKey } = certificateParts(certificate);
  const entry = (hash: CertIdHash): IssuerHashes => {
    const nameHash = createHash(hash).update(subject).digest();
    const keyHash = createHash(hash).update(subjectPublicKey).digest();
    return {
      nameHash,
      keyHash,
      prefix: Buffer.concat([DIGEST_ALGORITHM[hash], octetString(nameHash), octetString(keyHash)]),
    };
  };
  return { sha1: entry("sha1"), sha256: entry("sha256") };
}

/** CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber } */
export const encodeCertId = (hashes: IssuerHashes, serialHex: string): Der =>
  sequence(hashes.prefix, unsignedInteger(Buffer.from(serialHex, "hex")));
