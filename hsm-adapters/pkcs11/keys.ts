/**
 * Key templates, mechanisms and public keys on a PKCS#11 token (PKCS#11 v2.40 §2.3, §2.1;
 * v3.0 §2.3.5 for EdDSA). Private keys are token objects, sensitive, never extractable.
 */
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { type KeyAlgorithm, KeyStoreError, type SignatureAlgorithm } from "../key-store.js";
import { type Mechanism, pkcs11, type RsaPSS } from "./native.js";

// PKCS#11 v3.0 values that pkcs11js does not export.
export const CKK_EC_EDWARDS = 0x40;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;

/** DER OBJECT IDENTIFIERs for CKA_EC_PARAMS (RFC 5480 §2.1.1.1, RFC 8410 §3). */
const EC_PARAMS: Record<string, Buffer> = {
  "ecdsa-p256": Buffer.from("06082a8648ce3d030107", "hex"),
  "ecdsa-p384": Buffer.from("06052b81040022", "hex"),
  ed25519: Buffer.from("06032b6570", "hex"),
};
const CURVE_BY_PARAMS = new Map<string, { algorithm: KeyAlgorithm; crv: string; size: number }>([
  [EC_PARAMS["ecdsa-p256"]!.toString("hex"), { algorithm: "ecdsa-p256", crv: "P-256", size: 32 }],
  [EC_PARAMS["ecdsa-p384"]!.toString("hex"), { algorithm: "ecdsa-p384", crv: "P-384", size: 48 }],
  [EC_PARAMS.ed25519!.toString("hex"), { algorithm: "ed25519", crv: "Ed25519", size: 32 }],
  // SoftHSM and others may encode the Edwards curve by name (PKCS#11 v3.0 §2.3.6).
  [
    Buffer.concat([Buffer.from([0x13, 12]), Buffer.from("edwards25519")]).toString("hex"),
    { algorithm: "ed25519", crv: "Ed25519", size: 32 },
  ],
]);

/** A stable CKA_ID for a label, so keys are found by label or ID after restarts. */
export const keyId = (label: string): Buffer =>
  createHash("sha256").update(`gov-ca:${label}`).digest().subarray(0, 16);

