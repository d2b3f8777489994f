/**
 * The browser's DER encoder (src/web/assets/js/der.js), run in Node: it is plain ES module
 * code without DOM use. Properties check it against asn1js's encoder and the service's own
 * strict DER reader (X.690 §10: minimal lengths, minimal INTEGERs).
 */
import * as asn1js from "asn1js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { children, decode, readOid, readUnsignedInteger } from "../../src/pki/der-reader.js";
import {
  bitString,
  bmpString,
  explicit,
  fromBase64,
  fromPem,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  printableString,
  sequence,
  setOf,
  tlv,
  toBase64,
  toPem,
  utf8String,
} from "../../src/web/assets/js/der.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const bigintOf = (bytes: Uint8Array) => (bytes.length ? BigInt(`0x${hex(bytes)}`) : 0n);

describe("der.js INTEGER (X.690 §8.3)", () => {
  it("encodes the boundary values exactly", () => {
    expect(hex(integer(0))).toBe("020100");
    expect(hex(integer(127))).toBe("02017f");
    expect(hex(integer(128))).toBe("02020080"); // §8.3.3: high bit set, positive → leading 0x00
    expect(hex(integer(256))).toBe("02020100");
    expect(hex(integer(-1))).toBe("0201ff");
    expect(hex(integer(-128))).toBe("020180");
    expect(hex(integer(-129))).toBe("0202ff7f");
    expect(hex(integer(Uint8Array.of(0, 0, 0x80)))).toBe("02020080"); // magnitude: zeros stripped, one added back
    expect(hex(integer(Uint8Array.of(0, 0, 0x7f)))).toBe("02017f");
    expect(hex(integer(Uint8Array.of(0, 0)))).toBe("020100");
    expect(hex(integer(new Uint8Array(0)))).toBe("020100");
  });

  it("refuses a number that is not a safe integer", () => {
    expect(() => integer(2 ** 53)).toThrow("not a safe integer: pass a bigint");
  });

  it("matches asn1js byte for byte for any bigint, and decodes back", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 600n), max: 2n ** 600n }), (n) => {
        const ours = integer(n);
        expect(hex(ours)).toBe(hex(new Uint8Array(asn1js.Integer.fromBigInt(n).toBER())));
        const parsed = asn1js.fromBER(ours);
        expect(parsed.offset).toBe(ours.length);
        expect((parsed.result as asn1js.Integer).toBigInt()).toBe(n);
      }),
      { numRuns: 500 },
    );
  });

  it("encodes unsigned magnitudes minimally: the strict reader accepts them and gets the value back", () => {
    const magnitude = fc.oneof(
      fc.uint8Array({ maxLength: 70 }),
      // the interesting prefixes: leading zeros before a high or a low bit
      fc
        .tuple(
          fc.integer({ min: 0, max: 3 }),
          fc.constantFrom(0x80, 0xff, 0x7f, 0x01),
          fc.uint8Array({ maxLength: 8 }),
        )
        .map(([zeros, first, rest]) => Uint8Array.of(...new Array(zeros).fill(0), first, ...rest)),
    );
    fc.assert(
      fc.property(magnitude, (bytes) => {
        const encoded = integer(bytes);
        expect(bigintOf(readUnsignedInteger(decode(encoded), "n"))).toBe(bigintOf(bytes));
        expect(hex(encoded)).toBe(hex(integer(bigintOf(bytes))));
      }),
      { numRuns: 500 },
    );
  });
});

