/**
 * Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226), with the secret in base32
 * (RFC 4648 §6) and the otpauth URI that authenticator apps scan. The service uses SHA-1, 30 s
 * steps and 6 digits, what every authenticator app supports; the other hashes and lengths are
 * here for the RFC 6238 Appendix B test vectors.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type TotpHash = "sha1" | "sha256" | "sha512";

export interface TotpParameters {
  readonly hash: TotpHash;
  /** X, the time step in seconds (RFC 6238 §4.1). */
  readonly period: number;
  readonly digits: number;
}

export const TOTP_DEFAULTS: TotpParameters = { hash: "sha1", period: 30, digits: 6 };

/** Steps either side of now that a code may come from (RFC 6238 §5.2: at most one for transmission delay). */
export const TOTP_WINDOW = 1;

/** RFC 4226 §4 R6 wants at least 128 bits and recommends 160: the SHA-1 block-size key. */
export const TOTP_SECRET_BYTES = 20;

/** HOTP(K, C) = Truncate(HMAC(K, C)) mod 10^digits (RFC 4226 §5.3). */
export function hotp(secret: Uint8Array, counter: number, digits = 6, hash: TotpHash = "sha1"): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter)); // C: 8-byte big-endian counter (RFC 4226 §5.1)
  const mac = createHmac(hash, secret).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f; // dynamic truncation (RFC 4226 §5.3)
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** T = floor((Current Unix time − T0) / X), T0 = 0 (RFC 6238 §4.2). */
export const timeStep = (at: Date, period = TOTP_DEFAULTS.period): number =>
  Math.floor(at.getTime() / 1000 / period);

/** TOTP(K, T) = HOTP(K, T) (RFC 6238 §4.2). */
export const totp = (secret: Uint8Array, at: Date, parameters: TotpParameters = TOTP_DEFAULTS): string =>
  hotp(secret, timeStep(at, parameters.period), parameters.digits, parameters.hash);

/**
 * The time step whose code `code` is, within ±TOTP_WINDOW steps of `at` and after
 * `lastUsedStep` (RFC 6238 §5.2: a verifier must not accept the second attempt of an OTP after
 * the first succeeded); undefined when none matches. Every candidate is compared in constant time.
 */
export function matchTotp(
  secret: Uint8Array,
  code: string,
  at: Date,
  lastUsedStep: number | null,
  parameters: TotpParameters = TOTP_DEFAULTS,
): number | undefined {
  if (!/^[0-9]+$/.test(code) || code.length !== parameters.digits) return undefined;
  const now = timeStep(at, parameters.period);
  let matched: number | undefined;
  for (let step = now - TOTP_WINDOW; step <= now + TOTP_WINDOW; step++) {
    const expected = hotp(secret, step, parameters.digits, parameters.hash);
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(code)) && matched === undefined) matched = step;
  }
  return matched !== undefined && (lastUsedStep === null || matched > lastUsedStep) ? matched : undefined;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Base32 without padding (RFC 4648 §6; authenticator apps take it without "="). */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, "").toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`"${char}" is not a base32 character (RFC 4648 §6)`);
    value = ((value << 5) | index) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The Key Uri Format that authenticator apps scan: otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=… */
export function otpauthUri(issuer: string, account: string, secret: Uint8Array): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: TOTP_DEFAULTS.hash.toUpperCase(),
    digits: String(TOTP_DEFAULTS.digits),
    period: String(TOTP_DEFAULTS.period),
  });
  return `otpauth://totp/${label}?${query.toString().replaceAll("+", "%20")}`;
}
