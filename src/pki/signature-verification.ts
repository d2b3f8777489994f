/**
 * Verifying a signature made with one of the key store's algorithms (the ones our CAs sign
 * with), on the libuv thread pool (crypto.verify with a callback) rather than the event loop.
 */
import { constants, type KeyObject, verify } from "node:crypto";
import type { SignatureAlgorithm } from "../../hsm-adapters/key-store.js";

const HASH_BYTES = { sha256: 32, sha384: 48, sha512: 64 } as const;

/**
 * RFC 5758 §3.2 (ECDSA, DER Ecdsa-Sig-Value), RFC 8017 §8.2 (PKCS#1 v1.5), RFC 4055 §3.1 (PSS,
 * MGF1 over the same hash, salt as long as the hash), RFC 8410 (Ed25519, no pre-hash).
 */
function verifyParameters(algorithm: SignatureAlgorithm, key: KeyObject) {
  if (algorithm === "ed25519") return { hash: null, options: { key } };
  const hash = algorithm.slice(algorithm.lastIndexOf("-") + 1) as keyof typeof HASH_BYTES;
  if (algorithm.startsWith("ecdsa-")) return { hash, options: { key, dsaEncoding: "der" as const } };
  if (algorithm.startsWith("rsa-pss-"))
    return { hash, options: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[hash] } };
  return { hash, options: { key, padding: constants.RSA_PKCS1_PADDING } };
}

/** Whether `signature` over `data` verifies with `key` under `algorithm`; never throws. */
export function verifySignature(
  algorithm: SignatureAlgorithm,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    const { hash, options } = verifyParameters(algorithm, key);
    return new Promise((resolve) =>
      verify(hash, data, options, signature, (error, valid) => resolve(!error && valid)),
    );
  } catch {
    return Promise.resolve(false);
  }
}
