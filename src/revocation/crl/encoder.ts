/**
 * A streaming CRL encoder (RFC 5280 §5.1). Entries are written one by one into a single
 * growing buffer after a reserved prefix; when they are all in, the TBSCertList header and then
 * the CertificateList header are written backwards into that prefix, so a CRL of a million
 * entries is never copied and never exists as an object tree.
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
 *                              revokedCertificates SEQUENCE OF SEQUENCE { userCertificate,
 *                                revocationDate, crlEntryExtensions OPTIONAL } OPTIONAL,
 *                              crlExtensions [0] EXPLICIT Extensions }
 */
import {
  bitString,
  type Der,
  enumerated,
  explicit,
  generalizedTime,
  integer,
  sequence,
  time,
  unsignedInteger,
} from "../../pki/der.js";
import { authorityKeyIdentifier, extension, freshestCrl } from "../../pki/extensions.js";
import { OID } from "../../pki/oids.js";
import { REASON_CODES } from "../reasons.js";

export interface CrlEntry {
  /** Lower-case hex serial number. */
  readonly serial: string;
  readonly revocationDate: Date;
  /** RFC 5280 §5.3.1 reason; absent or 0 means unspecified, which is left out (§5.3.1 SHOULD). */
  readonly reason?: number | null;
  readonly invalidityDate?: Date | null;
}

export interface CrlHeader {
  readonly signatureAlgorithm: Der;
  readonly issuer: Der;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly number: number;
  readonly authorityKeyId: Uint8Array;
  /** For a delta CRL: the number of its base CRL (deltaCRLIndicator, RFC 5280 §5.2.4). */
  readonly baseNumber?: number | undefined;
  /** Where delta CRLs are found (freshestCRL, RFC 5280 §5.2.6), in complete CRLs. */
  readonly freshestCrlUrl?: string | undefined;
}

const PREFIX = 4096;

/** TLV header (identifier and length octets) for `length` content octets. */
function header(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}

/** crlEntryExtensions for each reason code, encoded once. */
const REASON_EXTENSIONS = new Map<number, Buffer>(
  Object.values(REASON_CODES)
    .filter((code) => code !== REASON_CODES.unspecified)
    .map((code) => [code, extension(OID.crlReason, false, enumerated(code))]),
);

export class CrlWriter {
  private buffer: Buffer;
  private end = PREFIX;
  private count = 0;

  /** `expectedBytes`: the entries' size if known, so the buffer need not grow (and copy) as it fills. */
  constructor(expectedBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(PREFIX + expectedBytes + 1024);
  }

  get entries(): number {
    return this.count;
  }

  private ensure(bytes: number): void {
    if (this.end + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.end + bytes));
    this.buffer.copy(grown, 0, 0, this.end);
    this.buffer = grown;
  }

  private write(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
  }

  add(entry: CrlEntry): void {
    const serial = unsignedInteger(Buffer.from(entry.serial, "hex"));
    const date = time(entry.revocationDate);
    const reason = entry.reason ? REASON_EXTENSIONS.get(entry.reason) : undefined;
    const invalidity = entry.invalidityDate
      ? extension(OID.invalidityDate, false, generalizedTime(entry.invalidityDate)) // RFC 5280 §5.3.2: GeneralizedTime
      : undefined;
    const extensionsLength = (reason?.length ?? 0) + (invalidity?.length ?? 0);
    const extensions = extensionsLength ? header(0x30, extensionsLength) : undefined;
    const contentLength =
      serial.length + date.length + (extensions ? extensions.length + extensionsLength : 0);
    this.write(header(0x30, contentLength));
    this.write(serial);
    this.write(date);
    if (extensions) {
      this.write(extensions);
      if (reason) this.write(reason);
      if (invalidity) this.write(invalidity);
    }
    this.count += 1;
  }

  /** Appends `count` entries already DER-encoded (by the database, see db/stores/crls.ts). */
  addEncoded(der: Uint8Array, count: number): void {
    this.write(der);
    this.count += count;
  }

  /** Places `parts` immediately before `start`; returns the new start. */
  private prepend(start: number, parts: readonly Uint8Array[]): number {
    let at = start;
    for (const part of [...parts].reverse()) {
      at -= part.length;
      if (at < 0) throw new RangeError("CRL header larger than the reserved prefix");
      this.buffer.set(part, at);
    }
    return at;
  }

  /** Completes the TBSCertList; returns it (a view on the buffer) for signing. */
  finishTbs(crl: CrlHeader): { tbs: Buffer; start: number } {
    const entriesLength = this.end - PREFIX;
    const crlExtensions = [
      authorityKeyIdentifier(crl.authorityKeyId),
      extension(OID.crlNumber, false, integer(crl.number)), // RFC 5280 §5.2.3
      ...(crl.baseNumber !== undefined
        ? [extension(OID.deltaCrlIndicator, true, integer(crl.baseNumber))]
        : []), // §5.2.4
      ...(crl.freshestCrlUrl ? [freshestCrl([crl.freshestCrlUrl])] : []),
    ];
    this.write(explicit(0, sequence(...crlExtensions)));
    const leading = [
      integer(1), // version v2 (RFC 5280 §5.1.2.1)
      crl.signatureAlgorithm,
      crl.issuer,
      time(crl.thisUpdate),
      time(crl.nextUpdate),
      ...(this.count > 0 ? [header(0x30, entriesLength)] : []), // §5.1.2.6: absent when there are no entries
    ];
    let start = this.prepend(PREFIX, leading);
    start = this.prepend(start, [header(0x30, this.end - start)]);
    return { tbs: this.buffer.subarray(start, this.end), start };
  }

  /** Appends the signature and the outer SEQUENCE; returns the complete DER CertificateList. */
  finish(start: number, signatureAlgorithm: Der, signature: Uint8Array): Buffer {
    this.write(signatureAlgorithm);
    this.write(bitString(signature));
    const outerStart = this.prepend(start, [header(0x30, this.end - start)]);
    return this.buffer.subarray(outerStart, this.end);
  }
}
