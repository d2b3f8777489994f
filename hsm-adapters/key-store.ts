/**
 * The key-custody port. Every private key of the service (CA, OCSP signer, token signer)
 * lives behind this interface; the rest of the code knows keys only by label and sees
 * their public keys as SubjectPublicKeyInfo DER. Adapters are chosen by URI (see open.ts).
 */

export const KEY_ALGORITHMS = [
  "ecdsa-p256",
  "ecdsa-p384",
  "rsa-2048",
  "rsa-3072",
  "rsa-4096",
  "ed25519",
] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export const SIGNATURE_ALGORITHMS = [
  "ecdsa-sha256",
  "ecdsa-sha384",
  "ecdsa-sha512",
  "rsa-pkcs1-sha256",
  "rsa-pkcs1-sha384",
  "rsa-pkcs1-sha512",
  "rsa-pss-sha256",
  "rsa-pss-sha384",
  "ed25519",
] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

export interface KeyInfo {
  readonly label: string;
  readonly algorithm: KeyAlgorithm;
  /** SubjectPublicKeyInfo, DER (RFC 5280 §4.1.2.7). */
  readonly spki: Uint8Array;
}

export interface SignRequest {
  readonly label: string;
  readonly algorithm: SignatureAlgorithm;
  /** The message; hashing happens inside the store (or on the host for CKM_ECDSA). */
  readonly data: Uint8Array;
}

export interface KeyStore {
  /** A short name for logs and health reports, e.g. "software" or "pkcs11". */
  readonly kind: string;
  generateKey(request: { label: string; algorithm: KeyAlgorithm }): Promise<KeyInfo>;
  getKey(request: { label: string }): Promise<KeyInfo | undefined>;
  /**
   * Signs `data`. ECDSA signatures come back raw (r‖s, IEEE P1363, as JWS wants);
   * src/pki converts them to DER for X.509. RSA and Ed25519 signatures are the usual octets.
   */
  sign(request: SignRequest): Promise<Uint8Array>;
  /** Health probe: resolves when the store can sign, rejects with KeyStoreError otherwise. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Optional capability: signing on the caller's thread, for a store whose keys are in this
 * process. Worth it for small, hot signatures (JWTs: one per token request) when the service
 * runs a process per core: the thread pool would then add a hand-off, and OpenSSL 3.0 lock
 * contention between its threads, to a signature that takes some 20 µs. Undefined when the
 * key is not in memory yet: the caller then uses `sign`, which loads it.
 */
export interface SynchronousSigner {
  signNow(request: SignRequest): Uint8Array | undefined;
}

export const canSignNow = (store: KeyStore): store is KeyStore & SynchronousSigner =>
  typeof (store as Partial<SynchronousSigner>).signNow === "function";

export type KeyStoreErrorCode =
  | "key-not-found"
  | "key-exists"
  | "algorithm-unsupported"
  | "algorithm-mismatch"
  | "label-invalid"
  | "bad-configuration"
  | "bad-credentials"
  | "token-not-found"
  | "unavailable"
  | "integrity";

export class KeyStoreError extends Error {
  override readonly name = "KeyStoreError";
  constructor(
    readonly code: KeyStoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function assertLabel(label: string): void {
  if (!LABEL.test(label))
    throw new KeyStoreError("label-invalid", `key label "${label}" must match ${LABEL}`);
}

/** Which key algorithms each signature algorithm may be used with. */
export function signatureFitsKey(signature: SignatureAlgorithm, key: KeyAlgorithm): boolean {
  if (signature.startsWith("ecdsa-")) return key.startsWith("ecdsa-");
  if (signature.startsWith("rsa-")) return key.startsWith("rsa-");
  return signature === "ed25519" && key === "ed25519";
}
