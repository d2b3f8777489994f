/** Sealing TOTP secrets under a key derived through the key store (RFC 5869 HKDF over a deterministic signature). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KeyStore, KeyStoreError } from "../../hsm-adapters/key-store.js";
import { openKeyStore } from "../../hsm-adapters/open.js";
import { createSoftHsmToken } from "../../hsm-adapters/softhsm.js";
import { SoftwareKeyStore } from "../../hsm-adapters/software.js";
import { SEAL_KEY_LABEL, SecretSealer } from "../../src/identity/secret-seal.js";

const secret = Buffer.from("12345678901234567890");

describe("secret sealing on the software key store", () => {
  let directory: string;
  let store: KeyStore;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "seal-"));
    store = await SoftwareKeyStore.open(join(directory, "keys"));
  });
  afterAll(async () => {
    await store?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("generates an Ed25519 sealing key on first use and derives the same data key every time (RFC 8032 §5.1.6)", async () => {
    const sealed = await new SecretSealer(store).seal(secret, "user-a");
    expect((await store.getKey({ label: SEAL_KEY_LABEL }))?.algorithm).toBe("ed25519");
    expect(await new SecretSealer(store).open(sealed, "user-a")).toEqual(secret); // another node, or a restart
    const reopened = await SoftwareKeyStore.open(join(directory, "keys"));
    try {
      expect(await new SecretSealer(reopened).open(sealed, "user-a")).toEqual(secret);
    } finally {
      await reopened.close();
    }
  });

  it("writes version ‖ 96-bit random nonce ‖ ciphertext ‖ tag, never the secret", async () => {
    const sealer = new SecretSealer(store);
    const [one, two] = [await sealer.seal(secret, "user-a"), await sealer.seal(secret, "user-a")];
    expect(one.length).toBe(1 + 12 + secret.length + 16);
    expect(one[0]).toBe(1);
    expect(one.equals(two)).toBe(false);
    expect(one.includes(secret)).toBe(false);
  });

  it("binds the sealed secret to its row (AAD) and detects any change (AES-GCM tag)", async () => {
    const sealer = new SecretSealer(store);
    const sealed = await sealer.seal(secret, "user-a");
    await expect(sealer.open(sealed, "user-b")).rejects.toThrow("the sealed secret does not open");
    const changed = Buffer.from(sealed);
    changed[20]! ^= 1;
    await expect(sealer.open(changed, "user-a")).rejects.toThrow("the sealed secret does not open");
    await expect(sealer.open(sealed.subarray(0, 20), "user-a")).rejects.toThrow("truncated");
    await expect(new SecretSealer(store, "other-seal").open(sealed, "user-a")).rejects.toThrow(
      "the sealed secret does not open",
    );
  });

  it("falls back to RSA-2048 PKCS#1 v1.5 where the store has no Ed25519, and refuses a randomized-signature key", async () => {
    const noEdwards: KeyStore = Object.assign(Object.create(store) as KeyStore, {
      generateKey: (request: Parameters<KeyStore["generateKey"]>[0]) =>
        request.algorithm === "ed25519"
          ? Promise.reject(new KeyStoreError("algorithm-unsupported", "no Ed25519 here"))
          : store.generateKey(request),
    });
    const sealed = await new SecretSealer(noEdwards, "rsa-seal").seal(secret, "user-a");
    expect((await store.getKey({ label: "rsa-seal" }))?.algorithm).toBe("rsa-2048");
    expect(await new SecretSealer(store, "rsa-seal").open(sealed, "user-a")).toEqual(secret);

    await store.generateKey({ label: "ecdsa-seal", algorithm: "ecdsa-p256" });
    await expect(new SecretSealer(store, "ecdsa-seal").seal(secret, "user-a")).rejects.toThrow(
      'key "ecdsa-seal" is ecdsa-p256, whose signatures are randomized: it cannot derive a stable sealing key',
    );
  });
});

describe("secret sealing on a PKCS#11 token (SoftHSMv2, CKM_EDDSA)", () => {
  it("derives one data key from the token's Ed25519 key across sessions", async () => {
    const directory = await mkdtemp(join(tmpdir(), "seal-hsm-"));
    try {
      const token = await createSoftHsmToken({ directory, label: "seal" });
      const first = await openKeyStore(token.uri());
      const sealed = await new SecretSealer(first).seal(secret, "user-a");
      expect((await first.getKey({ label: SEAL_KEY_LABEL }))?.algorithm).toBe("ed25519");
      await first.close();
      const second = await openKeyStore(token.uri());
      try {
        expect(await new SecretSealer(second).open(sealed, "user-a")).toEqual(secret);
      } finally {
        await second.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
