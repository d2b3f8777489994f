/**
 * A small DER encoder (ITU-T X.690 §8 and §10): every function returns the complete
 * encoding of one value, so structures are built bottom-up by concatenation. It is used
 * for certificates, CRLs and OCSP responses, where an object-tree encoder is too slow.
 */

export type Der = Buffer;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]); // X.690 §10.1: definite form, minimal octets
}

/** Encodes one TLV from its tag byte and the concatenation of `contents`. */
export function tlv(tag: number, ...contents: Uint8Array[]): Der {
  const body = contents.length === 1 ? contents[0]! : Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export const sequence = (...items: Uint8Array[]): Der => tlv(0x30, ...items);

/** SET OF, with the elements sorted as X.690 §11.6 requires for DER. */
export function setOf(...items: Uint8Array[]): Der {
  const sorted = [...items].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return tlv(0x31, ...sorted);
}

/** INTEGER from an unsigned big-endian magnitude, minimally encoded and kept positive. */
export function unsignedInteger(magnitude: Uint8Array): Der {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const needsPad = trimmed.length === 0 || (trimmed[0]! & 0x80) !== 0;
  return tlv(0x02, needsPad ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function integer(value: number | bigint): Der {
  let n = BigInt(value);
  if (n < 0n) throw new RangeError("negative INTEGER values are not used by this encoder");
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  return unsignedInteger(Uint8Array.from(bytes));
}

export const boolean = (value: boolean): Der => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
export const nullValue: Der = Buffer.from([0x05, 0x00]);
export const octetString = (bytes: Uint8Array): Der => tlv(0x04, bytes);
export const enumerated = (value: number): Der => {
  const encoded = integer(value);
  encoded[0] = 0x0a;
  return encoded;
};

/** BIT STRING with the count of unused bits in its first content octet (X.690 §8.6). */
export const bitString = (bytes: Uint8Array, unusedBits = 0): Der =>
  tlv(0x03, Buffer.from([unusedBits]), bytes);

const oidCache = new Map<string, Der>();

/** OBJECT IDENTIFIER from dotted form (X.690 §8.19), cached because OIDs repeat. */
export function oid(dotted: string): Der {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split(".").map((arc) => BigInt(arc));
  if (arcs.length < 2) throw new RangeError(`OID ${dotted} needs at least two arcs`);
  const values = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const bytes: number[] = [];
  for (const value of values) {
    const group: number[] = [Number(value & 0x7fn)];
    for (let v = value >> 7n; v > 0n; v >>= 7n) group.unshift(Number(v & 0x7fn) | 0x80);
    bytes.push(...group);
  }
  const encoded = tlv(0x06, Uint8Array.from(bytes));
  oidCache.set(dotted, encoded);
  return encoded;
}

export const utf8String = (text: string): Der => tlv(0x0c, Buffer.from(text, "utf8"));
export const printableString = (text: string): Der => tlv(0x13, Buffer.from(text, "latin1"));
export const ia5String = (text: string): Der => tlv(0x16, Buffer.from(text, "latin1"));

/** [n] EXPLICIT: a constructed context-specific wrapper around a complete encoding. */
export const explicit = (tagNumber: number, inner: Uint8Array): Der => tlv(0xa0 | tagNumber, inner);

/** [n] IMPLICIT: replaces the tag of `contents` (raw content octets) with context tag n. */
export const implicit = (tagNumber: number, contents: Uint8Array, constructed = false): Der =>
  tlv((constructed ? 0xa0 : 0x80) | tagNumber, contents);

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** UTCTime YYMMDDHHMMSSZ, seconds always present, no fraction (RFC 5280 §4.1.2.5.1). */
export function utcTime(date: Date): Der {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new RangeError("UTCTime covers 1950 to 2049 only");
  const text = `${pad(year % 100)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, "ascii"));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ without fractional seconds (RFC 5280 §4.1.2.5.2). */
export function generalizedTime(date: Date): Der {
  const text = `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
  return tlv(0x18, Buffer.from(text, "ascii"));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on. */
export const time = (date: Date): Der =>
  date.getUTCFullYear() < 2050 ? utcTime(date) : generalizedTime(date);
