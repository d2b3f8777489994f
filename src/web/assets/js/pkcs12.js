/**
 * PKCS#12 (RFC 7292) built in the browser from a WebCrypto private key and the issued
 * certificate chain, protected by the user's passphrase. Layout, as OpenSSL 3 writes it:
 *
 *   PFX { version 3, authSafe id-data [ AuthenticatedSafe:
 *           id-encryptedData (PBES2) [ SafeContents: certBag leaf (friendlyName, localKeyId), certBag chain… ]
 *           id-data          [ SafeContents: pkcs8ShroudedKeyBag (PBES2) (friendlyName, localKeyId) ] ],
 *         macData HMAC-SHA-256 }
 *
 * Both encryptions are PBES2 (RFC 8018 §6.2) with PBKDF2-HMAC-SHA-256 and AES-256-CBC, each
 * with its own random salt and IV; the MAC key comes from the PKCS#12 KDF (RFC 7292 App. B).
 */

import { keyMatchesCertificate } from "./certificate.js";
import {
  bmpString,
  explicit,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  setOf,
} from "./der.js";
import { KDF_ID, kdfPassword, pkcs12Kdf } from "./pkcs12-kdf.js";

const OID = {
  data: "1.2.840.113549.1.7.1", // RFC 2315 §14 / RFC 5652 §4
  encryptedData: "1.2.840.113549.1.7.6", // RFC 2315 §13 / RFC 5652 §8
  pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2", // RFC 7292 §4.2.2
  certBag: "1.2.840.113549.1.12.10.1.3", // RFC 7292 §4.2.3
  x509Certificate: "1.2.840.113549.1.9.22.1", // RFC 7292 §4.2.3
  friendlyName: "1.2.840.113549.1.9.20", // RFC 2985 §5.5.1
  localKeyId: "1.2.840.113549.1.9.21", // RFC 2985 §5.5.2
  pbes2: "1.2.840.113549.1.5.13", // RFC 8018 Appendix A.4
  pbkdf2: "1.2.840.113549.1.5.12", // RFC 8018 Appendix A.2
  hmacWithSHA256: "1.2.840.113549.2.9", // RFC 8018 Appendix B.1.2
  aes256Cbc: "2.16.840.1.101.3.4.1.42", // RFC 8018 Appendix B.2.5 / NIST CSOR
  sha256: "2.16.840.1.101.3.4.2.1", // RFC 5754 §2.2
};

/**
 * PBKDF2 iterations: OWASP's 2023 figure for PBKDF2-HMAC-SHA-256. Chromium derives a key in
 * about 0.12 s on the CI machine; the file is written once per certificate.
 */
export const PBKDF2_ITERATIONS = 600_000;

/**
 * MAC KDF iterations. The MAC is also a passphrase oracle, so its cost bounds an offline
 * guessing attack as much as PBKDF2's does; OpenSSL's default (2048) would make guessing
 * ~600× cheaper than through PBKDF2. The KDF runs one `crypto.subtle.digest` per iteration
 * (no native PKCS#12 KDF in WebCrypto): about 12 µs each in Chromium, so 100,000 ≈ 1.2 s.
 */
export const MAC_ITERATIONS = 100_000;

const SALT_BYTES = 16; // RFC 8018 §4.1: at least 64 bits; NIST SP 800-132 §5.1: at least 128 bits

const random = (/** @type {number} */ n) => crypto.getRandomValues(new Uint8Array(n));

/**
 * PBES2 encryption (RFC 8018 §6.2.1): key = PBKDF2(P, S, c, 32) with HMAC-SHA-256, then
 * AES-256-CBC with PKCS#7 padding (RFC 8018 §6.2.1 step 4, Appendix B.2.5).
 * @param {Uint8Array<ArrayBuffer>} plaintext
 * @param {Uint8Array<ArrayBuffer>} password the passphrase's UTF-8 octets (RFC 8018 §3 leaves the encoding to the application)
 * @param {number} iterations
 * @returns {Promise<{ algorithm: Uint8Array, ciphertext: Uint8Array }>}
 */
async function pbes2Encrypt(plaintext, password, iterations) {
  const salt = random(SALT_BYTES);
  const iv = random(16); // RFC 8018 Appendix B.2.5: a 16-octet IV
  const base = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "PBKDF2", salt, iterations, hash: "SHA-256" },
    base,
    { name: "AES-CBC", length: 256 },
    false,
    ["encrypt"],
  );
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, plaintext));
  const algorithm = sequence(
    oid(OID.pbes2),
    // RFC 8018 Appendix A.4: PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }
    sequence(
      // RFC 8018 Appendix A.2: PBKDF2-params { salt, iterationCount, keyLength (omitted, AES-256 fixes it), prf }
      sequence(
        oid(OID.pbkdf2),
        sequence(octetString(salt), integer(iterations), sequence(oid(OID.hmacWithSHA256), nullValue())),
      ),
      sequence(oid(OID.aes256Cbc), octetString(iv)),
    ),
  );
  return { algorithm, ciphertext };
}

