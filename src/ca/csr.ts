/**
 * PKCS#10 certification requests (RFC 2986): strict decoding, proof of possession (the
 * request's signature under its own key), and the key policy that holds for every profile:
 * RSA of at least 2048 bits with exponent 65537, ECDSA on P-256/P-384, Ed25519.
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
 *                                          subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute }
 */
import { type KeyObject, verify } from "node:crypto";
import { badRequest } from "../errors.js";
import {
  children,
  DerError,
  decode,
  type Element,
  expectTag,
  readBitString,
  readBoolean,
  readOctetString,
  readOid,
  readSmallInteger,
  sequenceOf,
  TAG,
} from "../pki/der-reader.js";
import { type GeneralName, parseGeneralNames } from "../pki/general-name.js";
import { type Name, parseName } from "../pki/name.js";
import { OID } from "../pki/oids.js";
import { decodePem, isPem, PemError } from "../pki/pem.js";
import {
  describePublicKey,
  importSpki,
  type PublicKeyDescription,
  PublicKeyError,
} from "../pki/public-key.js";

export const MAX_CSR_BYTES = 64 * 1024;
export const MAX_REQUESTED_NAMES = 100;

export interface ParsedCsr {
  readonly der: Buffer;
  readonly subject: Name;
  readonly spki: Buffer;
  readonly publicKey: KeyObject;
  readonly key: PublicKeyDescription;
  /** Names from the extensionRequest's subjectAltName, if any (not trusted by themselves). */
  readonly requestedNames: readonly GeneralName[] | undefined;
}

const malformed = (detail: string) => badRequest("csr-malformed", `the CSR is malformed: ${detail}`);

/** Accepts PEM text or DER bytes. */
export function csrBytes(input: Uint8Array | string): Buffer {
  if (typeof input === "string" || isPem(input)) {
    const text = typeof input === "string" ? input : Buffer.from(input).toString("utf8");
    try {
      return decodePem(text, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]).der;
    } catch (error) {
      if (error instanceof PemError) throw malformed(error.message);
      throw error;
    }
  }
  return Buffer.from(input);
}

interface SignatureCheck {
  family: "ecdsa" | "rsa" | "ed25519";
  hash: string | null;
  pssSaltLength?: number;
}

const HASH_OIDS: Record<string, string> = {
  [OID.sha256]: "sha256",
  [OID.sha384]: "sha384",
  [OID.sha512]: "sha512",
};

/** RSASSA-PSS-params (RFC 4055 §3.1) with MGF1 over the same hash; SHA-1 defaults refused. */
function pssParameters(params: Element | undefined): SignatureCheck {
  const fields = sequenceOf(params, "RSASSA-PSS parameters", 0, 4);
  let hash: string | undefined;
  let mgfHash: string | undefined;
  let saltLength = 20;
  for (const field of fields) {
    // RFC 4055 §3.1 (EXPLICIT TAGS): each [n] holds exactly one value; the hash and MGF are
    // AlgorithmIdentifiers, and MGF1's parameters are the hash's AlgorithmIdentifier (RFC 8017 §B.2.1).
    const [inner] = sequenceOf(field, "RSASSA-PSS parameter", 1, 1, field.tag);
    if (field.tag === 0xa0)
      hash = HASH_OIDS[readOid(sequenceOf(inner, "PSS hash algorithm", 1, 2)[0], "PSS hash algorithm")];
    else if (field.tag === 0xa1) {
      const [mgf, mgfParams] = sequenceOf(inner, "PSS mask generation function", 2, 2);
      if (readOid(mgf, "PSS mask generation function") !== OID.mgf1)
        throw new DerError("PSS mask generation must be MGF1");
      mgfHash = HASH_OIDS[readOid(sequenceOf(mgfParams, "MGF1 hash", 1, 2)[0], "MGF1 hash")];
    } else if (field.tag === 0xa2) saltLength = readSmallInteger(inner, "PSS salt length");
    else if (field.tag === 0xa3 && readSmallInteger(inner, "PSS trailer field") !== 1)
      throw new DerError("PSS trailer field must be 1");
  }
  if (!hash || hash !== mgfHash)
    throw new DerError("PSS must use SHA-256, SHA-384 or SHA-512 for both hash and MGF1");
  return { family: "rsa", hash, pssSaltLength: saltLength };
}

