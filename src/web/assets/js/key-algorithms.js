/**
 * The key types the portal offers and how each one signs. One table, used by the CSR
 * builder and by the PKCS#12 builder's key-matches-certificate check.
 */
import { nullValue, oid, sequence } from "./der.js";

/** @typedef {"ec:P-256" | "ec:P-384" | "rsa:2048" | "rsa:3072"} KeyAlgorithmName */

/** @type {Record<KeyAlgorithmName, EcKeyGenParams | RsaHashedKeyGenParams>} */
const GENERATE = {
  "ec:P-256": { name: "ECDSA", namedCurve: "P-256" },
  "ec:P-384": { name: "ECDSA", namedCurve: "P-384" },
  // RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) with SHA-256; exponent 65537, the only one the CA accepts.
  "rsa:2048": {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: Uint8Array.of(1, 0, 1),
    hash: "SHA-256",
  },
  "rsa:3072": {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 3072,
    publicExponent: Uint8Array.of(1, 0, 1),
    hash: "SHA-256",
  },
};

export const KEY_ALGORITHMS = /** @type {KeyAlgorithmName[]} */ (Object.keys(GENERATE));

/**
 * A new key pair. Extractable, because the private key goes into the user's PKCS#12 once
 * the certificate is issued; it stays in this browser (IndexedDB) until then.
 * @param {KeyAlgorithmName} algorithm
 * @returns {Promise<CryptoKeyPair>}
 */
export async function createKeyPair(algorithm) {
  const params = GENERATE[algorithm];
  if (!params)
    throw new TypeError(`unsupported key algorithm "${algorithm}"; use one of ${KEY_ALGORITHMS.join(", ")}`);
  return /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey(params, true, ["sign", "verify"]));
}

/**
 * @typedef {object} SigningAlgorithm
 * @property {EcdsaParams | AlgorithmIdentifier} params what `crypto.subtle.sign` takes
 * @property {Uint8Array} identifier the DER AlgorithmIdentifier of the signature
 * @property {boolean} ecdsa whether the raw signature is P1363 r‖s to be DER-encoded
 * @property {EcKeyImportParams | RsaHashedImportParams} importParams to import the matching public key
 */

/**
 * How a key of ours signs: ECDSA with the hash that matches the curve's strength (P-256 with
 * SHA-256, P-384 with SHA-384: RFC 5480 §4), RSA with the hash fixed at generation (SHA-256).
 * @param {CryptoKey} key
 * @returns {SigningAlgorithm}
 */
export function signingAlgorithm(key) {
  const algorithm = /** @type {EcKeyAlgorithm & RsaHashedKeyAlgorithm} */ (key.algorithm);
  if (algorithm.name === "ECDSA") {
    const sha384 = algorithm.namedCurve === "P-384";
    if (!sha384 && algorithm.namedCurve !== "P-256")
      throw new TypeError(`unsupported curve ${algorithm.namedCurve}`);
    return {
      params: { name: "ECDSA", hash: sha384 ? "SHA-384" : "SHA-256" },
      // RFC 5758 §3.2: ecdsa-with-SHA256 / ecdsa-with-SHA384, parameters absent.
      identifier: sequence(oid(sha384 ? "1.2.840.10045.4.3.3" : "1.2.840.10045.4.3.2")),
      ecdsa: true,
      importParams: { name: "ECDSA", namedCurve: algorithm.namedCurve },
    };
  }
  if (algorithm.name === "RSASSA-PKCS1-v1_5" && algorithm.hash?.name === "SHA-256")
    return {
      params: { name: "RSASSA-PKCS1-v1_5" },
      // RFC 4055 §5 / RFC 8017 Appendix A.2.4: sha256WithRSAEncryption, parameters NULL.
      identifier: sequence(oid("1.2.840.113549.1.1.11"), nullValue()),
      ecdsa: false,
      importParams: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    };
  throw new TypeError(`unsupported key: ${algorithm.name}`);
}
