/**
 * PKCS#10 requests generated in headless Chromium by src/web/assets/js/csr.js, loaded as
 * the portal will load it (under `script-src 'self'`), checked by OpenSSL and by the
 * service's own parser (the code that will receive them).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsr } from "../../src/ca/csr.js";
import { decode, readBitString, readOid, readUnsignedInteger, sequenceOf } from "../../src/pki/der-reader.js";
import { commonNameOf } from "../../src/pki/name.js";
import { decodePem } from "../../src/pki/pem.js";
import type { KeyAlgorithmName } from "../../src/web/assets/js/key-algorithms.js";
import { type CryptoPage, openCryptoPage, type PageGlobals, run } from "./support.js";

let browser: CryptoPage;
let dir: string;

beforeAll(async () => {
  browser = await openCryptoPage();
  dir = await mkdtemp(join(tmpdir(), "browser-csr-"));
});
afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Generates a key pair in the page and returns `count` CSRs signed with it. */
function csrsFromBrowser(algorithm: KeyAlgorithmName, commonName: string, count = 1): Promise<string[]> {
  return browser.page.evaluate(
    async ({ algorithm, commonName, count }) => {
      const { csr } = (globalThis as unknown as PageGlobals).modules;
      const keyPair = await csr.createKeyPair(algorithm);
      const pems: string[] = [];
      for (let i = 0; i < count; i++) pems.push(await csr.buildCsr(keyPair, { commonName }));
      return pems;
    },
    { algorithm, commonName, count },
  );
}

async function opensslVerify(pem: string, name: string) {
  const file = join(dir, name);
  await writeFile(file, pem);
  return run("openssl", ["req", "-in", file, "-verify", "-noout", "-text"]);
}

const EXPECTED = {
  "ec:P-256": {
    key: { kind: "ec", curve: "P-256" },
    signature: "1.2.840.10045.4.3.2",
    openssl: "ecdsa-with-SHA256",
  },
  "ec:P-384": {
    key: { kind: "ec", curve: "P-384" },
    signature: "1.2.840.10045.4.3.3",
    openssl: "ecdsa-with-SHA384",
  },
  "rsa:2048": {
    key: { kind: "rsa", bits: 2048 },
    signature: "1.2.840.113549.1.1.11",
    openssl: "sha256WithRSAEncryption",
  },
  "rsa:3072": {
    key: { kind: "rsa", bits: 3072 },
    signature: "1.2.840.113549.1.1.11",
    openssl: "sha256WithRSAEncryption",
  },
} as const;

describe("csr.js in Chromium under CSP script-src 'self' (RFC 2986)", () => {
  it("runs under the portal's CSP: the page's inline canary is refused, the modules load", async () => {
    const state = await browser.page.evaluate(() => {
      const page = globalThis as unknown as PageGlobals;
      return {
        inline: page.inlineScriptRan ?? false,
        violations: page.cspViolations,
        ready: page.modulesReady,
      };
    });
    expect(state.inline).toBe(false);
    expect(state.violations).toEqual([expect.stringMatching(/^script-src-elem inline /)]);
    expect(state.ready).toBe(true);
  });

  it.each(Object.keys(EXPECTED) as KeyAlgorithmName[])(
    "%s: OpenSSL verifies the request and parseCsr accepts it with the right key",
    async (algorithm) => {
      const expected = EXPECTED[algorithm];
      const [pem] = await csrsFromBrowser(algorithm, "Wang Fang 王芳");
      const openssl = await opensslVerify(pem!, `${algorithm.replace(":", "-")}.csr`);
      expect(openssl.code, openssl.stderr).toBe(0);
      expect(`${openssl.stdout}${openssl.stderr}`).toMatch(/verify OK/);
      expect(openssl.stdout).toContain(`Signature Algorithm: ${expected.openssl}`);

      const parsed = await parseCsr(pem!);
      expect(parsed.key).toMatchObject(expected.key);
      expect(commonNameOf(parsed.subject)).toBe("Wang Fang 王芳");
      const [, signatureAlgorithm] = sequenceOf(decode(parsed.der), "CertificationRequest", 3, 3);
      expect(readOid(sequenceOf(signatureAlgorithm, "algorithm", 1, 2)[0], "oid")).toBe(expected.signature);
    },
  );

  it.each(["ec:P-256", "ec:P-384"] as const)(
    "%s: every signature is DER with minimal r and s, high-bit halves included (RFC 3279 §2.2.3)",
    async (algorithm) => {
      const pems = await csrsFromBrowser(algorithm, "ecdsa", 24);
      let padded = 0;
      for (const [i, pem] of pems.entries()) {
        const openssl = await opensslVerify(pem, `${algorithm.replace(":", "-")}-${i}.csr`);
        expect(openssl.code, openssl.stderr).toBe(0);
        await parseCsr(pem); // proof of possession checked by the service's verifier too
        const [, , signature] = sequenceOf(decode(decodePem(pem, ["CERTIFICATE REQUEST"]).der), "csr", 3, 3);
        const halves = sequenceOf(decode(readBitString(signature, "signature")), "Ecdsa-Sig-Value", 2, 2);
        for (const half of halves) {
          readUnsignedInteger(half, "r or s"); // throws on a negative or non-minimal INTEGER
          if (half.content[0] === 0) padded++;
        }
      }
      // Each half has its high bit set with probability 1/2: 48 halves without one is a 2^-48 event.
      expect(padded).toBeGreaterThan(0);
    },
  );

  it("writes an empty subject when no commonName is given, and refuses unknown algorithms and long names", async () => {
    const result = await browser.page.evaluate(async () => {
      const { csr } = (globalThis as unknown as PageGlobals).modules;
      const keyPair = await csr.createKeyPair("ec:P-256");
      const empty = await csr.buildCsr(keyPair);
      const errors: string[] = [];
      await csr.createKeyPair("ec:P-521" as "ec:P-256").catch((error: Error) => errors.push(error.message));
      await csr
        .buildCsr(keyPair, { commonName: "x".repeat(65) })
        .catch((error: Error) => errors.push(error.message));
      return { empty, errors };
    });
    expect((await parseCsr(result.empty)).subject).toEqual([]);
    expect(result.errors).toEqual([
      'unsupported key algorithm "ec:P-521"; use one of ec:P-256, ec:P-384, rsa:2048, rsa:3072',
      "commonName is longer than 64 characters (RFC 5280 ub-common-name)",
    ]);
  });

  it("caused no CSP violation besides the canary (no eval, no inline code in the modules)", async () => {
    const violations = await browser.page.evaluate(
      () => (globalThis as unknown as PageGlobals).cspViolations,
    );
    expect(violations).toHaveLength(1);
  });
});
