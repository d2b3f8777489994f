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

export function importSpki(spki: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
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
