/**
 * The smallest PKCS#10 request (RFC 2986 §4) for a P-256 key held in this process: an empty
 * subject and no attributes, since the CA takes the subject and subjectAltNames from the
 * issuance request, never from the CSR. It only proves possession of the key (RFC 2986 §3).
 *
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
 *                                          subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute }
 */
import { createPublicKey, type KeyObject, sign } from "node:crypto";
import { bitString, implicit, integer, oid, sequence } from "./der.js";
import { OID } from "./oids.js";

export function encodeCertificationRequest(privateKey: KeyObject): Buffer {
  if (privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new Error("encodeCertificationRequest signs with P-256 keys only");
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const info = sequence(integer(0), sequence(), spki, implicit(0, Buffer.alloc(0), true));
  const signature = sign("sha256", info, { key: privateKey, dsaEncoding: "der" });
  return sequence(info, sequence(oid(OID.ecdsaWithSHA256)), bitString(signature)); // RFC 5758 §3.2
}
