/**
 * The DER writer (src/pki/der.ts) and the strict reader (src/pki/der-reader.ts): round trips,
 * and the X.690 §10 rules the reader enforces on untrusted input.
 */
import { describe, expect, it } from "vitest";
import {
  bitString,
  boolean,
  enumerated,
  explicit,
  generalizedTime,
  ia5String,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  printableString,
  sequence,
  setOf,
  time,
  tlv,
  unsignedInteger,
  utcTime,
  utf8String,
} from "../../src/pki/der.js";
import {
  children,
  DerError,
  decode,
  expectTag,
  readBitString,
  readBoolean,
  readOctetString,
  readOid,
  readSmallInteger,
  readString,
  readUnsignedInteger,
  sequenceOf,
  TAG,
} from "../../src/pki/der-reader.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");

/** Decoding `input` fails with a DerError whose message contains `message`. */
function expectDerError(action: () => unknown, message: string | RegExp): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DerError);
  expect((thrown as Error).message).toMatch(message);
}

describe("lengths (X.690 §8.1.3, §10.1)", () => {
  it.each([
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "8180"],
    [255, "81ff"],
    [256, "820100"],
    [65535, "82ffff"],
    [65536, "83010000"],
  ])("writes and reads a %i-byte content with length octets %s", (length, lengthHex) => {
    const encoded = octetString(Buffer.alloc(length, 0xab));
    expect(hex(encoded.subarray(1, 1 + lengthHex.length / 2))).toBe(lengthHex);
    expect(encoded.length).toBe(1 + lengthHex.length / 2 + length);
    const element = decode(encoded);
    expect(element.tag).toBe(TAG.OCTET_STRING);
    expect(element.content.length).toBe(length);
    expect(element.encoded.equals(encoded)).toBe(true);
    expect(readOctetString(element, "value").equals(Buffer.alloc(length, 0xab))).toBe(true);
  });

  it("refuses the indefinite length, which is BER only", () => {
    expectDerError(
      () => decode(bytes("30 80 05 00 00 00")),
      "indefinite length is BER, not DER (X.690 §10.1)",
    );
  });

  it("refuses a long-form length below 128", () => {
    expectDerError(() => decode(bytes("04 81 05 0102030405")), "length is not minimally encoded");
  });

  it("refuses a long-form length with a leading zero octet", () => {
    const content = Buffer.alloc(200);
    expectDerError(
      () => decode(Buffer.concat([bytes("04 82 00 c8"), content])),
      "length is not minimally encoded",
    );
  });

  it("refuses more than four length octets", () => {
    expectDerError(() => decode(bytes("04 85 0100000000")), "length of 5 octets is too large");
  });

  it("refuses truncated input at every point of the header and content", () => {
    expectDerError(() => decode(Buffer.alloc(0)), "missing tag");
    expectDerError(() => decode(bytes("30")), "missing length");
    expectDerError(() => decode(bytes("04 82 01")), "unexpected end of data in length");
    expectDerError(() => decode(bytes("04 05 0102")), "element claims 5 bytes but only 2 remain");
  });

  it("refuses trailing data after the element", () => {
    expectDerError(() => decode(Buffer.concat([nullValue, bytes("00")])), "1 bytes of trailing data");
  });

  it("reads a Uint8Array view that is not a Buffer, at an offset into its ArrayBuffer", () => {
    const backing = new Uint8Array([0xee, 0xee, ...integer(300), 0xee]);
    const view = new Uint8Array(backing.buffer, 2, integer(300).length);
    expect(readSmallInteger(decode(view), "n")).toBe(300);
  });
});

describe("identifiers (X.690 §8.1.2)", () => {
  it("refuses high tag numbers (0x1f form), which nothing here uses", () => {
    expectDerError(() => decode(bytes("1f 81 00 01 41")), "high tag numbers are not used here (tag 0x1f)");
    expectDerError(() => decode(bytes("bf 22 00")), "high tag numbers");
  });

  it("writes [n] EXPLICIT as constructed and [n] IMPLICIT as primitive or constructed", () => {
    const wrapped = decode(explicit(2, integer(5)));
    expect(wrapped.tag).toBe(0xa2);
    expect(readSmallInteger(children(wrapped)[0], "inner")).toBe(5);
    expect(hex(implicit(1, Buffer.from("a@b", "ascii")))).toBe("8103614062");
    expect(decode(implicit(3, sequence(), true)).tag).toBe(0xa3);
  });

  it("expectTag names what is missing or different", () => {
    expectDerError(() => expectTag(undefined, TAG.SEQUENCE, "widget"), "widget is missing");
    expectDerError(
      () => expectTag(decode(nullValue), TAG.SEQUENCE, "widget"),
      "widget: expected tag 0x30, found 0x5",
    );
  });
});

