/**
 * The PKCS#12 key derivation function (RFC 7292 Appendix B.2), which the PFX integrity MAC
 * still requires (RFC 7292 §5.1: MacData). WebCrypto has no such KDF, so it is built here
 * on `crypto.subtle.digest`. PBES2 encryption does not use it (that is PBKDF2, RFC 8018).
 */
import { bmpBytes, concat } from "./der.js";

/** u = digest length, v = block length, in bytes (RFC 7292 Appendix B.2). */
const HASHES = { "SHA-256": { u: 32, v: 64 } };

/** Diversifier ID (RFC 7292 Appendix B.3). */
export const KDF_ID = { key: 1, iv: 2, mac: 3 };

/**
 * The password as the KDF takes it: BMPString, big-endian, with two zero octets at the end
 * (RFC 7292 Appendix B.1).
 * @param {string} passphrase
 */
export const kdfPassword = (passphrase) => concat(bmpBytes(passphrase), Uint8Array.of(0, 0));

/**
 * `bytes` repeated to fill v·⌈length/v⌉ octets (RFC 7292 Appendix B.2 steps 2 and 3).
 * @param {Uint8Array} bytes
 * @param {number} v
 * @returns {Uint8Array<ArrayBuffer>}
 */
function fill(bytes, v) {
  const out = new Uint8Array(v * Math.ceil(bytes.length / v));
  for (let i = 0; i < out.length; i++) out[i] = bytes[i % bytes.length] ?? 0;
  return out;
}

/**
 * @param {{ password: Uint8Array, salt: Uint8Array, id: number, iterations: number, length: number, hash?: "SHA-256" }} input
 *   `password` already in its BMPString form (see `kdfPassword`)
 * @returns {Promise<Uint8Array<ArrayBuffer>>} `length` derived octets
 */
export async function pkcs12Kdf({ password, salt, id, iterations, length, hash = "SHA-256" }) {
  const { u, v } = HASHES[hash];
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError("iterations must be ≥ 1");
  const diversifier = new Uint8Array(v).fill(id); // step 1: D
  const input = concat(fill(salt, v), fill(password, v)); // steps 2-4: I = S ‖ P
  const blocks = Math.ceil(length / u); // step 5: c
  const out = new Uint8Array(blocks * u);
  for (let i = 0; i < blocks; i++) {
    // step 6a: A_i = H^r(D ‖ I)
    let a = new Uint8Array(await crypto.subtle.digest(hash, concat(diversifier, input)));
    for (let r = 1; r < iterations; r++) a = new Uint8Array(await crypto.subtle.digest(hash, a));
    out.set(a, i * u);
    if (i === blocks - 1) break;
    // steps 6b-6c: B = A_i repeated to v octets; each v-octet block I_j ← (I_j + B + 1) mod 2^(8v)
    const b = fill(a, v);
    for (let j = 0; j < input.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        carry += (input[j + k] ?? 0) + (b[k] ?? 0);
        input[j + k] = carry & 0xff;
        carry >>= 8;
      }
    }
  }
  return out.subarray(0, length); // step 7
}
