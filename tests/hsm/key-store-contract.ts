/**
 * The contract every KeyStore adapter must meet, verified with node:crypto. Each adapter's
 * test file calls `keyStoreContract` with a factory; the PKCS#11 adapter joins the same way.
 */
import { createPublicKey, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type KeyStore,
  KeyStoreError,
  type SignatureAlgorithm,
} from "../../hsm-adapters/key-store.js";
import { rawToDerSignature } from "../../src/pki/ecdsa-signature.js";

export interface KeyStoreFactory {
  readonly name: string;
  /** Opens the store; called again after close() to prove keys are found after a restart. */
  open(): Promise<KeyStore>;
  cleanup(): Promise<void>;
}

const SIGNATURES: Record<KeyAlgorithm, SignatureAlgorithm[]> = {
  "ecdsa-p256": ["ecdsa-sha256", "ecdsa-sha384"],
  "ecdsa-p384": ["ecdsa-sha384", "ecdsa-sha256"],
  "rsa-2048": ["rsa-pkcs1-sha256", "rsa-pss-sha256", "rsa-pkcs1-sha384"],
  "rsa-3072": ["rsa-pkcs1-sha256"],
  "rsa-4096": ["rsa-pkcs1-sha256"],
  ed25519: ["ed25519"],
};

/** Verifies a signature as a relying party would, from the SPKI alone. */
export function verifyWithSpki(
  spki: Uint8Array,
  algorithm: SignatureAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
) {
  const key = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  if (algorithm === "ed25519") return verify(null, data, key, signature);
  const hash = algorithm.slice(algorithm.lastIndexOf("-") + 1);
  if (algorithm.startsWith("ecdsa-"))
    return verify(hash, data, { key, dsaEncoding: "der" }, rawToDerSignature(signature));
  if (algorithm.startsWith("rsa-pss-"))
    return verify(hash, data, { key, padding: 6, saltLength: -2 }, signature);
  return verify(hash, data, key, signature);
}

export function keyStoreContract(factory: KeyStoreFactory): void {
  describe(`KeyStore contract: ${factory.name}`, () => {
    let store: KeyStore;
    const labels = new Map<KeyAlgorithm, string>();
    beforeAll(async () => {
      store = await factory.open();
    });
    afterAll(async () => {
      await store?.close();
      await factory.cleanup();
    });

    it.each(KEY_ALGORITHMS)(
      "generates a %s key and signs with every fitting algorithm",
      async (algorithm) => {
        const label = `contract-${algorithm}`;
        const info = await store.generateKey({ label, algorithm });
        labels.set(algorithm, label);
        expect(info).toMatchObject({ label, algorithm });
        const data = Buffer.from(`message for ${algorithm}`);
        for (const signatureAlgorithm of SIGNATURES[algorithm]) {
          const signature = await store.sign({ label, algorithm: signatureAlgorithm, data });
          expect(verifyWithSpki(info.spki, signatureAlgorithm, data, signature), signatureAlgorithm).toBe(
            true,
          );
          expect(verifyWithSpki(info.spki, signatureAlgorithm, Buffer.from("other"), signature)).toBe(false);
        }
      },
    );

    it("returns ECDSA signatures raw (r‖s), as JWS needs", async () => {
      const signature = await store.sign({
        label: labels.get("ecdsa-p256")!,
        algorithm: "ecdsa-sha256",
        data: Buffer.from("x"),
      });
      expect(signature.length).toBe(64);
      const p384 = await store.sign({
        label: labels.get("ecdsa-p384")!,
        algorithm: "ecdsa-sha384",
        data: Buffer.from("x"),
      });
      expect(p384.length).toBe(96);
    });

    it("signs 500 times in parallel without an error or a bad signature", async () => {
      const label = labels.get("ecdsa-p256")!;
      const info = (await store.getKey({ label }))!;
      const results = await Promise.all(
        Array.from({ length: 500 }, async (_, i) => {
          const data = Buffer.from(`parallel ${i}`);
          return verifyWithSpki(
            info.spki,
            "ecdsa-sha256",
            data,
            await store.sign({ label, algorithm: "ecdsa-sha256", data }),
          );
        }),
      );
      expect(results.every(Boolean)).toBe(true);
    });

    it("finds its keys again after being closed and reopened", async () => {
      const before = await store.getKey({ label: labels.get("ed25519")! });
      await store.close();
      store = await factory.open();
      const after = await store.getKey({ label: labels.get("ed25519")! });
      expect(Buffer.from(after!.spki).equals(Buffer.from(before!.spki))).toBe(true);
      const data = Buffer.from("after restart");
      const signature = await store.sign({ label: after!.label, algorithm: "ed25519", data });
      expect(verifyWithSpki(after!.spki, "ed25519", data, signature)).toBe(true);
    });

    it("gives typed errors: unknown label, existing label, bad label, unsupported or mismatched algorithm", async () => {
      const code = async (promise: Promise<unknown>) =>
        promise.then(
          () => "resolved",
          (error: unknown) => (error instanceof KeyStoreError ? error.code : `untyped: ${String(error)}`),
        );
      expect(await store.getKey({ label: "no-such-key" })).toBeUndefined();
      expect(
        await code(store.sign({ label: "no-such-key", algorithm: "ecdsa-sha256", data: Buffer.from("x") })),
      ).toBe("key-not-found");
      expect(
        await code(store.generateKey({ label: labels.get("ecdsa-p256")!, algorithm: "ecdsa-p256" })),
      ).toBe("key-exists");
      expect(await code(store.generateKey({ label: "../escape", algorithm: "ecdsa-p256" }))).toBe(
        "label-invalid",
      );
      expect(await code(store.generateKey({ label: "dsa", algorithm: "dsa-1024" as KeyAlgorithm }))).toBe(
        "algorithm-unsupported",
      );
      expect(
        await code(
          store.sign({
            label: labels.get("ecdsa-p256")!,
            algorithm: "rsa-pkcs1-sha256",
            data: Buffer.from("x"),
          }),
        ),
      ).toBe("algorithm-mismatch");
    });

    it("offers no way to export a private key", () => {
      const methods = new Set<string>();
      for (
        let proto = Object.getPrototypeOf(store);
        proto && proto !== Object.prototype;
        proto = Object.getPrototypeOf(proto)
      )
        for (const name of Object.getOwnPropertyNames(proto)) methods.add(name);
      expect([...methods].filter((name) => /export|private|unwrap|extract/i.test(name))).toEqual([]);
    });
  });
}
