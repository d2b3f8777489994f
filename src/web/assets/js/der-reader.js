/**
 * Just enough DER reading (X.690 §8.1, definite lengths) to find fields inside structures
 * this code did not build: the SubjectPublicKeyInfo of an issued certificate. It trusts
 * its input no further than bounds checks; nothing here is used to make a trust decision.
 */

/**
 * @typedef {object} DerElement
 * @property {number} tag the identifier octet
 * @property {Uint8Array<ArrayBuffer>} encoded the whole element
 * @property {Uint8Array<ArrayBuffer>} content its contents octets
 */

/**
 * Reads the element starting at `offset` (low tag numbers, definite length: X.690 §8.1.2, §8.1.3).
 * @param {Uint8Array<ArrayBuffer>} bytes
 * @param {number} [offset]
 * @returns {DerElement}
 */
export function readElement(bytes, offset = 0) {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined) throw new SyntaxError("DER: unexpected end of data");
  if ((tag & 0x1f) === 0x1f) throw new SyntaxError("DER: high tag numbers are not supported");
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new SyntaxError("DER: indefinite or oversized length"); // X.690 §10.1
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[offset + 2 + i] ?? Number.NaN);
    header += count;
  }
  const end = offset + header + length;
  if (!(end <= bytes.length)) throw new SyntaxError("DER: element runs past the end of the data");
  return { tag, encoded: bytes.subarray(offset, end), content: bytes.subarray(offset + header, end) };
}

/**
 * The elements inside a constructed element's contents, in order.
 * @param {DerElement} element
 * @returns {DerElement[]}
 */
export function childrenOf(element) {
  if ((element.tag & 0x20) === 0) throw new SyntaxError("DER: not a constructed element");
  const items = [];
  for (let offset = 0; offset < element.content.length; ) {
    const item = readElement(element.content, offset);
    items.push(item);
    offset += item.encoded.length;
  }
  return items;
}
