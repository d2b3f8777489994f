/**
 * The smallest PKCS#10 request (RFC 2986 §4) for a key held in this process (P-256, P-384 or
 * RSA): an empty subject and no attributes, since the CA takes the subject and subjectAltNames
 * from the issuance request, never from the CSR. It only proves possession of the key (RFC 2986 §3).
 *
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
 *                                          subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute }
 */
import { createPublicKey, type KeyObject, sign } from "node:crypto";
import { bitString, type Der, implicit, integer, nullValue, oid, sequence } from "./der.js";
import { OID } from "./oids.js";

/** The signature algorithm for the key: RFC 5758 §3.2 (ECDSA, no parameters), RFC 4055 §5 (RSA, NULL). */
function signatureAlgorithm(key: KeyObject): { der: Der; hash: string } {
  if (key.asymmetricKeyType === "rsa")
    return { der: sequence(oid(OID.sha256WithRSA), nullValue), hash: "sha256" };
  switch (key.asymmetricKeyDetails?.namedCurve) {
    case "prime256v1":
      return { der: sequence(oid(OID.ecdsaWithSHA256)), hash: "sha256" };
    case "secp384r1":
      return { der: sequence(oid(OID.ecdsaWithSHA384)), hash: "sha384" };
    default:
      throw new Error("encodeCertificationRequest signs with P-256, P-384 and RSA keys only");
  }
}

export function encodeCertificationRequest(privateKey: KeyObject): Buffer {
  const algorithm = signatureAlgorithm(privateKey);
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const info = sequence(integer(0), sequence(), spki, implicit(0, Buffer.alloc(0), true));
  const signature = sign(algorithm.hash, info, { key: privateKey, dsaEncoding: "der" });
  return sequence(info, algorithm.der, bitString(signature));
}
