/**
 * A server-generated private key waiting for its holder: a PKCS#8 EncryptedPrivateKeyInfo
 * (RFC 5958 §3) under the requester's passphrase, PBES2 with PBKDF2-HMAC-SHA256 and
 * AES-256-CBC. The service never keeps the passphrase, so the stored bytes alone open nothing.
 *
 *   EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { octetString, sequence } from "../pki/der.js";
import { DerError, decode, readOctetString, sequenceOf } from "../pki/der-reader.js";
import { pbes2Decrypt, pbes2Encrypt, WrongPassphraseError } from "./password-encryption.js";

export async function sealPrivateKey(key: KeyObject, passphrase: string): Promise<Buffer> {
  const pkcs8 = key.export({ format: "der", type: "pkcs8" });
  try {
    const { algorithm, ciphertext } = await pbes2Encrypt(passphrase, pkcs8);
    return sequence(algorithm, octetString(ciphertext));
  } finally {
    pkcs8.fill(0);
  }
}

/** The key, or WrongPassphraseError. */
export async function openPrivateKey(sealed: Buffer, passphrase: string): Promise<KeyObject> {
  const [algorithm, data] = sequenceOf(decode(sealed), "EncryptedPrivateKeyInfo", 2, 2);
  const pkcs8 = await pbes2Decrypt(passphrase, algorithm!.encoded, readOctetString(data, "encryptedData"));
  try {
    return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  } catch (error) {
    // Padding that happened to be valid under a wrong key leaves bytes that are no PKCS#8.
    if (error instanceof DerError || (error as { code?: string }).code?.startsWith("ERR_"))
      throw new WrongPassphraseError("the passphrase does not decrypt this key");
    throw error;
  } finally {
    pkcs8.fill(0);
  }
}