describe("constructed values", () => {
  it("round-trips nested SEQUENCEs", () => {
    const encoded = sequence(integer(1), sequence(boolean(true), nullValue), octetString(Buffer.from("x")));
    const [one, inner, text] = children(decode(encoded));
    expect(readSmallInteger(one, "one")).toBe(1);
    const [flag, nothing] = children(inner!);
    expect(readBoolean(flag, "flag")).toBe(true);
    expect(nothing!.tag).toBe(TAG.NULL);
    expect(readOctetString(text, "text").toString()).toBe("x");
  });

  it("sorts SET OF by encoding (X.690 §11.6)", () => {
    const encoded = setOf(integer(300), integer(2), integer(1), octetString(Buffer.alloc(0)));
    const items = children(decode(encoded));
    expect(items.map((item) => hex(item.encoded))).toEqual(["020101", "020102", "0202012c", "0400"]);
  });

  it("refuses to list the children of a primitive element", () => {
    expectDerError(() => children(decode(integer(5))), "tag 0x2 is not constructed");
  });

  it("refuses a child that overruns its parent", () => {
    expectDerError(
      () => children(decode(bytes("30 03 04 05 00"))),
      "element claims 5 bytes but only 1 remain",
    );
  });

  it("bounds the number of children", () => {
    const many = tlv(0x30, Buffer.alloc(2 * 100_001, 0).fill(Buffer.from([0x05, 0x00])));
    expect(() => children(decode(many))).toThrow("too many elements");
    expect(children(decode(tlv(0x30, Buffer.alloc(2 * 1000).fill(Buffer.from([0x05, 0x00])))))).toHaveLength(
      1000,
    );
  });

  it("sequenceOf checks the tag and the count", () => {
    const three = sequence(nullValue, nullValue, nullValue);
    expect(sequenceOf(decode(three), "triple", 3, 3)).toHaveLength(3);
    expectDerError(() => sequenceOf(decode(three), "pair", 2, 2), "pair has 3 elements, expected 2");
    expectDerError(() => sequenceOf(decode(three), "few", 0, 1), "few has 3 elements, expected 0 to 1");
    expectDerError(
      () => sequenceOf(decode(three), "set", 0, 9, TAG.SET),
      "set: expected tag 0x31, found 0x30",
    );
    expectDerError(() => sequenceOf(undefined, "absent", 0, 1), "absent is missing");
  });
});

describe("INTEGER (X.690 §8.3)", () => {
  it.each([
    [0, "020100"],
    [127, "02017f"],
    [128, "02020080"],
    [255, "020200ff"],
    [256, "02020100"],
    [65537, "0203010001"],
  ])("writes %i as %s and reads it back", (value, expected) => {
    expect(hex(integer(value))).toBe(expected);
    expect(readSmallInteger(decode(integer(value)), "n")).toBe(value);
  });

  it("round-trips large values through bigint", () => {
    const value = 2n ** 159n + 12345n; // a 20-octet serial number (RFC 5280 §4.1.2.2)
    const magnitude = readUnsignedInteger(decode(integer(value)), "serial");
    expect(magnitude.length).toBe(20);
    expect(BigInt(`0x${hex(magnitude)}`)).toBe(value);
    expectDerError(() => readSmallInteger(decode(integer(2n ** 32n)), "big"), "big: INTEGER too large");
    expect(readSmallInteger(decode(integer(2 ** 32 - 1)), "max")).toBe(2 ** 32 - 1);
  });

  it("unsignedInteger trims leading zeros and pads a high bit", () => {
    expect(hex(unsignedInteger(bytes("000000 7f")))).toBe("02017f");
    expect(hex(unsignedInteger(bytes("00 80")))).toBe("02020080");
    expect(hex(unsignedInteger(bytes("ff")))).toBe("020200ff");
    expect(hex(unsignedInteger(bytes("0000")))).toBe("020100");
  });

  it("refuses empty, non-minimal and negative encodings", () => {
    expectDerError(() => readUnsignedInteger(decode(bytes("02 00")), "v"), "v: empty INTEGER");
    expectDerError(
      () => readUnsignedInteger(decode(bytes("02 02 0001")), "v"),
      "v: INTEGER is not minimally encoded",
    );
    expectDerError(
      () => readUnsignedInteger(decode(bytes("02 02 ff80")), "v"),
      "v: INTEGER is not minimally encoded",
    );
    expectDerError(() => readUnsignedInteger(decode(bytes("02 01 ff")), "v"), "v: negative INTEGER");
    expectDerError(() => readUnsignedInteger(decode(bytes("02 02 8000")), "v"), "v: negative INTEGER");
    expectDerError(() => readUnsignedInteger(decode(nullValue), "v"), "v: expected tag 0x2");
  });

  it("the writer refuses negative values", () => {
    expect(() => integer(-1)).toThrow(RangeError);
  });

  it("ENUMERATED shares the INTEGER encoding under tag 10", () => {
    expect(hex(enumerated(5))).toBe("0a0105");
    expect(hex(enumerated(200))).toBe("0a0200c8");
  });
});

