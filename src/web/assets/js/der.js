/**
 * A minimal DER encoder (ITU-T X.690 §8 and §10) for the browser: only what PKCS#10 and
 * PKCS#12 need. Plain ES module, no DOM use, so it also runs (and is property-tested) in Node.
 *
 * Every function returns the complete encoding (identifier, length, contents) as a Uint8Array.
 */

/** @typedef {Uint8Array<ArrayBuffer>} Der an encoding (not shared memory: WebCrypto's BufferSource) */

/**
 * @param {...Uint8Array} parts
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Length octets, definite form, minimal (X.690 §8.1.3, §10.1).
 * @param {number} length
 * @returns {Uint8Array<ArrayBuffer>}
 */
function encodeLength(length) {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad DER length ${length}`);
  if (length < 0x80) return Uint8Array.of(length); // X.690 §8.1.3.4: short form
  const octets = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
  return Uint8Array.of(0x80 | octets.length, ...octets); // X.690 §8.1.3.5: long form, no leading zero
}

/**
 * One element with a low tag number (X.690 §8.1.2.2: tag numbers 0 to 30 in one octet).
 * @param {number} identifier the whole identifier octet (class | constructed | number)
 * @param {Uint8Array} content
 * @returns {Der}
 */
export function tlv(identifier, content) {
  if ((identifier & 0x1f) === 0x1f || identifier < 0 || identifier > 0xff)
    throw new RangeError(`identifier 0x${identifier.toString(16)} is not a low-tag-number octet`);
  return concat(Uint8Array.of(identifier), encodeLength(content.length), content);
}

/**
 * SEQUENCE and SEQUENCE OF (X.690 §8.9, §8.10).
 * @param {...Uint8Array} items
 */
export const sequence = (...items) => tlv(0x30, concat(...items));

/**
 * Byte-wise comparison as unsigned octets, the shorter first on a common prefix
 * (X.690 §11.6: "as octet strings ... compared ... the shorter ... padded with trailing 0").
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
function compareOctets(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * SET OF with its components sorted by their encodings (X.690 §11.6, DER).
 * @param {...Uint8Array} items
 */
export const setOf = (...items) => tlv(0x31, concat(...[...items].sort(compareOctets)));

/**
 * INTEGER (X.690 §8.3). A bigint or safe integer is encoded in two's complement; a
 * Uint8Array is taken as an unsigned big-endian magnitude (an RSA modulus, an ECDSA r or s).
 * Either way the contents are minimal: no leading 0x00 unless the next octet has its high
 * bit set, no leading 0xFF unless it has it clear (X.690 §8.3.2).
 * @param {bigint | number | Uint8Array} value
 * @returns {Der}
 */
export function integer(value) {
  if (value instanceof Uint8Array) {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++; // X.690 §8.3.2 a)
    const magnitude = value.length === 0 ? Uint8Array.of(0) : value.subarray(start);
    // X.690 §8.3.3: the high bit is the sign; a positive value with it set gets a 0x00 prefix.
    return tlv(0x02, magnitude[0] & 0x80 ? concat(Uint8Array.of(0), magnitude) : magnitude);
  }
  if (typeof value === "number" && !Number.isSafeInteger(value))
    throw new RangeError(`INTEGER ${value} is not a safe integer: pass a bigint`);
  let n = BigInt(value);
  const octets = [];
  // Two's complement, least significant octet first, until the sign is carried by the top bit.
  for (;;) {
    const octet = Number(n & 0xffn);
    octets.unshift(octet);
    n >>= 8n; // arithmetic shift: -1 stays -1
    if ((n === 0n && (octet & 0x80) === 0) || (n === -1n && (octet & 0x80) !== 0)) break;
  }
  return tlv(0x02, Uint8Array.from(octets));
}

/**
 * One OBJECT IDENTIFIER subidentifier, base 128, high bit on all but the last octet (X.690 §8.19.2).
 * @param {bigint} arc
 * @returns {number[]}
 */
function base128(arc) {
  const octets = [Number(arc & 0x7fn)];
  for (let n = arc >> 7n; n > 0n; n >>= 7n) octets.unshift(0x80 | Number(n & 0x7fn));
  return octets;
}

/**
 * OBJECT IDENTIFIER from dotted decimal (X.690 §8.19).
 * @param {string} dotted
 * @returns {Der}
 */
export function oid(dotted) {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new SyntaxError(`bad OID "${dotted}"`);
  const arcs = dotted.split(".").map((arc) => BigInt(arc));
  const [first, second, ...rest] = arcs;
  if (first < 2n && second > 39n) throw new RangeError(`OID "${dotted}": second arc must be < 40`);
  // X.690 §8.19.4: the first two arcs share one subidentifier, 40 * X + Y.
  const octets = [first * 40n + second, ...rest].flatMap(base128);
  return tlv(0x06, Uint8Array.from(octets));
}

/** NULL (X.690 §8.8): empty contents. */
export const nullValue = () => tlv(0x05, new Uint8Array(0));

/**
 * BIT STRING (X.690 §8.6): an initial octet with the number of unused bits, then the bits.
 * @param {Uint8Array} bytes
 * @param {number} [unusedBits]
 */
export function bitString(bytes, unusedBits = 0) {
  if (unusedBits < 0 || unusedBits > 7 || (unusedBits > 0 && bytes.length === 0))
    throw new RangeError(`bad unused-bits count ${unusedBits}`);
  return tlv(0x03, concat(Uint8Array.of(unusedBits), bytes));
}

/**
 * OCTET STRING (X.690 §8.7), primitive as DER requires (§10.2).
 * @param {Uint8Array} bytes
 */
export const octetString = (bytes) => tlv(0x04, bytes);

/**
 * UTF8String (X.680 §41, universal tag 12).
 * @param {string} text
 */
export const utf8String = (text) => tlv(0x0c, new TextEncoder().encode(text));

/**
 * PrintableString (X.680 §41.4, universal tag 19), refusing characters outside its set.
 * @param {string} text
 */
export function printableString(text) {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw new RangeError(`"${text}" is not a PrintableString`);
  return tlv(0x13, new TextEncoder().encode(text));
}

/**
 * BMPString contents: UTF-16 big-endian code units (X.680 §41.16, ISO/IEC 10646 two-octet
 * form). Characters outside the BMP come out as surrogate pairs, as OpenSSL writes them.
 * @param {string} text
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function bmpBytes(text) {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[2 * i] = unit >> 8;
    out[2 * i + 1] = unit & 0xff;
  }
  return out;
}

/**
 * BMPString (universal tag 30).
 * @param {string} text
 */
export const bmpString = (text) => tlv(0x1e, bmpBytes(text));

/**
 * [n] EXPLICIT: a constructed context-specific tag around the whole inner encoding (X.690 §8.14.2).
 * @param {number} n
 * @param {Uint8Array} inner
 */
export const explicit = (n, inner) => tlv(0xa0 | n, inner);

/**
 * [n] IMPLICIT: the context-specific tag replaces the inner tag; pass the inner *contents*
 * (X.690 §8.14.3). Constructed when the replaced type was (SET OF, SEQUENCE).
 * @param {number} n
 * @param {Uint8Array} content
 * @param {boolean} [constructed]
 */
export const implicit = (n, content, constructed = false) => tlv((constructed ? 0xa0 : 0x80) | n, content);

/**
 * Base64 (RFC 4648 §4) of bytes, in chunks to stay clear of argument-count limits.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * @param {string} text base64, whitespace ignored
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function fromBase64(text) {
  const binary = atob(text.replace(/\s+/g, ""));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * PEM (RFC 7468 §2): 64-character lines between BEGIN/END labels.
 * @param {string} label e.g. "CERTIFICATE REQUEST"
 * @param {Uint8Array} der
 */
export function toPem(label, der) {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * All PEM blocks with `label`, decoded, in order (RFC 7468 §2; explanatory text around is ignored).
 * @param {string} text
 * @param {string} label
 * @returns {Uint8Array<ArrayBuffer>[]}
 */
export function fromPem(text, label) {
  const pattern = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`, "g");
  return [...text.matchAll(pattern)].map((match) => fromBase64(match[1] ?? ""));
}
