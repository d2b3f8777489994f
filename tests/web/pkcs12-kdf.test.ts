/**
 * The PKCS#12 KDF (RFC 7292 Appendix B.2) of the browser code, run in Node on Node's
 * WebCrypto and compared with node-forge's independent implementation.
 */
import fc from "fast-check";
import forge from "node-forge";
import { describe, expect, it } from "vitest";
import { KDF_ID, kdfPassword, pkcs12Kdf } from "../../src/web/assets/js/pkcs12-kdf.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function forgeKdf(
  password: string,
  salt: Uint8Array,
  id: number,
  iterations: number,
  length: number,
): string {
  const saltBuffer = forge.util.createBuffer(Buffer.from(salt).toString("binary"));
  const key = forge.pkcs12.generateKey(
    password,
    saltBuffer,
    id,
    iterations,
    length,
    forge.md.sha256.create(),
  );
  return forge.util.bytesToHex(key.getBytes());
}

describe("pkcs12-kdf.js (RFC 7292 Appendix B)", () => {
  it("encodes the password as BMPString with two trailing zero octets (Appendix B.1)", () => {
    expect(hex(kdfPassword("ab"))).toBe("006100620000");
    expect(hex(kdfPassword("口令"))).toBe("53e34ee40000");
    expect(hex(kdfPassword(""))).toBe("0000");
  });

  it("derives the same bytes as node-forge with SHA-256, several blocks included (steps 6b-6c)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 30 }),
        fc.string({ unit: fc.constantFrom("政", "务", "证", "书", "口", "令", "x"), maxLength: 10 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.constantFrom(KDF_ID.key, KDF_ID.iv, KDF_ID.mac),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 100 }),
        async (latin, chinese, salt, id, iterations, length) => {
          const passphrase = latin + chinese;
          const ours = await pkcs12Kdf({ password: kdfPassword(passphrase), salt, id, iterations, length });
          expect(ours.length).toBe(length);
          expect(hex(ours)).toBe(forgeKdf(passphrase, salt, id, iterations, length));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("refuses zero iterations (Appendix B.2 needs at least one hash)", async () => {
    await expect(
      pkcs12Kdf({ password: kdfPassword("x"), salt: new Uint8Array(8), id: 3, iterations: 0, length: 32 }),
    ).rejects.toThrow("iterations must be ≥ 1");
  });
});
