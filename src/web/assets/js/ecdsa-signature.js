/**
 * WebCrypto returns ECDSA signatures as IEEE P1363 r‖s (W3C WebCrypto §23.4, fixed-width
 * big-endian halves); X.509 and PKCS#10 carry them as DER
 *   Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }   (RFC 3279 §2.2.3, RFC 5480 §2.2.3)
 */
import { integer, sequence } from "./der.js";

/**
 * r‖s → DER Ecdsa-Sig-Value. `integer` strips leading zero octets of each half and adds one
 * 0x00 when the high bit would otherwise make the value negative (X.690 §8.3.2, §8.3.3).
 * @param {Uint8Array} raw
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function p1363ToDer(raw) {
  if (raw.length === 0 || raw.length % 2 !== 0)
    throw new RangeError(`an IEEE P1363 ECDSA signature has two equal halves; got ${raw.length} bytes`);
  const half = raw.length / 2;
  return sequence(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
}
