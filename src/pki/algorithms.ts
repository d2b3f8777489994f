/**
 * Signature algorithm identifiers (RFC 5758 §3.2, RFC 4055 §3.1, RFC 8410 §3) and the
 * mapping from the key store's algorithm names to the DER AlgorithmIdentifier that goes
 * into certificates, CRLs and OCSP responses.
 */
import type { KeyAlgorithm, SignatureAlgorithm } from "../../hsm-adapters/key-store.js";
import { type Der, explicit, integer, nullValue, oid, sequence } from "./der.js";
import { OID } from "./oids.js";

const hashOid = { sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512 } as const;
const hashBytes = { sha256: 32, sha384: 48, sha512: 64 } as const;

/** RSASSA-PSS-params with MGF1 over the same hash and salt = hash length (RFC 4055 §3.1). */
function pssParameters(hash: keyof typeof hashOid): Der {
  const hashAlg = sequence(oid(hashOid[hash]), nullValue);
  return sequence(
    explicit(0, hashAlg),
    explicit(1, sequence(oid(OID.mgf1), hashAlg)),
    explicit(2, integer(hashBytes[hash])),
  );
}

const IDENTIFIERS: Record<SignatureAlgorithm, Der> = {
  "ecdsa-sha256": sequence(oid(OID.ecdsaWithSHA256)), // RFC 5758 §3.2: parameters absent
  "ecdsa-sha384": sequence(oid(OID.ecdsaWithSHA384)),
  "ecdsa-sha512": sequence(oid(OID.ecdsaWithSHA512)),
  "rsa-pkcs1-sha256": sequence(oid(OID.sha256WithRSA), nullValue), // RFC 4055 §5: NULL parameters
  "rsa-pkcs1-sha384": sequence(oid(OID.sha384WithRSA), nullValue),
  "rsa-pkcs1-sha512": sequence(oid(OID.sha512WithRSA), nullValue),
  "rsa-pss-sha256": sequence(oid(OID.rsassaPss), pssParameters("sha256")),
  "rsa-pss-sha384": sequence(oid(OID.rsassaPss), pssParameters("sha384")),
  ed25519: sequence(oid(OID.ed25519)), // RFC 8410 §3: parameters absent
};

export function algorithmIdentifier(algorithm: SignatureAlgorithm): Der {
  return IDENTIFIERS[algorithm];
}

/** The signature algorithm a CA key signs with by default. */
export function defaultSignatureAlgorithm(key: KeyAlgorithm): SignatureAlgorithm {
  switch (key) {
    case "ecdsa-p256":
      return "ecdsa-sha256";
    case "ecdsa-p384":
      return "ecdsa-sha384";
    case "ed25519":
      return "ed25519";
    default:
      return "rsa-pkcs1-sha256";
  }
}
