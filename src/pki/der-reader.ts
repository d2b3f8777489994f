/**
 * A strict DER decoder (X.690 §10): definite lengths only, minimal length octets,
 * low tag numbers only, bounded depth and element count, no trailing bytes. Everything
 * that parses untrusted input (CSRs, OCSP requests, client certificates) goes through it,
 * so malformed input always ends in a DerError and never in an exception of another kind.
 */

export class DerError extends Error {
  override readonly name = "DerError";
}

export interface Element {
  /** The identifier octet: class, constructed bit and tag number. */
  readonly tag: number;
  /** The whole encoding of this element (identifier, length and contents). */
  readonly encoded: Buffer;
  /** The content octets. */
  readonly content: Buffer;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  UNIVERSAL_STRING: 0x1c,
} as const;

const MAX_CHILDREN = 100_000;

/** Reads one element at `offset`; returns it and the offset just past it. */
function readElement(input: Buffer, offset: number): { element: Element; next: number } {
  if (offset >= input.length) throw new DerError("unexpected end of data: missing tag");
  const tag = input[offset]!;
  if ((tag & 0x1f) === 0x1f)
    throw new DerError(`high tag numbers are not used here (tag 0x${tag.toString(16)})`);
  if (offset + 1 >= input.length) throw new DerError("unexpected end of data: missing length");
  const first = input[offset + 1]!;
  let length: number;
  let headerLength: number;
  if (first < 0x80) {
    length = first;
    headerLength = 2;
  } else if (first === 0x80) {
    throw new DerError("indefinite length is BER, not DER (X.690 §10.1)");
  } else {
    const count = first & 0x7f;
    if (count > 4) throw new DerError(`length of ${count} octets is too large`);
    if (offset + 2 + count > input.length) throw new DerError("unexpected end of data in length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + input[offset + 2 + i]!;
    if (input[offset + 2] === 0 || length < 0x80)
      throw new DerError("length is not minimally encoded (X.690 §10.1)");
    headerLength = 2 + count;
  }
  const end = offset + headerLength + length;
  if (end > input.length)
    throw new DerError(
      `element claims ${length} bytes but only ${input.length - offset - headerLength} remain`,
    );
  return {
    element: {
      tag,
      encoded: input.subarray(offset, end),
      content: input.subarray(offset + headerLength, end),
    },
    next: end,
  };
}

/** Decodes exactly one element that fills `input` entirely. */
export function decode(input: Uint8Array): Element {
  const buffer = Buffer.isBuffer(input)
    ? input
    : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { element, next } = readElement(buffer, 0);
  if (next !== buffer.length)
    throw new DerError(`${buffer.length - next} bytes of trailing data after the element`);
  return element;
}

/** The elements inside a constructed element, in order. */
export function children(parent: Element): Element[] {
  if ((parent.tag & 0x20) === 0) throw new DerError(`tag 0x${parent.tag.toString(16)} is not constructed`);
  const result: Element[] = [];
  let offset = 0;
  while (offset < parent.content.length) {
    if (result.length >= MAX_CHILDREN) throw new DerError("too many elements");
    const { element, next } = readElement(parent.content, offset);
    result.push(element);
    offset = next;
  }
  return result;
}

export function expectTag(element: Element | undefined, tag: number, what: string): Element {
  if (!element) throw new DerError(`${what} is missing`);
  if (element.tag !== tag)
    throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${element.tag.toString(16)}`);
  return element;
}

/** Children of a SEQUENCE (or other constructed tag) with an exact or bounded count. */
export function sequenceOf(element: Element | undefined, what: string, min: number, max: number, tag = 0x30) {
  const items = children(expectTag(element, tag, what));
  if (items.length < min || items.length > max)
    throw new DerError(
      `${what} has ${items.length} elements, expected ${min === max ? min : `${min} to ${max}`}`,
    );
  return items;
}

/** INTEGER content as an unsigned magnitude; refuses negative and non-minimal encodings. */
export function readUnsignedInteger(element: Element | undefined, what: string): Buffer {
  const { content } = expectTag(element, TAG.INTEGER, what);
  if (content.length === 0) throw new DerError(`${what}: empty INTEGER`);
  if (content.length > 1 && content[0] === 0 && (content[1]! & 0x80) === 0)
    throw new DerError(`${what}: INTEGER is not minimally encoded`);
  if (content.length > 1 && content[0] === 0xff && (content[1]! & 0x80) !== 0)
    throw new DerError(`${what}: INTEGER is not minimally encoded`);
  if ((content[0]! & 0x80) !== 0) throw new DerError(`${what}: negative INTEGER`);
  return content[0] === 0 && content.length > 1 ? content.subarray(1) : content;
}

export function readSmallInteger(element: Element | undefined, what: string): number {
  const magnitude = readUnsignedInteger(element, what);
  if (magnitude.length > 4) throw new DerError(`${what}: INTEGER too large`);
  return magnitude.reduce((n, byte) => n * 256 + byte, 0);
}

export function readOid(element: Element | undefined, what: string): string {
  const { content } = expectTag(element, TAG.OID, what);
  if (content.length === 0 || content.length > 64)
    throw new DerError(`${what}: bad OBJECT IDENTIFIER length`);
  if ((content[content.length - 1]! & 0x80) !== 0) throw new DerError(`${what}: truncated OBJECT IDENTIFIER`);
  const arcs: bigint[] = [];
  let value = 0n;
  let started = false;
  for (const byte of content) {
    if (!started && byte === 0x80) throw new DerError(`${what}: OBJECT IDENTIFIER arc is not minimal`);
    started = (byte & 0x80) !== 0;
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (!started) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join(".");
}

/** BIT STRING content without the unused-bits octet; `allowUnused` for named bit lists. */
export function readBitString(element: Element | undefined, what: string, allowUnused = false): Buffer {
  const { content } = expectTag(element, TAG.BIT_STRING, what);
  if (content.length === 0) throw new DerError(`${what}: empty BIT STRING`);
  const unused = content[0]!;
  if (unused > 7 || (unused > 0 && content.length === 1))
    throw new DerError(`${what}: bad unused-bits count`);
  if (unused !== 0 && !allowUnused) throw new DerError(`${what}: BIT STRING must be whole octets`);
  return content.subarray(1);
}

export function readOctetString(element: Element | undefined, what: string): Buffer {
  return expectTag(element, TAG.OCTET_STRING, what).content;
}

export function readBoolean(element: Element | undefined, what: string): boolean {
  const { content } = expectTag(element, TAG.BOOLEAN, what);
  if (content.length !== 1 || (content[0] !== 0 && content[0] !== 0xff))
    throw new DerError(`${what}: BOOLEAN must be 0x00 or 0xFF in DER`);
  return content[0] === 0xff;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** A directory string or IA5String as text, validating its character set. */
export function readString(element: Element | undefined, what: string): string {
  if (!element) throw new DerError(`${what} is missing`);
  const { tag, content } = element;
  switch (tag) {
    case TAG.UTF8_STRING:
      try {
        return utf8.decode(content);
      } catch {
        throw new DerError(`${what}: UTF8String is not valid UTF-8`);
      }
    case TAG.PRINTABLE_STRING: {
      const text = content.toString("latin1");
      if (!PRINTABLE.test(text))
        throw new DerError(`${what}: PrintableString has characters outside its set`);
      return text;
    }
    case TAG.IA5_STRING: {
      if (content.some((byte) => byte > 0x7f)) throw new DerError(`${what}: IA5String is not ASCII`);
      return content.toString("latin1");
    }
    case TAG.BMP_STRING: {
      if (content.length % 2 !== 0) throw new DerError(`${what}: BMPString has an odd length`);
      return Buffer.from(content).swap16().toString("utf16le");
    }
    default:
      throw new DerError(`${what}: unsupported string type (tag 0x${tag.toString(16)})`);
  }
}
