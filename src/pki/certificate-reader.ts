/**
 * Reading an X.509 certificate someone presents (RFC 5280 §4.1) with the strict DER reader:
 * the fields path validation needs, the signed bytes, and the extensions by OID. Anything
 * that is not well-formed DER ends in a DerError.
 *
 *   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, serialNumber, signature,
 *     issuer, validity, subject, subjectPublicKeyInfo, issuerUniqueID [1] IMPLICIT OPTIONAL,
 *     subjectUniqueID [2] IMPLICIT OPTIONAL, extensions [3] EXPLICIT OPTIONAL }
 */
import {
  children,
  DerError,
  decode,
  type Element,
  readBitString,
  readBoolean,
  readOctetString,
  readOid,
  readSmallInteger,
  readUnsignedInteger,
  sequenceOf,
  TAG,
} from "./der-reader.js";
import { KEY_USAGES, type KeyUsage } from "./extensions.js";
import { OID } from "./oids.js";

export interface CertificateExtension {
  readonly critical: boolean;
  /** The extnValue OCTET STRING's content: the DER of the extension's own value. */
  readonly value: Buffer;
}

export interface CertificateFields {
  /** The signed bytes: the whole TBSCertificate encoding. */
  readonly tbs: Buffer;
  /** The outer signatureAlgorithm, encoded. */
  readonly signatureAlgorithm: Buffer;
  /** TBSCertificate.signature, encoded (RFC 5280 §4.1.2.3: the same as the outer one). */
  readonly tbsSignatureAlgorithm: Buffer;
  readonly signature: Buffer;
  /** Lower-case hex of the serial's magnitude, as the certificates table stores it. */
  readonly serial: string;
  /** The issuer Name, DER. */
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectPublicKeyInfo: Buffer;
  readonly extensions: ReadonlyMap<string, CertificateExtension>;
}

const TIME = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ (YY ≥ 50 is 19YY) or GeneralizedTime YYYYMMDDHHMMSSZ. */
function readTime(element: Element | undefined, what: string): Date {
  if (element?.tag !== TAG.UTC_TIME && element?.tag !== TAG.GENERALIZED_TIME)
    throw new DerError(`${what} is not a UTCTime or GeneralizedTime`);
  const text = element.content.toString("latin1");
  const match = TIME.exec(text);
  const digits = element.tag === TAG.UTC_TIME ? 2 : 4;
  if (!match || match[1]!.length !== digits)
    throw new DerError(`${what} "${text}" is not in the form RFC 5280 §4.1.2.5 requires`);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fullYear = digits === 4 ? year : year >= 50 ? 1900 + year : 2000 + year;
  const date = new Date(Date.UTC(fullYear, month - 1, day, hour, minute, second));
  if (
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    throw new DerError(`${what} "${text}" is not a valid time`);
  return date;
}

function readExtensions(element: Element): Map<string, CertificateExtension> {
  const [list] = sequenceOf(element, "extensions", 1, 1, 0xa3);
  const extensions = new Map<string, CertificateExtension>();
  for (const item of sequenceOf(list, "extensions", 1, 64)) {
    const fields = sequenceOf(item, "extension", 2, 3);
    const id = readOid(fields[0], "extension id");
    // RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a particular extension."
    if (extensions.has(id)) throw new DerError(`extension ${id} appears twice (RFC 5280 §4.2)`);
    const critical = fields.length === 3 && readBoolean(fields[1], "extension critical flag");
    if (fields.length === 3 && !critical)
      throw new DerError(`extension ${id}: critical FALSE is the DEFAULT and must not be encoded in DER`);
    extensions.set(id, { critical, value: readOctetString(fields[fields.length - 1], `extension ${id}`) });
  }
  return extensions;
}

/** [1] and [2] IMPLICIT UniqueIdentifier (BIT STRING), primitive or constructed. */
const UNIQUE_ID_TAGS = new Set([0x81, 0xa1, 0x82, 0xa2]);

/** A SEQUENCE checked for its element count, as its whole encoding. */
function encodedSequence(element: Element | undefined, what: string, min: number, max: number): Buffer {
  sequenceOf(element, what, min, max);
  return element!.encoded;
}

/** Parses a DER certificate; throws DerError when it is not one. */
export function readCertificate(der: Uint8Array): CertificateFields {
  const [tbs, signatureAlgorithm, signatureValue] = sequenceOf(decode(der), "Certificate", 3, 3);
  const fields = sequenceOf(tbs, "TBSCertificate", 6, 10);
  let at = 0;
  if (fields[0]!.tag === 0xa0) {
    const [version] = sequenceOf(fields[at++], "version", 1, 1, 0xa0);
    if (readSmallInteger(version, "version") > 2) throw new DerError("version is not v1, v2 or v3");
  }
  const serial = readUnsignedInteger(fields[at++], "serialNumber");
  if (serial.length > 20) throw new DerError("serialNumber is longer than 20 octets (RFC 5280 §4.1.2.2)");
  const tbsSignatureAlgorithm = encodedSequence(fields[at++], "signature", 1, 2);
  const issuer = encodedSequence(fields[at++], "issuer", 0, 64);
  const [notBefore, notAfter] = sequenceOf(fields[at++], "validity", 2, 2);
  const subject = encodedSequence(fields[at++], "subject", 0, 64);
  const spki = encodedSequence(fields[at++], "subjectPublicKeyInfo", 2, 2);
  while (UNIQUE_ID_TAGS.has(fields[at]?.tag ?? -1)) at++; // issuerUniqueID, subjectUniqueID: not used
  const extensions = fields[at] ? readExtensions(fields[at++]!) : new Map<string, CertificateExtension>();
  if (at !== fields.length) throw new DerError("TBSCertificate has unexpected fields");
  return {
    tbs: tbs!.encoded,
    signatureAlgorithm: encodedSequence(signatureAlgorithm, "signatureAlgorithm", 1, 2),
    tbsSignatureAlgorithm,
    signature: readBitString(signatureValue, "signatureValue"),
    serial: serial.toString("hex"),
    issuer,
    subject,
    notBefore: readTime(notBefore, "notBefore"),
    notAfter: readTime(notAfter, "notAfter"),
    subjectPublicKeyInfo: spki,
    extensions,
  };
}

/** RFC 5280 §4.2.1.3: the key usages asserted, or undefined without the extension. */
export function keyUsageOf(certificate: CertificateFields): Set<KeyUsage> | undefined {
  const extension = certificate.extensions.get(OID.keyUsage);
  if (!extension) return undefined;
  const bits = readBitString(decode(extension.value), "keyUsage", true);
  return new Set(KEY_USAGES.filter((_, bit) => ((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0));
}

/** RFC 5280 §4.2.1.12: the key purposes (OIDs), or undefined without the extension. */
export function extendedKeyUsageOf(certificate: CertificateFields): string[] | undefined {
  const extension = certificate.extensions.get(OID.extKeyUsage);
  if (!extension) return undefined;
  return sequenceOf(decode(extension.value), "extKeyUsage", 1, 64).map((purpose) =>
    readOid(purpose, "KeyPurposeId"),
  );
}

/** RFC 5280 §4.2.1.1: AuthorityKeyIdentifier.keyIdentifier [0], when present. */
export function authorityKeyIdOf(certificate: CertificateFields): Buffer | undefined {
  const extension = certificate.extensions.get(OID.authorityKeyIdentifier);
  if (!extension) return undefined;
  const keyId = children(decode(extension.value)).find((field) => field.tag === 0x80);
  return keyId?.content;
}
