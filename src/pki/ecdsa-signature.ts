/**
 * ECDSA signature forms: the key store returns r‖s (IEEE P1363, what PKCS#11 CKM_ECDSA and
 * JWS use); X.509 wants Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 §2.2 / RFC 3279 §2.2.3).
 */
import { sequence, unsignedInteger } from "./der.js";

export function rawToDerSignature(raw: Uint8Array): Buffer {
  if (raw.length % 2 !== 0 || raw.length === 0)
    throw new RangeError("raw ECDSA signature must have an even length");
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}
