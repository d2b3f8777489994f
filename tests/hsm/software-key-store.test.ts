import { createPrivateKey, createPublicKey, verify } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { canSignNow, KeyStoreError } from "../../hsm-adapters/key-store.js";
import { openKeyStore } from "../../hsm-adapters/open.js";
import { SoftwareKeyStore } from "../../hsm-adapters/software.js";
import { keyStoreContract } from "./key-store-contract.js";

const directories: string[] = [];
async function tempDirectory() {
  const directory = await mkdtemp(join(tmpdir(), "keystore-"));
  directories.push(directory);
  return directory;
}

const contractDirectory = await tempDirectory();
keyStoreContract({
  name: "software",
  open: () => openKeyStore(`software:${contractDirectory}`),
  cleanup: async () => undefined,
});

describe("software key store at rest", () => {
  afterEach(async () => {
    for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
  });

  it("writes keys and the KEK readable by the owner only, and never the private key in clear", async () => {
    const directory = await tempDirectory();
    const store = await SoftwareKeyStore.open(directory);
    await store.generateKey({ label: "at-rest", algorithm: "ecdsa-p256" });
    for (const file of await readdir(directory)) {
      expect((await stat(join(directory, file))).mode & 0o777, file).toBe(0o600);
      const text = await readFile(join(directory, file), "utf8");
      expect(text).not.toMatch(/PRIVATE KEY/);
    }
    const wrapped = JSON.parse(await readFile(join(directory, "at-rest.key.json"), "utf8"));
    const ciphertext = Buffer.from(wrapped.ciphertext, "base64");
    expect(() => createPrivateKey({ key: ciphertext, format: "der", type: "pkcs8" })).toThrow();
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
  });

  it("uses CA_KEK when given and refuses to unwrap under another KEK", async () => {
    const directory = await tempDirectory();
    const kek = Buffer.alloc(32, 7).toString("base64");
    const store = await SoftwareKeyStore.open(directory, kek);
    await store.generateKey({ label: "kek-bound", algorithm: "ed25519" });
    await expect(readFile(join(directory, "kek"))).rejects.toThrow(/ENOENT/);
    const other = await SoftwareKeyStore.open(directory, Buffer.alloc(32, 8).toString("hex"));
    await expect(other.getKey({ label: "kek-bound" })).rejects.toMatchObject({ code: "bad-credentials" });
    await expect(SoftwareKeyStore.open(directory, "c2hvcnQ=")).rejects.toMatchObject({
      code: "bad-configuration",
    });
  });

  it("signs on the caller's thread (SynchronousSigner) once a key is loaded, with the same checks", async () => {
    const directory = await tempDirectory();
    const store = await SoftwareKeyStore.open(directory);
    expect(canSignNow(store)).toBe(true);
    const info = await store.generateKey({ label: "jwt-key", algorithm: "ecdsa-p256" });
    const data = Buffer.from("header.payload");
    const signature = store.signNow({ label: "jwt-key", algorithm: "ecdsa-sha256", data })!;
    const publicKey = createPublicKey({ key: Buffer.from(info.spki), format: "der", type: "spki" });
    expect(signature).toHaveLength(64); // r‖s, as sign() answers
    expect(verify("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
    expect(() => store.signNow({ label: "jwt-key", algorithm: "rsa-pkcs1-sha256", data })).toThrow(
      expect.objectContaining({ code: "algorithm-mismatch" }),
    );
    // A fresh store has not loaded the key: the caller falls back to sign(), which loads it.
    const fresh = await SoftwareKeyStore.open(directory);
    expect(fresh.signNow({ label: "jwt-key", algorithm: "ecdsa-sha256", data })).toBeUndefined();
    await fresh.sign({ label: "jwt-key", algorithm: "ecdsa-sha256", data });
    expect(fresh.signNow({ label: "jwt-key", algorithm: "ecdsa-sha256", data })).toHaveLength(64);
  });

  it("detects a key file renamed to another label (AAD binds the label)", async () => {
    const directory = await tempDirectory();
    const store = await SoftwareKeyStore.open(directory);
    await store.generateKey({ label: "original", algorithm: "ecdsa-p256" });
    const file = JSON.parse(await readFile(join(directory, "original.key.json"), "utf8"));
    await writeFile(join(directory, "impostor.key.json"), JSON.stringify({ ...file, label: "impostor" }), {
      mode: 0o600,
    });
    const fresh = await SoftwareKeyStore.open(directory);
    const error = await fresh.getKey({ label: "impostor" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyStoreError);
    expect((error as KeyStoreError).code).toBe("bad-credentials");
  });

  it("refuses a KEK file that others can read", async () => {
    const directory = await tempDirectory();
    await SoftwareKeyStore.open(directory);
    const { chmod } = await import("node:fs/promises");
    await chmod(join(directory, "kek"), 0o644);
    await expect(SoftwareKeyStore.open(directory)).rejects.toThrow(/readable by its owner only/);
  });

  it("names the known schemes when a key store URI has none", async () => {
    await expect(openKeyStore("vault:secret/ca")).rejects.toThrow(/expected one of: software/);
  });
});
