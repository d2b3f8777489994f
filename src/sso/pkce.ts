/**
 * PKCE (RFC 7636), required of every client and only with S256: `plain` offers nothing
 * against a leaked authorization request (RFC 9700 §2.1.1), so it is refused, as is a
 * request without a challenge and a token request with a verifier but no challenge behind it.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** RFC 7636 §4.1: 43–128 unreserved characters. */
export const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters. */
export const CODE_CHALLENGE_S256 = /^[A-Za-z0-9_-]{43}$/;

export const s256 = (verifier: string): string => createHash("sha256").update(verifier).digest("base64url");

/** RFC 7636 §4.6. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(s256(verifier));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
