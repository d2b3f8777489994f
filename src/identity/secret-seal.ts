/**
 * Seals small secrets the service must read back (TOTP secrets) for storage in the database:
 * AES-256-GCM, bound by additional authenticated data to the row they belong to, under a data
 * key that exists only in memory and comes from the key store.
 *
 * The key store only signs, and its keys never leave it. So the data key is derived from a
 * signature: a dedicated key (label `directory-seal`, generated on first use) signs a fixed
 * context string, and HKDF-SHA256 (RFC 5869) turns the signature into the AES key. This needs a
 * deterministic signature scheme, so that every node and every restart derives the same key:
 * Ed25519 is (RFC 8032 §5.1.6: r = SHA-512(prefix ‖ M), no randomness), and so is RSA PKCS#1
 * v1.5 (RFC 8017 §8.2), the fallback for a token without Ed25519. ECDSA and RSA-PSS are not, and
 * are refused. Whoever can sign with that key (the key store's holder) can unseal; a database
 * dump alone cannot. Losing the key loses the sealed secrets: users then enroll TOTP again.
 */
import { createCipheriv, createDecipheriv, createHash, hkdf, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import {
  type KeyInfo,
  type KeyStore,
  KeyStoreError,
  type SignatureAlgorithm,
} from "../../hsm-adapters/key-store.js";

const derive = promisify(hkdf);

export const SEAL_KEY_LABEL = "directory-seal";
const CONTEXT = "gov-ca directory-seal v1: derive the AES-256-GCM key that seals directory secrets";
const VERSION = 1;
const NONCE_BYTES = 12; // 96-bit GCM nonce (NIST SP 800-38D §5.2.1.1), random per seal
const TAG_BYTES = 16;

export class SealError extends Error {
  override readonly name = "SealError";
}

/** The deterministic signature to sign the context with, for each key algorithm that has one. */
function deterministicSignature(key: KeyInfo): SignatureAlgorithm {
  if (key.algorithm === "ed25519") return "ed25519"; // RFC 8032 §5.1.6
  if (key.algorithm.startsWith("rsa-")) return "rsa-pkcs1-sha256"; // RFC 8017 §8.2
  throw new SealError(
    `key "${key.label}" is ${key.algorithm}, whose signatures are randomized: it cannot derive a stable sealing key`,
  );
}

export class SecretSealer {
  private dataKey: Promise<Buffer> | undefined;

  constructor(
    private readonly keyStore: KeyStore,
    private readonly label = SEAL_KEY_LABEL,
  ) {}

  /** version ‖ nonce ‖ ciphertext ‖ tag; `context` (e.g. the user id) must be given again to open. */
  async seal(plaintext: Uint8Array, context: string): Promise<Buffer> {
    const key = await this.key();
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, nonce);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(VERSION), nonce, body, cipher.getAuthTag()]);
  }

  async open(sealed: Uint8Array, context: string): Promise<Buffer> {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== VERSION)
      throw new SealError("the sealed secret is truncated or of an unknown version");
    const key = await this.key();
    const data = Buffer.from(sealed);
    const decipher = createDecipheriv("aes-256-gcm", key, data.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(data.subarray(1 + NONCE_BYTES, -TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SealError("the sealed secret does not open: changed, moved to another row, or another key");
    }
  }

  /** Derived once per process; a failed derivation (key store down) is retried on the next call. */
  private key(): Promise<Buffer> {
    this.dataKey ??= this.deriveKey().catch((error: unknown) => {
      this.dataKey = undefined;
      throw error;
    });
    return this.dataKey;
  }

  private async deriveKey(): Promise<Buffer> {
    const key = await this.sealingKey();
    const signature = await this.keyStore.sign({
      label: key.label,
      algorithm: deterministicSignature(key),
      data: Buffer.from(CONTEXT, "utf8"),
    });
    // RFC 5869 §2: IKM = the signature, salt = SHA-256 of the public key, info names the use.
    const salt = createHash("sha256").update(key.spki).digest();
    return Buffer.from(await derive("sha256", signature, salt, "gov-ca/directory-seal/aes-256-gcm", 32));
  }

  /** The sealing key, generated on first use: Ed25519, or RSA-2048 where the store has no Ed25519. */
  private async sealingKey(): Promise<KeyInfo> {
    const existing = await this.keyStore.getKey({ label: this.label });
    if (existing) return existing;
    try {
      return await this.keyStore.generateKey({ label: this.label, algorithm: "ed25519" });
    } catch (error) {
      if (!(error instanceof KeyStoreError)) throw error;
      if (error.code === "key-exists") return (await this.keyStore.getKey({ label: this.label }))!; // another node won
      if (error.code !== "algorithm-unsupported") throw error;
      return this.keyStore.generateKey({ label: this.label, algorithm: "rsa-2048" });
    }
  }
}