describe("OBJECT IDENTIFIER (X.690 §8.19)", () => {
  it.each([
    ["1.2.840.113549.1.1.11", "06092a864886f70d01010b"],
    ["2.5.4.3", "0603550403"],
    ["1.3.101.112", "06032b6570"],
    ["0.39", "060127"],
    ["1.39", "06014f"],
    ["2.40", "060178"],
    ["2.999.3", "0603883703"], // X.690 §8.19.5 example: first subidentifier 1079
  ])("writes %s as %s and reads it back", (dotted, expected) => {
    expect(hex(oid(dotted))).toBe(expected);
    expect(readOid(decode(oid(dotted)), "oid")).toBe(dotted);
  });

  it("round-trips arcs beyond 32 and 64 bits", () => {
    for (const dotted of [
      "1.2.4294967296",
      "1.2.9007199254740993",
      "2.25.329800735698586629295641978511506172918", // a UUID arc (ITU-T X.667)
      "2.18446744073709551616.1",
    ])
      expect(readOid(decode(oid(dotted)), "oid")).toBe(dotted);
  });

  it("refuses empty, truncated, non-minimal and oversized encodings", () => {
    expectDerError(() => readOid(decode(bytes("06 00")), "x"), "x: bad OBJECT IDENTIFIER length");
    expectDerError(() => readOid(decode(bytes("06 02 2a 86")), "x"), "x: truncated OBJECT IDENTIFIER");
    expectDerError(() => readOid(decode(bytes("06 03 2a 80 01")), "x"), "arc is not minimal");
    expectDerError(() => readOid(decode(bytes("06 02 80 01")), "x"), "arc is not minimal");
    expectDerError(
      () => readOid(decode(tlv(0x06, Buffer.alloc(65, 1))), "x"),
      "bad OBJECT IDENTIFIER length",
    );
    expectDerError(() => readOid(decode(integer(1)), "x"), "x: expected tag 0x6");
  });

  it("the writer refuses a single arc", () => {
    expect(() => oid("1")).toThrow(RangeError);
  });
});

describe("BOOLEAN, NULL, BIT STRING", () => {
  it("round-trips BOOLEAN and requires 0x00 or 0xFF (X.690 §11.1)", () => {
    expect(hex(boolean(true))).toBe("0101ff");
    expect(hex(boolean(false))).toBe("010100");
    expect(readBoolean(decode(boolean(false)), "b")).toBe(false);
    expectDerError(() => readBoolean(decode(bytes("01 01 01")), "b"), "BOOLEAN must be 0x00 or 0xFF");
    expectDerError(() => readBoolean(decode(bytes("01 02 ff ff")), "b"), "BOOLEAN must be 0x00 or 0xFF");
  });

  it("writes NULL as 05 00", () => {
    expect(hex(nullValue)).toBe("0500");
  });

  it("round-trips BIT STRING and checks the unused-bits octet (X.690 §8.6.2)", () => {
    expect(hex(bitString(bytes("a0"), 5))).toBe("030205a0");
    expect(hex(readBitString(decode(bitString(bytes("0102"))), "bits"))).toBe("0102");
    expect(hex(readBitString(decode(bitString(bytes("a0"), 5)), "usage", true))).toBe("a0");
    expectDerError(
      () => readBitString(decode(bitString(bytes("a0"), 5)), "sig"),
      "sig: BIT STRING must be whole octets",
    );
    expectDerError(() => readBitString(decode(bytes("03 00")), "b"), "empty BIT STRING");
    expectDerError(() => readBitString(decode(bytes("03 02 08 00")), "b", true), "bad unused-bits count");
    expectDerError(() => readBitString(decode(bytes("03 01 03")), "b", true), "bad unused-bits count");
  });
});

