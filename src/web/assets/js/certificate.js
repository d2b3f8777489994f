/**
 * What the PKCS#12 builder needs to know about an issued certificate: its public key, and
 * whether the private key kept in this browser is the one it certifies.
 */
import { childrenOf, readElement } from "./der-reader.js";
import { signingAlgorithm } from "./key-algorithms.js";

/**
 * The SubjectPublicKeyInfo DER of an X.509 certificate (RFC 5280 §4.1: Certificate ::=
 * SEQUENCE { tbsCertificate, ... }; TBSCertificate ::= SEQUENCE { version [0] EXPLICIT
 * DEFAULT v1, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ... }).
 * @param {Uint8Array<ArrayBuffer>} certificateDer
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function certificateSpki(certificateDer) {
  const certificate = readElement(certificateDer);
  const [tbs] = certificate.tag === 0x30 ? childrenOf(certificate) : [];
  if (tbs?.tag !== 0x30) throw new SyntaxError("not an X.509 certificate (RFC 5280 §4.1)");
  const fields = childrenOf(tbs);
  const skip = fields[0]?.tag === 0xa0 ? 1 : 0; // version [0] is absent for v1
  const spki = fields[skip + 5];
  if (spki?.tag !== 0x30)
    throw new SyntaxError("certificate has no subjectPublicKeyInfo (RFC 5280 §4.1.2.7)");
  return spki.encoded;
}

/**
 * Proves the private key belongs to the certificate: signs a random challenge with it and
 * verifies that with the certificate's public key. Catches a key picked for the wrong request.
 * @param {CryptoKey} privateKey
 * @param {Uint8Array<ArrayBuffer>} certificateDer
 * @returns {Promise<boolean>}
 */
export async function keyMatchesCertificate(privateKey, certificateDer) {
  const algorithm = signingAlgorithm(privateKey);
  const spki = certificateSpki(certificateDer);
  let publicKey;
  try {
    publicKey = await crypto.subtle.importKey("spki", spki, algorithm.importParams, false, ["verify"]);
  } catch {
    return false; // the certificate's key is of another type or curve
  }
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const signature = await crypto.subtle.sign(algorithm.params, privateKey, challenge);
  return crypto.subtle.verify(algorithm.params, publicKey, signature, challenge);
}
