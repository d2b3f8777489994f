/**
 * Password-based encryption, PBES2 (RFC 8018 §6.2) with PBKDF2-HMAC-SHA256 (§5.2, Appendix
 * B.1.2) and AES-256-CBC (RFC 3565 §4.1; RFC 8018 Appendix B.2.5): the scheme of the sealed
 * server-generated key (PKCS#8 EncryptedPrivateKeyInfo, RFC 5958 §3) and of the PKCS#12 bags.
 * The key derivation runs on the libuv pool (crypto.pbkdf2 with a callback), off the event loop.
 */
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { type Der, integer, nullValue, octetString, oid, sequence } from "../pki/der.js";
import {
  DerError,
  decode,
  readOctetString,
  readOid,
  readSmallInteger,
  sequenceOf,
} from "../pki/der-reader.js";
import { OID } from "../pki/oids.js";

const derive = promisify(pbkdf2);

/** OWASP's 2023 figure for PBKDF2-HMAC-SHA256: about 0.1 s of one core here. */
export const PBKDF2_ITERATIONS = 600_000;
const SALT_BYTES = 16;
const KEY_BYTES = 32; // AES-256
const IV_BYTES = 16;

export class WrongPassphraseError extends Error {
  override readonly name = "WrongPassphraseError";
}

/** The passphrase's bytes: UTF-8, as RFC 8018 §3 recommends and RFC 9579 §3 settles for PKCS#12. */
const passphraseBytes = (passphrase: string): Buffer => Buffer.from(passphrase.normalize("NFC"), "utf8");

/** Encrypts under the passphrase; answers the PBES2 AlgorithmIdentifier and the ciphertext. */
export async function pbes2Encrypt(
  passphrase: string,
  plaintext: Buffer,
  iterations = PBKDF2_ITERATIONS,
): Promise<{ algorithm: Der; ciphertext: Buffer }> {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const key = await derive(passphraseBytes(passphrase), salt, iterations, KEY_BYTES, "sha256");
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  key.fill(0);
  const algorithm = sequence(
    oid(OID.pbes2),
    sequence(
      // RFC 8018 Appendix A.2: PBKDF2-params { salt, iterationCount, keyLength, prf }.
      sequence(
        oid(OID.pbkdf2),
        sequence(
          octetString(salt),
          integer(iterations),
          integer(KEY_BYTES),
          sequence(oid(OID.hmacWithSHA256), nullValue),
        ),
      ),
      sequence(oid(OID.aes256Cbc), octetString(iv)), // RFC 3565 §4.1: the IV is the parameter
    ),
  );
  return { algorithm, ciphertext };
}

/** Decrypts what `pbes2Encrypt` made (only that scheme); a wrong passphrase is a WrongPassphraseError. */
export async function pbes2Decrypt(passphrase: string, algorithm: Der, ciphertext: Buffer): Promise<Buffer> {
  const [scheme, params] = sequenceOf(decode(algorithm), "encryptionAlgorithm", 2, 2);
  if (readOid(scheme, "encryption scheme") !== OID.pbes2) throw new DerError("not PBES2");
  const [kdf, encryption] = sequenceOf(params, "PBES2-params", 2, 2);
  const [kdfId, kdfParams] = sequenceOf(kdf, "keyDerivationFunc", 2, 2);
  if (readOid(kdfId, "key derivation function") !== OID.pbkdf2) throw new DerError("not PBKDF2");
  const [salt, count, length, prf] = sequenceOf(kdfParams, "PBKDF2-params", 4, 4);
  if (readOid(sequenceOf(prf, "prf", 2, 2)[0], "prf") !== OID.hmacWithSHA256)
    throw new DerError("PRF is not HMAC-SHA256");
  if (readSmallInteger(length, "keyLength") !== KEY_BYTES) throw new DerError("keyLength is not 32");
  const [cipherId, iv] = sequenceOf(encryption, "encryptionScheme", 2, 2);
  if (readOid(cipherId, "encryption scheme") !== OID.aes256Cbc) throw new DerError("not AES-256-CBC");
  const key = await derive(
    passphraseBytes(passphrase),
    readOctetString(salt, "salt"),
    readSmallInteger(count, "iterationCount"),
    KEY_BYTES,
    "sha256",
  );
  try {
    const decipher = createDecipheriv("aes-256-cbc", key, readOctetString(iv, "iv"));
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // A wrong key almost always breaks the PKCS#7 padding (RFC 8018 §6.2.2 step 5); the
    // caller also checks the plaintext's structure for the remaining 1 in 256.
    throw new WrongPassphraseError("the passphrase does not decrypt this key");
  } finally {
    key.fill(0);
  }
}
