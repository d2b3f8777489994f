/**
 * PKCS#12 (RFC 7292) for a server-generated key: the key in a pkcs8ShroudedKeyBag and the
 * certificate chain in certBags, both encrypted with PBES2 (PBKDF2-HMAC-SHA256, 600,000
 * iterations, AES-256-CBC; RFC 8018, as OpenSSL 3 writes them), and an HMAC-SHA256 MAC whose
 * key comes from the PKCS#12 key derivation (RFC 7292 Appendix B.2) with SHA-256.
 *
 * node-forge's `toPkcs12Asn1` is not used to assemble the file: it takes RSA keys only, always
 * MACs with SHA-1, and leaves certificates unencrypted; and its PBKDF2 with an HMAC-SHA256 PRF
 * runs in JavaScript (it reaches node's native pbkdf2 only for a digest given by name, and its
 * PKCS#8 encryption passes a digest object). So the structures are written with our DER writer,
 * PBKDF2 and AES are node:crypto's (off the event loop), and forge supplies the Appendix B
 * key derivation for the MAC (`pkcs12.generateKey`), which node:crypto lacks.
 *
 *   PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import forge from "node-forge";
import {
  type Der,
  explicit,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  setOf,
  tlv,
} from "../pki/der.js";
import { OID } from "../pki/oids.js";
import { pbes2Encrypt } from "./password-encryption.js";

/**
 * Iterations of the MAC's key derivation (RFC 7292 Appendix B.2). forge computes it in
 * JavaScript on the event loop (about 4 µs an iteration here), so it stays far below the
 * PBKDF2 count: an offline guesser of the passphrase pays this many SHA-256 per guess.
 * OpenSSL 3 writes 2048.
 */
export const MAC_ITERATIONS = 10_000;
const MAC_SALT_BYTES = 16;

export interface Pkcs12Input {
  /** The private key, PKCS#8 DER (RFC 5958 §2). */
  readonly privateKey: Buffer;
  /** The leaf certificate first, then its issuers up to the root (DER). */
  readonly chain: readonly Buffer[];
  readonly passphrase: string;
  /** friendlyName (PKCS#9 §5.5.1) of the key and its certificate, as key stores show it. */
  readonly friendlyName: string;
}

/** A BMPString (X.680 §41: UCS-2 big-endian), the type of friendlyName. */
function bmpString(text: string): Der {
  const bytes = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) bytes.writeUInt16BE(text.charCodeAt(i), i * 2);
  return tlv(0x1e, bytes);
}

/** PKCS12Attribute ::= SEQUENCE { attrId, attrValues SET OF } (RFC 7292 §4.2). */
const attribute = (id: string, value: Der): Der => sequence(oid(id), setOf(value));

/** SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OF PKCS12Attribute OPTIONAL } */
const safeBag = (bagId: string, value: Der, attributes: readonly Der[]): Der =>
  sequence(oid(bagId), explicit(0, value), ...(attributes.length ? [setOf(...attributes)] : []));

/** ContentInfo of type data (RFC 5652 §4): the content as an OCTET STRING. */
const dataContent = (content: Der): Der => sequence(oid(OID.pkcs7Data), explicit(0, octetString(content)));

/** ContentInfo of type encryptedData (RFC 5652 §8), PBES2 under the passphrase. */
async function encryptedContent(passphrase: string, content: Der): Promise<Der> {
  const { algorithm, ciphertext } = await pbes2Encrypt(passphrase, content);
  const encryptedData = sequence(
    integer(0),
    sequence(oid(OID.pkcs7Data), algorithm, implicit(0, ciphertext)), // EncryptedContentInfo
  );
  return sequence(oid(OID.pkcs7EncryptedData), explicit(0, encryptedData));
}

/** MacData (RFC 7292 §4): HMAC-SHA256 with a key from Appendix B.2 (ID 3, the passphrase as BMPString). */
function macData(passphrase: string, authenticatedSafe: Der): Der {
  const salt = randomBytes(MAC_SALT_BYTES);
  const key = Buffer.from(
    forge.pkcs12
      .generateKey(
        passphrase,
        forge.util.createBuffer(salt.toString("binary")),
        3,
        MAC_ITERATIONS,
        32,
        forge.md.sha256.create(),
      )
      .getBytes(),
    "binary",
  );
  const mac = createHmac("sha256", key).update(authenticatedSafe).digest();
  key.fill(0);
  return sequence(
    sequence(sequence(oid(OID.sha256), nullValue), octetString(mac)), // DigestInfo
    octetString(salt),
    integer(MAC_ITERATIONS),
  );
}

export async function buildPkcs12(input: Pkcs12Input): Promise<Buffer> {
  const [leaf, ...issuers] = input.chain;
  if (!leaf) throw new Error("a PKCS#12 needs the certificate");
  // localKeyId (PKCS#9 §5.5.2) pairs the key with its certificate: the SHA-1 of the
  // certificate, as OpenSSL sets it (an identifier, not a security function).
  const pairing = [
    attribute(OID.friendlyName, bmpString(input.friendlyName)),
    attribute(OID.localKeyId, octetString(createHash("sha1").update(leaf).digest())),
  ];
  const certBag = (der: Buffer, attributes: readonly Der[]) =>
    safeBag(OID.certBag, sequence(oid(OID.x509Certificate), explicit(0, octetString(der))), attributes);
  const certificates = sequence(certBag(leaf, pairing), ...issuers.map((der) => certBag(der, [])));

  const { algorithm, ciphertext } = await pbes2Encrypt(input.passphrase, input.privateKey);
  const shroudedKey = sequence(algorithm, octetString(ciphertext)); // EncryptedPrivateKeyInfo
  const keys = sequence(safeBag(OID.pkcs8ShroudedKeyBag, shroudedKey, pairing));

  // AuthenticatedSafe ::= SEQUENCE OF ContentInfo: the certificates encrypted, the key shrouded.
  const authenticatedSafe = sequence(
    await encryptedContent(input.passphrase, certificates),
    dataContent(keys),
  );
  return sequence(integer(3), dataContent(authenticatedSafe), macData(input.passphrase, authenticatedSafe));
}