describe("character strings", () => {
  it("round-trips UTF8String, PrintableString and IA5String", () => {
    expect(readString(decode(utf8String("省政府 café 😀")), "s")).toBe("省政府 café 😀");
    expect(readString(decode(printableString("A-z 0'()+,./:=?")), "s")).toBe("A-z 0'()+,./:=?");
    expect(readString(decode(ia5String("a@b.example")), "s")).toBe("a@b.example");
  });

  it("decodes BMPString as UTF-16BE", () => {
    expect(
      readString(decode(tlv(TAG.BMP_STRING, Buffer.from("\u00e9\u7701", "utf16le").swap16())), "s"),
    ).toBe("\u00e9\u7701");
    expectDerError(
      () => readString(decode(tlv(TAG.BMP_STRING, bytes("00 41 00"))), "s"),
      "BMPString has an odd length",
    );
  });

  it("refuses UTF8String that is not UTF-8 (RFC 3629 §3)", () => {
    for (const invalid of ["c328", "c080", "eda080", "f4908080", "ff"])
      expectDerError(
        () => readString(decode(tlv(TAG.UTF8_STRING, bytes(invalid))), "cn"),
        "cn: UTF8String is not valid UTF-8",
      );
  });

  it("refuses PrintableString characters outside X.680 §41.4", () => {
    for (const text of ["a@b", "a*b", "a_b", "a&b", "a\u00e9"])
      expectDerError(
        () => readString(decode(tlv(TAG.PRINTABLE_STRING, Buffer.from(text, "latin1"))), "c"),
        "PrintableString has characters outside its set",
      );
  });

  it("refuses IA5String beyond ASCII and unsupported string types", () => {
    expectDerError(
      () => readString(decode(tlv(TAG.IA5_STRING, bytes("61 e9"))), "m"),
      "IA5String is not ASCII",
    );
    expectDerError(
      () => readString(decode(tlv(TAG.T61_STRING, bytes("61"))), "m"),
      "unsupported string type (tag 0x14)",
    );
    expectDerError(() => readString(undefined, "m"), "m is missing");
  });
});

describe("times (RFC 5280 §4.1.2.5)", () => {
  const text = (der: Buffer) => {
    const element = decode(der);
    return { tag: element.tag, value: element.content.toString("ascii") };
  };

  it("writes UTCTime as YYMMDDHHMMSSZ with seconds and no fraction", () => {
    expect(text(utcTime(new Date("2026-03-04T05:06:07.890Z")))).toEqual({
      tag: TAG.UTC_TIME,
      value: "260304050607Z",
    });
    expect(text(utcTime(new Date("2030-01-01T00:00:00Z")))).toEqual({
      tag: TAG.UTC_TIME,
      value: "300101000000Z",
    });
  });

  it("writes GeneralizedTime as YYYYMMDDHHMMSSZ with no fraction", () => {
    expect(text(generalizedTime(new Date("2050-01-01T00:00:00.999Z")))).toEqual({
      tag: TAG.GENERALIZED_TIME,
      value: "20500101000000Z",
    });
    expect(text(generalizedTime(new Date("9999-12-31T23:59:59Z"))).value).toBe("99991231235959Z");
  });

  it("switches from UTCTime to GeneralizedTime in 2050", () => {
    expect(text(time(new Date("2049-12-31T23:59:59Z")))).toEqual({
      tag: TAG.UTC_TIME,
      value: "491231235959Z",
    });
    expect(text(time(new Date("2050-01-01T00:00:00Z")))).toEqual({
      tag: TAG.GENERALIZED_TIME,
      value: "20500101000000Z",
    });
    expect(text(time(new Date("1950-01-01T00:00:00Z")))).toEqual({
      tag: TAG.UTC_TIME,
      value: "500101000000Z",
    });
  });

  it("UTCTime refuses years it cannot represent (1950 to 2049 only)", () => {
    expect(() => utcTime(new Date("2050-01-01T00:00:00Z"))).toThrow(RangeError);
    expect(() => utcTime(new Date("1949-12-31T23:59:59Z"))).toThrow(RangeError);
  });
});
