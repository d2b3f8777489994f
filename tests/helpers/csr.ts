/**
 * Builds PKCS#10 requests in process (node:crypto keys, the project's DER writer), with
 * hooks to produce the malformed ones the policy tests need.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import {
  bitString,
  type Der,
  explicit,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  setOf,
  utf8String,
} from "../../src/pki/der.js";
import { encodeGeneralNames, type GeneralName } from "../../src/pki/general-name.js";
import { OID } from "../../src/pki/oids.js";
import { encodePem } from "../../src/pki/pem.js";

export type TestKeyType =
  | "p256"
  | "p384"
  | "p521"
  | "secp256k1"
  | "rsa1024"
  | "rsa2048"
  | "rsa3072"
  | "ed25519"
  | "ed448";

export function generateTestKey(type: TestKeyType, options: { publicExponent?: number } = {}): KeyObject {
  switch (type) {
    case "p256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    case "p384":
      return generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    case "p521":
      return generateKeyPairSync("ec", { namedCurve: "P-521" }).privateKey;
    case "secp256k1":
      return generateKeyPairSync("ec", { namedCurve: "secp256k1" }).privateKey;
    case "ed25519":
      return generateKeyPairSync("ed25519").privateKey;
    case "ed448":
      return generateKeyPairSync("ed448").privateKey;
    default:
      return generateKeyPairSync("rsa", {
        modulusLength: Number(type.slice(3)),
        publicExponent: options.publicExponent ?? 65537,
      }).privateKey;
  }
}

const cache = new Map<string, KeyObject>();
/** A key generated once per process (RSA generation is slow). */
export function sharedTestKey(type: TestKeyType): KeyObject {
  let key = cache.get(type);
  if (!key) {
    key = generateTestKey(type);
    cache.set(type, key);
  }
  return key;
}

export interface CsrOptions {
  readonly key?: KeyObject;
  readonly commonName?: string;
  /** Raw subject Name DER, to replace the default. */
  readonly subjectDer?: Der;
  readonly names?: readonly GeneralName[];
  readonly version?: number;
  /** Raw version INTEGER DER (for negative or non-minimal encodings); overrides `version`. */
  readonly versionDer?: Der;
  /** Override the signature AlgorithmIdentifier. */
  readonly signatureAlgorithmDer?: Der;
  /** Hash used for the signature (default by key type). */
  readonly hash?: string | null;
  /** Corrupt the signature after signing. */
  readonly corruptSignature?: boolean;
  /** Extra attributes inside [0]. */
  readonly extraAttributes?: readonly Der[];
  /** The unused-bits count written in the signature BIT STRING (default 0). */
  readonly signatureUnusedBits?: number;
}

function defaultAlgorithm(key: KeyObject): { der: Der; hash: string | null } {
  switch (key.asymmetricKeyType) {
    case "ec":
      return key.asymmetricKeyDetails?.namedCurve === "secp384r1"
        ? { der: sequence(oid(OID.ecdsaWithSHA384)), hash: "sha384" }
        : { der: sequence(oid(OID.ecdsaWithSHA256)), hash: "sha256" };
    case "rsa":
      return { der: sequence(oid(OID.sha256WithRSA), nullValue), hash: "sha256" };
    case "ed25519":
      return { der: sequence(oid(OID.ed25519)), hash: null };
    default:
      return { der: sequence(oid("1.3.101.113")), hash: null };
  }
}

export const nameDer = (commonName: string): Der =>
  sequence(setOf(sequence(oid(OID.commonName), utf8String(commonName))));

export function buildCsrDer(options: CsrOptions = {}): Buffer {
  const key = options.key ?? sharedTestKey("p256");
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  const attributes: Der[] = [...(options.extraAttributes ?? [])];
  if (options.names?.length) {
    const san = sequence(oid(OID.subjectAltName), octetString(encodeGeneralNames(options.names)));
    attributes.push(sequence(oid(OID.extensionRequest), setOf(sequence(san))));
  }
  const info = sequence(
    options.versionDer ?? integer(options.version ?? 0),
    options.subjectDer ?? nameDer(options.commonName ?? "test"),
    spki,
    implicit(0, Buffer.concat(attributes), true),
  );
  const algorithm = defaultAlgorithm(key);
  const hash = options.hash === undefined ? algorithm.hash : options.hash;
  const signature = sign(hash, info, key);
  if (options.corruptSignature) signature[signature.length - 4]! ^= 0x01;
  return sequence(
    info,
    options.signatureAlgorithmDer ?? algorithm.der,
    bitString(signature, options.signatureUnusedBits ?? 0),
  );
}

export const buildCsrPem = (options: CsrOptions = {}): string =>
  encodePem("CERTIFICATE REQUEST", buildCsrDer(options));

export { explicit };
