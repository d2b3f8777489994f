/**
 * PKCS#12 files (RFC 7292) built in headless Chromium by src/web/assets/js/pkcs12.js from a
 * key generated there and a certificate issued for its CSR, opened by OpenSSL 3 and by
 * python cryptography with the passphrase.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyAlgorithmName } from "../../src/web/assets/js/key-algorithms.js";
import {
  type CryptoPage,
  createThrowawayCa,
  openCryptoPage,
  type PageGlobals,
  run,
  runOk,
  type ThrowawayCa,
} from "./support.js";

const LOAD_PKCS12 = fileURLToPath(new URL("./load-pkcs12.py", import.meta.url));
const CHINESE = "政务证书口令2024";

let browser: CryptoPage;
let ca: ThrowawayCa;
let dir: string;

beforeAll(async () => {
  [browser, ca, dir] = await Promise.all([
    openCryptoPage(),
    createThrowawayCa(),
    mkdtemp(join(tmpdir(), "browser-p12-")),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await ca?.remove();
  if (dir && !process.env.KEEP_P12) await rm(dir, { recursive: true, force: true });
});

const spkiOf = (certificateDer: Buffer) =>
  new X509Certificate(certificateDer).publicKey.export({ format: "der", type: "spki" }).toString("hex");

/** Key pair generated in the page (kept there under `name`), CSR signed by the throwaway CA. */
async function issueInBrowser(algorithm: KeyAlgorithmName, name: string): Promise<Buffer> {
  const csrPem = await browser.page.evaluate(
    async ({ algorithm, name }) => {
      const page = globalThis as unknown as PageGlobals;
      const keyPair = await page.modules.csr.createKeyPair(algorithm);
      page.keyPairs[name] = keyPair;
      return page.modules.csr.buildCsr(keyPair, { commonName: name });
    },
    { algorithm, name },
  );
  return ca.sign(csrPem);
}