describe("der.js OBJECT IDENTIFIER (X.690 §8.19)", () => {
  it("encodes rsadsi and a large arc", () => {
    expect(hex(oid("1.2.840.113549"))).toBe("06062a864886f70d");
    expect(hex(oid("2.999.3"))).toBe("0603883703"); // §8.19.4: 2.999 → 1079 → 0x88 0x37
  });

  it("refuses what is not an OID", () => {
    expect(() => oid("1.40")).toThrow("second arc must be < 40");
    expect(() => oid("3.1")).toThrow('bad OID "3.1"');
    expect(() => oid("1.02")).toThrow('bad OID "1.02"');
    expect(() => oid("1")).toThrow('bad OID "1"');
  });

  it("matches asn1js and round-trips through the strict reader", () => {
    const dotted = fc
      .tuple(
        fc.constantFrom(0, 1, 2),
        fc.nat({ max: 2 ** 40 }),
        fc.array(fc.oneof(fc.nat({ max: 200 }), fc.bigInt({ min: 0n, max: 2n ** 63n })), { maxLength: 5 }), // the reader takes ≤ 64 octets
      )
      .map(([first, second, rest]) => [first, first < 2 ? second % 40 : second, ...rest].join("."));
    fc.assert(
      fc.property(dotted, (text) => {
        const encoded = oid(text);
        expect(readOid(decode(encoded), "oid")).toBe(text);
        expect(hex(encoded)).toBe(hex(new Uint8Array(new asn1js.ObjectIdentifier({ value: text }).toBER())));
      }),
      { numRuns: 500 },
    );
  });
});

describe("der.js lengths, strings and tags (X.690 §8.1.3, §8.6-§8.9, §8.14, §11.6)", () => {
  it("writes minimal definite lengths that the strict reader accepts, at every size", () => {
    const sizes = fc.oneof(
      fc.nat({ max: 300 }),
      fc.constantFrom(127, 128, 255, 256, 65_535, 65_536),
      fc.nat({ max: 70_000 }),
    );
    fc.assert(
      fc.property(sizes, (size) => {
        const content = new Uint8Array(size).fill(0x5a);
        const encoded = octetString(content);
        expect(decode(encoded).content.length).toBe(size);
        const lengthOctets = size < 128 ? 1 : 1 + Math.ceil(Math.log2(size + 1) / 8);
        expect(encoded.length).toBe(1 + lengthOctets + size);
      }),
      { numRuns: 200 },
    );
  });

  it("sorts SET OF components by their encodings (DER, X.690 §11.6)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 6 }), { maxLength: 12 }), (values) => {
        const items = values.map((value) => octetString(value));
        const encoded = children(decode(setOf(...items))).map((child) => child.encoded);
        const sorted = [...encoded].sort(Buffer.compare);
        expect(encoded.map(hex)).toEqual(sorted.map(hex));
        expect([...encoded.map(hex)].sort()).toEqual(items.map(hex).sort());
      }),
    );
  });

  it("encodes UTF8String as UTF-8 and BMPString as UTF-16BE (X.680 §41)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
        expect(Buffer.from(decode(utf8String(text)).content).toString("utf8")).toBe(text);
        const bmp = decode(bmpString(text));
        expect(bmp.tag).toBe(0x1e);
        expect(hex(bmp.content)).toBe(hex(Buffer.from(text, "utf16le").swap16()));
      }),
    );
    expect(hex(bmpString("政务"))).toBe("1e04653f52a1");
  });

  it("encodes the remaining primitives and tags exactly", () => {
    expect(hex(nullValue())).toBe("0500");
    expect(hex(bitString(Uint8Array.of(0xa0), 5))).toBe("030205a0");
    expect(() => bitString(new Uint8Array(0), 1)).toThrow("bad unused-bits count 1");
    expect(hex(printableString("Gov CA"))).toBe("1306476f76204341");
    expect(() => printableString("a@b")).toThrow("is not a PrintableString");
    expect(hex(sequence())).toBe("3000");
    expect(hex(explicit(0, integer(3)))).toBe("a003020103");
    expect(hex(implicit(0, Uint8Array.of(1, 2)))).toBe("80020102");
    expect(hex(implicit(0, new Uint8Array(0), true))).toBe("a000");
    expect(() => tlv(0x1f, new Uint8Array(0))).toThrow("is not a low-tag-number octet");
  });

  it("round-trips base64 and PEM against Node's codec (RFC 4648, RFC 7468)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100_000 }), (bytes) => {
        expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
        const pem = toPem("CERTIFICATE", bytes);
        expect(pem.split("\n").every((line) => line.length <= 64)).toBe(true);
        expect(hex(fromPem(`text before\n${pem}after`, "CERTIFICATE")[0] ?? new Uint8Array())).toBe(
          hex(bytes),
        );
        expect(hex(fromBase64(toBase64(bytes)))).toBe(hex(bytes));
      }),
      { numRuns: 50 },
    );
  });
});
