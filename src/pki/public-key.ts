/**
 * What kind of public key a SubjectPublicKeyInfo holds, in the terms profiles use:
 * "ec:P-256", "ec:P-384", "rsa:2048", "ed25519".
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";

export type PublicKeyDescription =
  | { kind: "ec"; curve: "P-256" | "P-384" | "P-521"; name: string }
  | { kind: "rsa"; bits: number; exponent: bigint; name: string }
  | { kind: "ed25519"; name: string };

export class PublicKeyError extends Error {
  override readonly name = "PublicKeyError";
  constructor(
    readonly code: "key-unsupported" | "key-malformed",
    message: string,
  ) {
    super(message);
  }
}

const CURVES: Record<string, "P-256" | "P-384" | "P-521"> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

/**
 * The canonical DER of an id-ecPublicKey SubjectPublicKeyInfo on a named curve (RFC 5480 §2),
 * up to the uncompressed point's 0x04: SEQUENCE { SEQUENCE { id-ecPublicKey, curve }, BIT STRING }.
 */
const EC_SPKI_PREFIXES = [
  {
    crv: "P-256",
    bytes: 32,
    prefix: Buffer.from("3059301306072a8648ce3d020106082a8648ce3d03010703420004", "hex"),
  },
  { crv: "P-384", bytes: 48, prefix: Buffer.from("3076301006072a8648ce3d020106052b8104002203620004", "hex") },
] as const;

/**
 * OpenSSL 3.0 (Node 20) decodes DER keys through its generic decoder framework, which costs
 * about twice as much CPU as importing the same point as a JWK; on the issuance path it was
 * the largest single cost. So the canonical P-256 and P-384 encodings, which is what nearly
 * every CSR carries, are imported as JWK. The point checks are the same (on the curve,
 * coordinates below the field prime), and anything else, including a point the JWK import
 * refuses, takes the DER path and its error messages.
 */
function importEcSpki(spki: Buffer): KeyObject | undefined {
  for (const { crv, bytes, prefix } of EC_SPKI_PREFIXES) {
    if (spki.length !== prefix.length + 2 * bytes || !spki.subarray(0, prefix.length).equals(prefix))
      continue;
    const point = spki.subarray(prefix.length);
    try {
      return createPublicKey({
        key: {
          kty: "EC",
          crv,
          x: point.subarray(0, bytes).toString("base64url"),
          y: point.subarray(bytes).toString("base64url"),
        },
        format: "jwk",
      });
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export function importSpki(spki: Uint8Array): KeyObject {
  const der = Buffer.from(spki);
  const ec = importEcSpki(der);
  if (ec) return ec;
  try {
    return createPublicKey({ key: der, format: "der", type: "spki" });
  } catch (error) {
    const reason = (error as Error).message;
    if (/unsupported|not supported|unknown/i.test(reason))
      throw new PublicKeyError(
        "key-unsupported",
        `the public key's algorithm or curve is not supported (${reason})`,
      );
    throw new PublicKeyError("key-malformed", "the SubjectPublicKeyInfo is not a valid public key");
  }
}

export function describePublicKey(key: KeyObject): PublicKeyDescription {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "ec": {
      const curve = CURVES[details.namedCurve ?? ""];
      if (!curve)
        throw new PublicKeyError(
          "key-unsupported",
          `elliptic curve ${details.namedCurve ?? "(explicit parameters)"} is not supported: use P-256 or P-384`,
        );
      return { kind: "ec", curve, name: `ec:${curve}` };
    }
    case "rsa": {
      const bits = details.modulusLength ?? 0;
      return { kind: "rsa", bits, exponent: details.publicExponent ?? 0n, name: `rsa:${bits}` };
    }
    case "ed25519":
      return { kind: "ed25519", name: "ed25519" };
    default:
      throw new PublicKeyError(
        "key-unsupported",
        `public key type ${key.asymmetricKeyType ?? "unknown"} is not supported: use ECDSA, RSA or Ed25519`,
      );
  }
}

export const spkiSha256 = (spki: Uint8Array): Buffer => createHash("sha256").update(spki).digest();