const SIGNATURE_ALGORITHMS: Record<string, SignatureCheck> = {
  [OID.ecdsaWithSHA256]: { family: "ecdsa", hash: "sha256" },
  [OID.ecdsaWithSHA384]: { family: "ecdsa", hash: "sha384" },
  [OID.ecdsaWithSHA512]: { family: "ecdsa", hash: "sha512" },
  [OID.sha256WithRSA]: { family: "rsa", hash: "sha256" },
  [OID.sha384WithRSA]: { family: "rsa", hash: "sha384" },
  [OID.sha512WithRSA]: { family: "rsa", hash: "sha512" },
  [OID.ed25519]: { family: "ed25519", hash: null },
};

function signatureCheck(algorithm: Element | undefined): SignatureCheck {
  const [id, params, ...rest] = sequenceOf(algorithm, "signatureAlgorithm", 1, 2);
  if (rest.length) throw new DerError("signatureAlgorithm has extra fields");
  const oid = readOid(id, "signature algorithm");
  if (oid === OID.rsassaPss) return pssParameters(params);
  const check = SIGNATURE_ALGORITHMS[oid];
  if (!check) {
    const weak = oid === OID.sha1WithRSA || oid === OID.ecdsaWithSHA1;
    throw badRequest(
      "csr-signature-algorithm-unsupported",
      weak
        ? `the CSR is signed with SHA-1 (${oid}), which is refused: sign it with SHA-256 or stronger`
        : `the CSR's signature algorithm ${oid} is not supported (ECDSA, RSA PKCS#1 v1.5 or PSS with SHA-2, Ed25519)`,
    );
  }
  // RFC 5758 §3.2 and RFC 8410 §3: parameters absent; RFC 4055 §5: NULL (absence tolerated).
  if (params && !(check.family === "rsa" && params.tag === 0x05 && params.content.length === 0))
    throw new DerError(`signature algorithm ${oid} must not carry parameters`);
  return check;
}

const KEY_FAMILY: Record<PublicKeyDescription["kind"], SignatureCheck["family"]> = {
  ec: "ecdsa",
  rsa: "rsa",
  ed25519: "ed25519",
};

/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), read with the strict decoder: OpenSSL's import
 * accepts BER (non-minimal and indefinite lengths), but these bytes go into the certificate
 * as they are, and a certificate is DER (RFC 5280 §4.1, X.690 §10.1).
 */
function subjectPublicKeyInfo(element: Element | undefined): Buffer {
  const [algorithm, subjectPublicKey] = sequenceOf(element, "subjectPKInfo", 2, 2);
  const [id, params] = sequenceOf(algorithm, "subjectPKInfo algorithm", 1, 2);
  readOid(id, "subjectPKInfo algorithm");
  if (params?.tag === TAG.OID) readOid(params, "subjectPKInfo algorithm parameters");
  readBitString(subjectPublicKey, "subjectPublicKey");
  return element!.encoded;
}

/** The subjectAltName in the extensionRequest attribute (RFC 2985 §5.4.2), if any. */
function requestedNames(attributes: Element | undefined): GeneralName[] | undefined {
  if (!attributes) return undefined;
  let names: GeneralName[] | undefined;
  for (const attribute of children(attributes)) {
    const [type, values] = sequenceOf(attribute, "CSR attribute", 2, 2);
    if (readOid(type, "CSR attribute type") !== OID.extensionRequest) continue;
    const [extensions] = sequenceOf(values, "extensionRequest values", 1, 1, 0x31);
    const seen = new Set<string>();
    for (const extension of sequenceOf(extensions, "requested extensions", 0, 64)) {
      const fields = sequenceOf(extension, "requested extension", 2, 3);
      const id = readOid(fields[0], "extension id");
      if (seen.has(id)) throw new DerError(`extension ${id} is requested twice (RFC 5280 §4.2)`);
      seen.add(id);
      if (fields.length === 3) readBoolean(fields[1], "extension critical flag");
      if (id !== OID.subjectAltName) continue;
      const value = decode(readOctetString(fields[fields.length - 1], "subjectAltName value"));
      const count = children(value).length;
      if (count > MAX_REQUESTED_NAMES)
        throw badRequest(
          "san-too-many",
          `the CSR requests ${count} subjectAltNames; at most ${MAX_REQUESTED_NAMES} are allowed`,
        );
      names = parseGeneralNames(value, MAX_REQUESTED_NAMES);
    }
  }
  return names;
}