export function keyPairTemplates(label: string, algorithm: KeyAlgorithm) {
  const id = keyId(label);
  const common = [
    { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_LABEL, value: label },
    { type: pkcs11.CKA_ID, value: id },
  ];
  const privateTemplate = [
    ...common,
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
    { type: pkcs11.CKA_PRIVATE, value: true },
    { type: pkcs11.CKA_SENSITIVE, value: true },
    { type: pkcs11.CKA_EXTRACTABLE, value: false },
    { type: pkcs11.CKA_SIGN, value: true },
    { type: pkcs11.CKA_DECRYPT, value: false },
    { type: pkcs11.CKA_UNWRAP, value: false },
    { type: pkcs11.CKA_DERIVE, value: false },
  ];
  const publicTemplate = [
    ...common,
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
    { type: pkcs11.CKA_PRIVATE, value: false },
    { type: pkcs11.CKA_VERIFY, value: true },
    { type: pkcs11.CKA_ENCRYPT, value: false },
    { type: pkcs11.CKA_WRAP, value: false },
  ];
  if (algorithm.startsWith("rsa-")) {
    return {
      mechanism: { mechanism: pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN },
      publicTemplate: [
        ...publicTemplate,
        { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA },
        { type: pkcs11.CKA_MODULUS_BITS, value: Number(algorithm.slice(4)) },
        { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      privateTemplate: [...privateTemplate, { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_RSA }],
    };
  }
  const params = EC_PARAMS[algorithm];
  if (!params)
    throw new KeyStoreError("algorithm-unsupported", `key algorithm "${algorithm}" is not supported`);
  const edwards = algorithm === "ed25519";
  const keyType = edwards ? CKK_EC_EDWARDS : pkcs11.CKK_EC;
  return {
    mechanism: { mechanism: edwards ? CKM_EC_EDWARDS_KEY_PAIR_GEN : pkcs11.CKM_EC_KEY_PAIR_GEN },
    publicTemplate: [
      ...publicTemplate,
      { type: pkcs11.CKA_KEY_TYPE, value: keyType },
      { type: pkcs11.CKA_EC_PARAMS, value: params },
    ],
    privateTemplate: [...privateTemplate, { type: pkcs11.CKA_KEY_TYPE, value: keyType }],
  };
}

/** CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 v2.40 §2.3.3); some tokens omit it. */
function unwrapPoint(value: Buffer, size: number, edwards: boolean): Buffer {
  const rawLength = edwards ? size : 1 + 2 * size;
  if (value.length === rawLength) return value;
  if (value.length === rawLength + 2 && value[0] === 0x04 && value[1] === rawLength) return value.subarray(2);
  if (value.length === rawLength + 3 && value[0] === 0x04 && value[1] === 0x81 && value[2] === rawLength)
    return value.subarray(3);
  throw new KeyStoreError("integrity", "CKA_EC_POINT has an unexpected encoding");
}

/** The public key object's attributes as an algorithm and SubjectPublicKeyInfo DER. */
export function publicKeyInfo(attributes: {
  keyType: number;
  ecParams?: Buffer;
  ecPoint?: Buffer;
  modulus?: Buffer;
  exponent?: Buffer;
}): { algorithm: KeyAlgorithm; spki: Buffer } {
  if (attributes.keyType === pkcs11.CKK_RSA && attributes.modulus && attributes.exponent) {
    const modulus = attributes.modulus[0] === 0 ? attributes.modulus.subarray(1) : attributes.modulus;
    const bits = modulus.length * 8;
    const algorithm = `rsa-${bits}` as KeyAlgorithm;
    if (![2048, 3072, 4096].includes(bits))
      throw new KeyStoreError("algorithm-unsupported", `RSA key of ${bits} bits`);
    const key = createPublicKey({
      key: { kty: "RSA", n: modulus.toString("base64url"), e: attributes.exponent.toString("base64url") },
      format: "jwk",
    });
    return { algorithm, spki: key.export({ format: "der", type: "spki" }) };
  }
  const curve = attributes.ecParams ? CURVE_BY_PARAMS.get(attributes.ecParams.toString("hex")) : undefined;
  if (!curve || !attributes.ecPoint)
    throw new KeyStoreError(
      "algorithm-unsupported",
      "the token key is neither RSA, P-256, P-384 nor Ed25519",
    );
  const edwards = curve.algorithm === "ed25519";
  const point = unwrapPoint(attributes.ecPoint, curve.size, edwards);
  const jwk = edwards
    ? { kty: "OKP", crv: "Ed25519", x: point.toString("base64url") }
    : {
        kty: "EC",
        crv: curve.crv,
        x: point.subarray(1, 1 + curve.size).toString("base64url"),
        y: point.subarray(1 + curve.size).toString("base64url"),
      };
  return {
    algorithm: curve.algorithm,
    spki: createPublicKey({ key: jwk, format: "jwk" }).export({ format: "der", type: "spki" }),
  };
}

const HASH_MECHANISMS = {
  sha256: pkcs11.CKM_SHA256,
  sha384: pkcs11.CKM_SHA384,
  sha512: pkcs11.CKM_SHA512,
} as const;
const MGF = {
  sha256: pkcs11.CKG_MGF1_SHA256,
  sha384: pkcs11.CKG_MGF1_SHA384,
  sha512: pkcs11.CKG_MGF1_SHA512,
} as const;
const SALT = { sha256: 32, sha384: 48, sha512: 64 } as const;

/**
 * The mechanism for a signature, and the bytes to hand to C_Sign. ECDSA is CKM_ECDSA over a
 * digest computed here on the host (PKCS#11 v2.40 §2.3.6), which every token supports.
 */
export function signingMechanism(
  algorithm: SignatureAlgorithm,
  data: Uint8Array,
): { mechanism: Mechanism; input: Buffer } {
  const hash = algorithm.slice(algorithm.lastIndexOf("-") + 1) as keyof typeof HASH_MECHANISMS;
  if (algorithm === "ed25519") return { mechanism: { mechanism: CKM_EDDSA }, input: Buffer.from(data) };
  if (algorithm.startsWith("ecdsa-"))
    return { mechanism: { mechanism: pkcs11.CKM_ECDSA }, input: createHash(hash).update(data).digest() };
  if (algorithm.startsWith("rsa-pss-")) {
    const mechanism = {
      sha256: pkcs11.CKM_SHA256_RSA_PKCS_PSS,
      sha384: pkcs11.CKM_SHA384_RSA_PKCS_PSS,
      sha512: pkcs11.CKM_SHA512_RSA_PKCS_PSS,
    }[hash];
    const parameter: RsaPSS = {
      type: pkcs11.CK_PARAMS_RSA_PSS,
      hashAlg: HASH_MECHANISMS[hash],
      mgf: MGF[hash],
      saltLen: SALT[hash],
    };
    return { mechanism: { mechanism, parameter }, input: Buffer.from(data) };
  }
  const mechanism = {
    sha256: pkcs11.CKM_SHA256_RSA_PKCS,
    sha384: pkcs11.CKM_SHA384_RSA_PKCS,
    sha512: pkcs11.CKM_SHA512_RSA_PKCS,
  }[hash];
  return { mechanism: { mechanism }, input: Buffer.from(data) };
}

/** Signature length for the output buffer C_Sign fills. */
export function signatureLength(algorithm: KeyAlgorithm): number {
  switch (algorithm) {
    case "ecdsa-p256":
    case "ed25519":
      return 64;
    case "ecdsa-p384":
      return 96;
    default:
      return Number(algorithm.slice(4)) / 8;
  }
}

/**
 * Checks a signature from the token against the public key on record before it leaves the
 * key store. A faulty device (or a driver race) can return CKR_OK with a wrong signature;
 * for RSA-CRT a single faulty signature reveals the private key (Boneh, DeMillo, Lipton 1997).
 */
export function signatureVerifies(
  publicKey: KeyObject,
  algorithm: SignatureAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const hash = algorithm === "ed25519" ? null : algorithm.slice(algorithm.lastIndexOf("-") + 1);
  const key = algorithm.startsWith("ecdsa-")
    ? { key: publicKey, dsaEncoding: "ieee-p1363" as const }
    : algorithm.startsWith("rsa-pss-")
      ? { key: publicKey, padding: 6, saltLength: SALT[hash as keyof typeof SALT] }
      : publicKey;
  // The callback form runs on the libuv pool, in parallel with other signatures, like C_SignAsync.
  return new Promise((resolve, reject) =>
    verify(hash, data, key, signature, (error, valid) => (error ? reject(error) : resolve(valid))),
  );
}
