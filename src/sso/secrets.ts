/**
 * Secrets the provider hands out (client secrets, session cookies, codes, refresh tokens):
 * 256 bits from the CSPRNG, base64url. Only a keyed SHA-256 of each is stored: for a
 * high-entropy secret a slow hash adds nothing (RFC 9700 §2.4 leaves the method open), and
 * the key separates the purposes, so a hash of one kind never matches a secret of another.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { pooledRandomBytes } from "../pki/random-pool.js";

export type SecretPurpose = "client-secret" | "session" | "interaction" | "code" | "refresh-token";

export const newSecret = (bytes = 32): string => pooledRandomBytes(bytes).toString("base64url");

export const hashSecret = (purpose: SecretPurpose, secret: string): Buffer =>
  createHmac("sha256", `gov-ca sso ${purpose}`).update(secret).digest();

export function secretMatches(purpose: SecretPurpose, secret: string, hash: Buffer | null): boolean {
  if (hash?.length !== 32) return false;
  return timingSafeEqual(hashSecret(purpose, secret), hash);
}
