/**
 * IEEE P1363 r‖s → DER Ecdsa-Sig-Value (RFC 3279 §2.2.3), run in Node against node:crypto's
 * verifier and the service's strict DER reader.
 */
import { generateKeyPairSync, sign, verify } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, readUnsignedInteger, sequenceOf } from "../../src/pki/der-reader.js";
import { p1363ToDer } from "../../src/web/assets/js/ecdsa-signature.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const value = (bytes: Uint8Array) => (bytes.length ? BigInt(`0x${hex(bytes)}`) : 0n);

/** r and s as the strict reader sees them (refuses negative and non-minimal INTEGERs). */
function readSignature(der: Uint8Array) {
  const [r, s] = sequenceOf(decode(der), "Ecdsa-Sig-Value", 2, 2);
  return { r: readUnsignedInteger(r, "r"), s: readUnsignedInteger(s, "s") };
}

describe("ecdsa-signature.js: P1363 to DER (RFC 3279 §2.2.3)", () => {
  it("handles the high-bit and leading-zero cases exactly", () => {
    const half = (first: number[], fillByte = 0x11) => [
      ...first,
      ...new Array(32 - first.length).fill(fillByte),
    ];
    // r has its high bit set: a 0x00 is prepended (X.690 §8.3.3); s is small.
    const highR = Uint8Array.from([...half([0x80]), ...half([0, 0, 0x7f])]);
    const der = p1363ToDer(highR);
    expect(hex(der).slice(0, 12)).toBe("304302210080"); // 2 + 33 (r) + 2 + 30 (s) = 0x43
    expect(readSignature(der).r.length).toBe(32);
    expect(readSignature(der).s.length).toBe(30); // two leading zero octets stripped
    // a leading zero followed by a high bit keeps exactly one zero
    const zeroHigh = Uint8Array.from([...half([0, 0x80]), ...half([0x01])]);
    expect(hex(p1363ToDer(zeroHigh)).slice(0, 16)).toBe("3044022000801111"); // r: 32 octets, 00 80 kept
    // all-zero halves encode as INTEGER 0
    expect(hex(p1363ToDer(new Uint8Array(64)))).toBe("3006020100020100");
  });

  it("refuses an odd or empty input", () => {
    expect(() => p1363ToDer(new Uint8Array(63))).toThrow("two equal halves; got 63 bytes");
    expect(() => p1363ToDer(new Uint8Array(0))).toThrow("two equal halves; got 0 bytes");
  });

  it("keeps r and s for any halves, in minimal non-negative INTEGERs", () => {
    const half = (n: number) =>
      fc.oneof(
        fc.uint8Array({ minLength: n, maxLength: n }),
        fc
          .tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0x80, 0xff, 0x01, 0x7f))
          .map(([zeros, first]) =>
            Uint8Array.from({ length: n }, (_, i) => (i < zeros ? 0 : i === zeros ? first : 7)),
          ),
      );
    fc.assert(
      fc.property(
        fc.constantFrom(32, 48, 66).chain((n) => fc.tuple(half(n), half(n))),
        ([r, s]) => {
          const decoded = readSignature(p1363ToDer(Uint8Array.from([...r, ...s])));
          expect(value(decoded.r)).toBe(value(r));
          expect(value(decoded.s)).toBe(value(s));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("turns real P-256 and P-384 signatures into DER that node:crypto verifies", () => {
    const keys = ["P-256", "P-384"].map((namedCurve) => generateKeyPairSync("ec", { namedCurve }));
    let highBit = 0;
    fc.assert(
      fc.property(fc.constantFrom(0, 1), fc.uint8Array({ maxLength: 64 }), (index, message) => {
        const { privateKey, publicKey } = keys[index]!;
        const hash = index === 0 ? "sha256" : "sha384";
        const raw = sign(hash, message, { key: privateKey, dsaEncoding: "ieee-p1363" });
        const der = p1363ToDer(raw);
        if (raw[0]! >= 0x80 || raw[raw.length / 2]! >= 0x80) highBit++;
        expect(verify(hash, message, { key: publicKey, dsaEncoding: "der" }, der)).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(highBit).toBeGreaterThan(0); // the 0x00-prefix path really ran (about 3 in 4 runs)
  });
});
