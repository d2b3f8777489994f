import { describe, expect, it } from "vitest";
import {
  base32Decode,
  base32Encode,
  hotp,
  matchTotp,
  otpauthUri,
  type TotpHash,
  timeStep,
  totp,
} from "../../src/identity/totp.js";

describe("TOTP (RFC 6238)", () => {
  // RFC 6238 Appendix B: the seed for each hash is "1234567890" repeated to the hash's key length.
  const seeds: Record<TotpHash, Buffer> = {
    sha1: Buffer.from("12345678901234567890"),
    sha256: Buffer.from("12345678901234567890123456789012"),
    sha512: Buffer.from("1234567890123456789012345678901234567890123456789012345678901234"),
  };
  const vectors: [seconds: number, step: string, codes: Record<TotpHash, string>][] = [
    [59, "0000000000000001", { sha1: "94287082", sha256: "46119246", sha512: "90693936" }],
    [1111111109, "00000000023523EC", { sha1: "07081804", sha256: "68084774", sha512: "25091201" }],
    [1111111111, "00000000023523ED", { sha1: "14050471", sha256: "67062674", sha512: "99943326" }],
    [1234567890, "000000000273EF07", { sha1: "89005924", sha256: "91819424", sha512: "93441116" }],
    [2000000000, "0000000003F940AA", { sha1: "69279037", sha256: "90698825", sha512: "38618901" }],
    [20000000000, "0000000027BC86AA", { sha1: "65353130", sha256: "77737706", sha512: "47863826" }],
  ];

  it.each(vectors)("RFC 6238 Appendix B at T = %i s (step %s)", (seconds, stepHex, codes) => {
    const at = new Date(seconds * 1000);
    expect(timeStep(at, 30)).toBe(Number.parseInt(stepHex, 16));
    for (const hash of ["sha1", "sha256", "sha512"] as const)
      expect(totp(seeds[hash], at, { hash, period: 30, digits: 8 }), hash).toBe(codes[hash]);
  });

  it("HOTP matches RFC 4226 Appendix D", () => {
    const expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583"];
    for (const [counter, code] of expected.entries()) expect(hotp(seeds.sha1, counter)).toBe(code);
  });

  it("accepts a code one step either side of now and refuses two steps away (RFC 6238 §5.2)", () => {
    const now = new Date(1_700_000_015_000);
    const step = timeStep(now);
    const code = (offset: number) => hotp(seeds.sha1, step + offset);
    expect(matchTotp(seeds.sha1, code(0), now, null)).toBe(step);
    expect(matchTotp(seeds.sha1, code(-1), now, null)).toBe(step - 1);
    expect(matchTotp(seeds.sha1, code(1), now, null)).toBe(step + 1);
    expect(matchTotp(seeds.sha1, code(-2), now, null)).toBeUndefined();
    expect(matchTotp(seeds.sha1, code(2), now, null)).toBeUndefined();
  });

  it("refuses a code of a step already used, or of an earlier one (RFC 6238 §5.2)", () => {
    const now = new Date(1_700_000_015_000);
    const step = timeStep(now);
    expect(matchTotp(seeds.sha1, hotp(seeds.sha1, step), now, step)).toBeUndefined();
    expect(matchTotp(seeds.sha1, hotp(seeds.sha1, step - 1), now, step)).toBeUndefined();
    expect(matchTotp(seeds.sha1, hotp(seeds.sha1, step + 1), now, step)).toBe(step + 1);
  });

  it("refuses codes that are not exactly six digits", () => {
    const now = new Date(1_700_000_015_000);
    const good = totp(seeds.sha1, now);
    for (const code of ["", `${good}0`, good.slice(1), ` ${good.slice(1)}`, "abcdef", `+${good.slice(1)}`])
      expect(matchTotp(seeds.sha1, code, now, null), code).toBeUndefined();
  });
});

describe("base32 (RFC 4648 §10 test vectors, without padding)", () => {
  const vectors = [
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ];
  it.each(vectors)("%j ↔ %s", (text, encoded) => {
    expect(base32Encode(Buffer.from(text))).toBe(encoded);
    expect(base32Decode(encoded).toString()).toBe(text);
    expect(base32Decode(`${encoded.toLowerCase()}======`).toString()).toBe(text);
  });

  it("refuses characters outside the alphabet", () => {
    expect(() => base32Decode("MZ1W")).toThrow('"1" is not a base32 character (RFC 4648 §6)');
  });
});

describe("otpauth URI", () => {
  it("names issuer and account, and carries the secret in base32", () => {
    const uri = otpauthUri("Provincial CA", "E-1001", Buffer.from("12345678901234567890"));
    expect(uri).toBe(
      "otpauth://totp/Provincial%20CA:E-1001?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Provincial%20CA&algorithm=SHA1&digits=6&period=30",
    );
  });
});