/**
 * PKCS12Attribute ::= SEQUENCE { attrId, attrValues SET OF } (RFC 7292 §4.2).
 * @param {string} attrId
 * @param {Uint8Array} value
 */
const attribute = (attrId, value) => sequence(oid(attrId), setOf(value));

/**
 * CertBag inside a SafeBag (RFC 7292 §4.2.3): certValue [0] EXPLICIT OCTET STRING (DER certificate).
 * @param {Uint8Array} certificateDer
 * @param {Uint8Array[]} attributes
 */
function certSafeBag(certificateDer, attributes) {
  const bag = sequence(oid(OID.x509Certificate), explicit(0, octetString(certificateDer)));
  // RFC 7292 §4.2: SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OF OPTIONAL }
  return sequence(oid(OID.certBag), explicit(0, bag), ...(attributes.length ? [setOf(...attributes)] : []));
}

/**
 * @typedef {object} Pkcs12Input
 * @property {CryptoKey} privateKey extractable; must be the key the leaf certificate certifies
 * @property {Uint8Array<ArrayBuffer>[]} certificates DER: the leaf first, then its chain
 * @property {string} passphrase
 * @property {string} [friendlyName] the label key stores show; defaults to none
 * @property {number} [iterations] PBKDF2 iterations, default PBKDF2_ITERATIONS
 * @property {number} [macIterations] MAC KDF iterations, default MAC_ITERATIONS
 */

/**
 * @param {Pkcs12Input} input
 * @returns {Promise<Uint8Array<ArrayBuffer>>} the PFX, DER
 */
export async function buildPkcs12({
  privateKey,
  certificates,
  passphrase,
  friendlyName,
  iterations = PBKDF2_ITERATIONS,
  macIterations = MAC_ITERATIONS,
}) {
  const [leaf, ...chain] = certificates;
  if (!leaf) throw new TypeError("PKCS#12: the leaf certificate is required");
  if (!passphrase) throw new TypeError("PKCS#12: an empty passphrase protects nothing");
  if (!(await keyMatchesCertificate(privateKey, leaf)))
    throw new Error("PKCS#12: the private key does not belong to the leaf certificate");

  // RFC 2985 §5.5.2: localKeyId pairs the key with its certificate; here the leaf's SHA-256.
  const localKeyId = new Uint8Array(await crypto.subtle.digest("SHA-256", leaf));
  const attributes = [attribute(OID.localKeyId, octetString(localKeyId))];
  if (friendlyName) attributes.push(attribute(OID.friendlyName, bmpString(friendlyName))); // BMPString: RFC 2985 §5.5.1
  const password = new TextEncoder().encode(passphrase);

  // Certificates: one SafeContents, encrypted (RFC 7292 §5.1 step 1, EncryptedData RFC 5652 §8).
  const certContents = sequence(certSafeBag(leaf, attributes), ...chain.map((der) => certSafeBag(der, [])));
  const certs = await pbes2Encrypt(certContents, password, iterations);
  const certInfo = sequence(
    oid(OID.encryptedData),
    explicit(
      0,
      // EncryptedData { version 0, EncryptedContentInfo { id-data, algorithm, [0] IMPLICIT OCTET STRING } }
      sequence(integer(0), sequence(oid(OID.data), certs.algorithm, implicit(0, certs.ciphertext))),
    ),
  );

  // Private key: PKCS#8 (RFC 5208) as EncryptedPrivateKeyInfo (RFC 5958 §3) in a ShroudedKeyBag.
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", privateKey));
  const shrouded = await pbes2Encrypt(pkcs8, password, iterations);
  pkcs8.fill(0);
  const keyBag = sequence(
    oid(OID.pkcs8ShroudedKeyBag),
    explicit(0, sequence(shrouded.algorithm, octetString(shrouded.ciphertext))),
    setOf(...attributes),
  );
  const keyInfo = sequence(oid(OID.data), explicit(0, octetString(sequence(keyBag))));

  // RFC 7292 §4.1: AuthenticatedSafe ::= SEQUENCE OF ContentInfo; the MAC covers its DER.
  const authenticatedSafe = sequence(certInfo, keyInfo);
  const macSalt = random(SALT_BYTES);
  const macKey = await pkcs12Kdf({
    password: kdfPassword(passphrase), // RFC 7292 Appendix B.1: BMPString + 0x0000
    salt: macSalt,
    id: KDF_ID.mac,
    iterations: macIterations,
    length: 32, // HMAC-SHA-256 key: the digest length (RFC 7292 Appendix B.4)
  });
  const hmacKey = await crypto.subtle.importKey("raw", macKey, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, authenticatedSafe));
  // RFC 7292 §4: MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER }
  const macData = sequence(
    sequence(sequence(oid(OID.sha256), nullValue()), octetString(mac)),
    octetString(macSalt),
    integer(macIterations),
  );
  // RFC 7292 §4: PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData }
  return sequence(integer(3), sequence(oid(OID.data), explicit(0, octetString(authenticatedSafe))), macData);
}
