/**
 * src/web/assets/js/key-vault.js in headless Chromium: a key pair generated for an
 * enrollment request survives a page reload in IndexedDB, and once the certificate is
 * issued it builds the PKCS#12 that OpenSSL opens.
 */
import { createPrivateKey, createPublicKey, type webcrypto, X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CryptoPage,
  createThrowawayCa,
  openCryptoPage,
  type PageGlobals,
  runOk,
  type ThrowawayCa,
} from "./support.js";

let browser: CryptoPage;
let ca: ThrowawayCa;
let dir: string;

beforeAll(async () => {
  [browser, ca, dir] = await Promise.all([
    openCryptoPage(),
    createThrowawayCa(),
    mkdtemp(join(tmpdir(), "key-vault-")),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await ca?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("key-vault.js in Chromium (IndexedDB, structured-cloned CryptoKey)", () => {
  it("keeps the key pair across a reload; the certificate issued meanwhile then goes into a PKCS#12 with it", async () => {
    // Day 1: the civil servant enrols; the key pair waits in the vault, the CSR goes to the RA.
    const csrPem = await browser.page.evaluate(async () => {
      const { csr, vault } = (globalThis as unknown as PageGlobals).modules;
      const keyPair = await csr.createKeyPair("ec:P-256");
      await vault.putKeyPair("request-42", keyPair);
      await vault.putKeyPair("request-43", await csr.createKeyPair("ec:P-384"));
      return csr.buildCsr(keyPair, { commonName: "Chen Jing" });
    });
    const leaf = await ca.sign(csrPem);

    // Day 3: a new page load; nothing is left in memory, only in IndexedDB.
    await browser.load();
    const result = await browser.page.evaluate(async (leafBase64) => {
      const { modules, keyPairs } = globalThis as unknown as PageGlobals;
      const { vault, pkcs12, der } = modules;
      const listed = await vault.listKeyPairs();
      const keyPair = await vault.getKeyPair("request-42");
      if (!keyPair) throw new Error("request-42 is not in the vault");
      const pfx = await pkcs12.buildPkcs12({
        privateKey: keyPair.privateKey,
        certificates: [der.fromBase64(leafBase64)],
        passphrase: "vault passphrase",
        friendlyName: "Chen Jing",
      });
      await vault.deleteKeyPair("request-42");
      return {
        memoryKeys: Object.keys(keyPairs).length,
        listed: listed.map(({ requestId, algorithm }) => ({
          requestId,
          algorithm: JSON.stringify(algorithm),
        })),
        key: {
          type: keyPair.privateKey.type,
          extractable: keyPair.privateKey.extractable,
          usages: keyPair.privateKey.usages,
        },
        pfx: der.toBase64(pfx),
        afterDelete: await vault.getKeyPair("request-42"),
        remaining: (await vault.listKeyPairs()).map(({ requestId }) => requestId),
      };
    }, leaf.toString("base64"));

    expect(result.memoryKeys).toBe(0);
    expect(result.listed).toEqual([
      { requestId: "request-42", algorithm: JSON.stringify({ name: "ECDSA", namedCurve: "P-256" }) },
      { requestId: "request-43", algorithm: JSON.stringify({ name: "ECDSA", namedCurve: "P-384" }) },
    ]);
    expect(result.key).toEqual({ type: "private", extractable: true, usages: ["sign"] });
    expect(result.afterDelete).toBeUndefined();
    expect(result.remaining).toEqual(["request-43"]);

    const file = join(dir, "vault.p12");
    await writeFile(file, Buffer.from(result.pfx, "base64"));
    const opened = await runOk("openssl", [
      "pkcs12",
      "-in",
      file,
      "-passin",
      "pass:vault passphrase",
      "-nodes",
    ]);
    const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/.exec(opened.stdout)?.[0];
    const keySpki = createPublicKey(createPrivateKey(keyPem!)).export({ format: "der", type: "spki" });
    const leafSpki = new X509Certificate(leaf).publicKey.export({ format: "der", type: "spki" });
    expect(keySpki.equals(leafSpki)).toBe(true);
  });

  it("answers undefined for an unknown request, overwrites on a second put, and refuses an empty request id", async () => {
    const result = await browser.page.evaluate(async () => {
      const { csr, vault } = (globalThis as unknown as PageGlobals).modules;
      const first = await csr.createKeyPair("ec:P-256");
      const second = await csr.createKeyPair("ec:P-256");
      await vault.putKeyPair("request-7", first);
      await vault.putKeyPair("request-7", second);
      const stored = await vault.getKeyPair("request-7");
      const spki = async (key: webcrypto.CryptoKey) =>
        new Uint8Array(await crypto.subtle.exportKey("spki", key)).join();
      const emptyId = await vault.putKeyPair("", first).then(
        () => "stored",
        (error: Error) => error.message,
      );
      await vault.deleteKeyPair("request-7");
      return {
        unknown: await vault.getKeyPair("no-such-request"),
        overwritten: (await spki(stored!.publicKey)) === (await spki(second.publicKey)),
        emptyId,
      };
    });
    expect(result).toEqual({
      unknown: undefined,
      overwritten: true,
      emptyId: "key vault: a request id is required",
    });
  });

  it("caused no CSP violation besides the page's inline canary", async () => {
    const violations = await browser.page.evaluate(
      () => (globalThis as unknown as PageGlobals).cspViolations,
    );
    expect(violations).toHaveLength(1);
  });
});
