/** The pooled CSPRNG bytes used for token ids and secrets on the hot paths. */
import { describe, expect, it } from "vitest";
import { pooledRandomBytes } from "../../src/pki/random-pool.js";

describe("pooledRandomBytes", () => {
  it("hands out fresh bytes of the asked size, never the same twice, across pool refills", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const bytes = pooledRandomBytes(i % 2 === 0 ? 12 : 32); // 44,000 bytes: about ten refills
      expect(bytes.length).toBe(i % 2 === 0 ? 12 : 32);
      const hex = bytes.toString("hex");
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
  });

  it("returns copies: a caller changing its bytes changes nothing later handed out", () => {
    const first = pooledRandomBytes(16);
    first.fill(0);
    const next = pooledRandomBytes(16);
    expect(next.equals(Buffer.alloc(16))).toBe(false);
  });

  it("looks uniform: every byte value appears in 64 KiB of output", () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2048; i++) for (const byte of pooledRandomBytes(32)) counts[byte]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(150); // expected 256 each
    expect(Math.max(...counts)).toBeLessThan(380);
  });

  it("refuses more than a pool at once", () => {
    expect(() => pooledRandomBytes(4097)).toThrow(RangeError);
  });
});