/** Verifies on the libuv pool (crypto.verify with a callback), off the event-loop thread. */
function verifyProofOfPossession(
  check: SignatureCheck,
  key: KeyObject,
  signed: Buffer,
  signature: Buffer,
): Promise<boolean> {
  try {
    const options =
      check.pssSaltLength !== undefined
        ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: check.pssSaltLength }
        : { key, dsaEncoding: "der" as const };
    return new Promise((resolve) =>
      verify(check.hash, signed, options, signature, (error, valid) => resolve(!error && valid)),
    );
  } catch {
    return Promise.resolve(false);
  }
}

/** Parses and checks a CSR; every failure is a 400 problem naming what is wrong. */
export async function parseCsr(input: Uint8Array | string): Promise<ParsedCsr> {
  const der = csrBytes(input);
  if (der.length > MAX_CSR_BYTES)
    throw badRequest(
      "csr-too-large",
      `the CSR is ${der.length} bytes; at most ${MAX_CSR_BYTES} are accepted`,
    );
  let parsed: Omit<ParsedCsr, "publicKey" | "key"> & {
    check: SignatureCheck;
    signed: Buffer;
    signature: Buffer;
  };
  try {
    const [info, algorithm, signatureElement] = sequenceOf(decode(der), "CertificationRequest", 3, 3);
    const fields = sequenceOf(info, "CertificationRequestInfo", 3, 4);
    const version = readSmallInteger(fields[0], "version");
    if (version !== 0)
      throw badRequest("csr-version", `the CSR's version is ${version}; PKCS#10 v1 (0) is required`);
    const subject = parseName(fields[1], "subject");
    const spki = subjectPublicKeyInfo(fields[2]);
    const attributes = fields[3] ? expectTag(fields[3], 0xa0, "attributes") : undefined;
    parsed = {
      der,
      subject,
      spki,
      requestedNames: requestedNames(attributes),
      check: signatureCheck(algorithm),
      signed: info!.encoded,
      signature: readBitString(signatureElement, "signature"),
    };
  } catch (error) {
    if (error instanceof DerError) throw malformed(error.message);
    throw error;
  }
  let publicKey: KeyObject;
  let key: PublicKeyDescription;
  try {
    publicKey = importSpki(parsed.spki);
    key = describePublicKey(publicKey);
  } catch (error) {
    if (error instanceof PublicKeyError)
      throw badRequest(
        error.code === "key-malformed" ? "csr-malformed" : "csr-key-unsupported",
        error.message,
      );
    throw error;
  }
  checkKeyPolicy(key); // cheap checks before the signature verification
  if (KEY_FAMILY[key.kind] !== parsed.check.family)
    throw badRequest(
      "csr-signature-invalid",
      `the CSR's signature algorithm (${parsed.check.family}) does not match its ${key.name} key`,
    );
  if (!(await verifyProofOfPossession(parsed.check, publicKey, parsed.signed, parsed.signature)))
    throw badRequest(
      "csr-signature-invalid",
      "the CSR's signature does not verify with its public key (no proof of possession, RFC 2986 §3)",
    );
  return {
    der,
    subject: parsed.subject,
    spki: parsed.spki,
    publicKey,
    key,
    requestedNames: parsed.requestedNames,
  };
}

/** Rules for every key we certify, whatever the profile. */
function checkKeyPolicy(key: PublicKeyDescription): void {
  if (key.kind === "rsa") {
    if (key.bits < 2048)
      throw badRequest("csr-key-too-small", `RSA keys need at least 2048 bits; this one has ${key.bits}`);
    if (key.bits > 8192)
      throw badRequest("csr-key-unsupported", `RSA keys of more than 8192 bits are not accepted`);
    if (key.exponent !== 65537n)
      throw badRequest(
        "csr-key-exponent",
        `RSA public exponent must be 65537; this key's is ${key.exponent}`,
      );
  }
  if (key.kind === "ec" && key.curve === "P-521")
    throw badRequest("csr-key-unsupported", "elliptic curve P-521 is not supported: use P-256 or P-384");
}
