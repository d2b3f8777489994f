/**
 * PKCS#10 certification requests (RFC 2986) built and signed in the browser; the private
 * key never leaves WebCrypto.
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
 *                                          subjectPKInfo, attributes [0] IMPLICIT SET OF Attribute }
 */
import { bitString, implicit, integer, oid, sequence, setOf, toPem, utf8String } from "./der.js";
import { p1363ToDer } from "./ecdsa-signature.js";
import { signingAlgorithm } from "./key-algorithms.js";

export { createKeyPair, KEY_ALGORITHMS } from "./key-algorithms.js";

const COMMON_NAME = "2.5.4.3"; // X.520 id-at-commonName
const MAX_COMMON_NAME = 64; // RFC 5280 Appendix A.1: ub-common-name

/**
 * The subject Name: one RDN with the commonName as UTF8String (RFC 5280 §4.1.2.6), or the
 * empty Name. The CA fills the certificate's subject from its directory, not from this.
 * @param {string | undefined} commonName
 */
function subjectName(commonName) {
  if (commonName === undefined || commonName === "") return sequence();
  if ([...commonName].length > MAX_COMMON_NAME)
    throw new RangeError(`commonName is longer than ${MAX_COMMON_NAME} characters (RFC 5280 ub-common-name)`);
  return sequence(setOf(sequence(oid(COMMON_NAME), utf8String(commonName))));
}

/**
 * A PEM "CERTIFICATE REQUEST" signed with the key pair's private key (proof of possession, RFC 2986 §3).
 * @param {CryptoKeyPair} keyPair from `createKeyPair`
 * @param {{ commonName?: string }} [options]
 * @returns {Promise<string>}
 */
export async function buildCsr(keyPair, options = {}) {
  const algorithm = signingAlgorithm(keyPair.privateKey);
  // RFC 2986 §4.1: SubjectPublicKeyInfo as WebCrypto exports it (RFC 5280 §4.1.2.7).
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keyPair.publicKey));
  const info = sequence(
    integer(0), // RFC 2986 §4.1: version v1(0)
    subjectName(options.commonName),
    spki,
    implicit(0, new Uint8Array(0), true), // RFC 2986 §4.1: attributes [0], present even when empty
  );
  const raw = new Uint8Array(await crypto.subtle.sign(algorithm.params, keyPair.privateKey, info));
  const signature = algorithm.ecdsa ? p1363ToDer(raw) : raw; // RFC 3279 §2.2.3 for ECDSA
  return toPem("CERTIFICATE REQUEST", sequence(info, algorithm.identifier, bitString(signature)));
}