/** buildPkcs12 in the page with the key kept under `name`; the file is written to the temp dir. */
async function pkcs12InBrowser(
  name: string,
  certificates: Buffer[],
  passphrase: string,
  friendlyName?: string,
): Promise<string> {
  const base64 = await browser.page.evaluate(
    async ({ name, certificates, passphrase, friendlyName }) => {
      const { modules, keyPairs } = globalThis as unknown as PageGlobals;
      const pfx = await modules.pkcs12.buildPkcs12({
        privateKey: keyPairs[name]!.privateKey,
        certificates: certificates.map((text) => modules.der.fromBase64(text)),
        passphrase,
        friendlyName,
      });
      return modules.der.toBase64(pfx);
    },
    { name, certificates: certificates.map((der) => der.toString("base64")), passphrase, friendlyName },
  );
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.p12`);
  await writeFile(file, Buffer.from(base64, "base64"));
  return file;
}

const caDer = () => Buffer.from(new X509Certificate(ca.certificatePem).raw);

/** `openssl pkcs12 -nodes` output split into its PEM blocks, each with its "Bag Attributes" text. */
function blocks(output: string) {
  return output
    .split(/^Bag Attributes/m)
    .slice(1)
    .map((segment) => {
      const pem = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/.exec(segment);
      return { attributes: segment.slice(0, pem?.index ?? 0), label: pem?.[1], pem: pem?.[0] ?? "" };
    });
}

describe("pkcs12.js in Chromium (RFC 7292, PBES2 RFC 8018)", () => {
  it.each(["ec:P-256", "ec:P-384", "rsa:2048"] as const)(
    "%s: OpenSSL 3 opens it with the passphrase, reports PBES2/AES-256-CBC/HMAC-SHA-256, and the key matches the certificate",
    async (algorithm) => {
      const name = `holder-${algorithm.replace(":", "-")}`;
      const leaf = await issueInBrowser(algorithm, name);
      const file = await pkcs12InBrowser(name, [leaf, caDer()], "correct horse battery", "Li Wei (signing)");

      const info = await runOk("openssl", [
        "pkcs12",
        "-in",
        file,
        "-passin",
        "pass:correct horse battery",
        "-info",
        "-noout",
      ]);
      expect(info.stderr).toContain("MAC: sha256, Iteration 100000");
      expect(info.stderr).toContain("MAC length: 32, salt length: 16");
      expect(info.stderr).toContain(
        "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256",
      );
      expect(info.stderr).toContain(
        "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256",
      );

      const opened = await runOk("openssl", [
        "pkcs12",
        "-in",
        file,
        "-passin",
        "pass:correct horse battery",
        "-nodes",
      ]);
      const parts = blocks(opened.stdout);
      expect(parts.map((part) => part.label)).toEqual(["CERTIFICATE", "CERTIFICATE", "PRIVATE KEY"]);
      const [leafPart, caPart, keyPart] = parts;
      expect(new X509Certificate(leafPart!.pem).raw.equals(leaf)).toBe(true);
      expect(new X509Certificate(caPart!.pem).raw.equals(caDer())).toBe(true);
      // The key is the certificate's: same public key.
      const keySpki = createPublicKey(createPrivateKey(keyPart!.pem)).export({ format: "der", type: "spki" });
      expect(keySpki.toString("hex")).toBe(spkiOf(leaf));
      // localKeyID links key and leaf (RFC 2985 §5.5.2); friendlyName on both.
      const localKeyId = /localKeyID: ([0-9A-F ]+)/.exec(keyPart!.attributes)?.[1];
      expect(localKeyId).toMatch(/^([0-9A-F]{2} ){31}[0-9A-F]{2}/);
      expect(leafPart!.attributes).toContain(`localKeyID: ${localKeyId}`);
      expect(caPart!.attributes).not.toContain("localKeyID");
      expect(keyPart!.attributes).toContain("friendlyName: Li Wei (signing)");
      expect(leafPart!.attributes).toContain("friendlyName: Li Wei (signing)");

      const python = await runOk("/usr/bin/python3", [
        LOAD_PKCS12,
        file,
        Buffer.from("correct horse battery").toString("hex"),
      ]);
      const loaded = JSON.parse(python.stdout);
      expect(loaded.keySpki).toBe(spkiOf(leaf));
      expect(loaded.certDer).toBe(leaf.toString("hex"));
      expect(loaded.friendlyName).toBe("Li Wei (signing)");
      expect(loaded.additionalCerts).toEqual([caDer().toString("hex")]);
    },
  );

  it("is refused by OpenSSL and python cryptography under a wrong passphrase (MAC, RFC 7292 §5.1)", async () => {
    const leaf = await issueInBrowser("ec:P-256", "wrong-pass");
    const file = await pkcs12InBrowser("wrong-pass", [leaf], "the right one");
    const openssl = await run("openssl", ["pkcs12", "-in", file, "-passin", "pass:the wrong one", "-nodes"]);
    expect(openssl.code).not.toBe(0);
    expect(openssl.stderr).toContain("Mac verify error: invalid password?");
    expect(openssl.stdout).not.toContain("PRIVATE KEY");
    const python = await run("/usr/bin/python3", [
      LOAD_PKCS12,
      file,
      Buffer.from("the wrong one").toString("hex"),
    ]);
    expect(python.code).not.toBe(0);
    expect(python.stderr).toMatch(/ValueError: Invalid password or PKCS12 data/);
  });

  it("works with a Chinese passphrase: UTF-8 for PBES2, BMPString for the MAC (RFC 7292 Appendix B.1)", async () => {
    const leaf = await issueInBrowser("ec:P-256", "chinese");
    const file = await pkcs12InBrowser("chinese", [leaf, caDer()], CHINESE, "张伟的证书");
    const opened = await runOk("openssl", ["pkcs12", "-in", file, "-passin", `pass:${CHINESE}`, "-nodes"]);
    const key = blocks(opened.stdout).find((part) => part.label === "PRIVATE KEY");
    expect(
      createPublicKey(createPrivateKey(key!.pem)).export({ format: "der", type: "spki" }).toString("hex"),
    ).toBe(spkiOf(leaf));
    // OpenSSL 3.0 prints a BMPString friendlyName byte-lossy (low octets only): read it with python.
    const python = await runOk("/usr/bin/python3", [
      LOAD_PKCS12,
      file,
      Buffer.from(CHINESE, "utf8").toString("hex"),
    ]);
    expect(JSON.parse(python.stdout)).toMatchObject({ keySpki: spkiOf(leaf), friendlyName: "张伟的证书" });
    // The same characters minus one are not accepted.
    const wrong = await run("openssl", [
      "pkcs12",
      "-in",
      file,
      "-passin",
      `pass:${CHINESE.slice(1)}`,
      "-nodes",
    ]);
    expect(wrong.code).not.toBe(0);
  });

  it("refuses a key that is not the leaf certificate's, and an empty passphrase", async () => {
    const leafA = await issueInBrowser("ec:P-256", "mismatch-a");
    await issueInBrowser("ec:P-256", "mismatch-b");
    await issueInBrowser("rsa:2048", "mismatch-rsa");
    const attempt = (name: string, passphrase: string) =>
      browser.page.evaluate(
        async ({ name, leaf, passphrase }) => {
          const { modules, keyPairs } = globalThis as unknown as PageGlobals;
          return modules.pkcs12
            .buildPkcs12({
              privateKey: keyPairs[name]!.privateKey,
              certificates: [modules.der.fromBase64(leaf)],
              passphrase,
            })
            .then(
              () => "built",
              (error: Error) => error.message,
            );
        },
        { name, leaf: leafA.toString("base64"), passphrase },
      );
    expect(await attempt("mismatch-b", "pass")).toBe(
      "PKCS#12: the private key does not belong to the leaf certificate",
    );
    expect(await attempt("mismatch-rsa", "pass")).toBe(
      "PKCS#12: the private key does not belong to the leaf certificate",
    );
    expect(await attempt("mismatch-a", "")).toBe("PKCS#12: an empty passphrase protects nothing");
    expect(await attempt("mismatch-a", "pass")).toBe("built");
  });

  it("caused no CSP violation besides the page's inline canary", async () => {
    const violations = await browser.page.evaluate(
      () => (globalThis as unknown as PageGlobals).cspViolations,
    );
    expect(violations).toHaveLength(1);
  });
});
