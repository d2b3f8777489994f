/**
 * Password hashing: argon2id (RFC 9106) with the OWASP Password Storage Cheat Sheet's
 * parameters, m = 19 MiB, t = 2, p = 1, stored as a PHC string (salt and parameters inside).
 * Length rules follow NIST SP 800-63B §5.1.1.2: at least 12 characters, no composition rules,
 * a generous maximum (1024) that still bounds the work an attacker can send.
 */
import { type Algorithm, hash, verify } from "@node-rs/argon2";
import { badRequest } from "../errors.js";

const ARGON2ID = 2 as Algorithm; // Algorithm.Argon2id (a const enum, which isolatedModules cannot read)

const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

/** NIST SP 800-63B §5.1.1.2: Unicode normalization (NFKC) before hashing, so "é" typed either way matches. */
const normalize = (password: string): string => password.normalize("NFKC");

/** Throws 400 password-too-short / password-too-long; counts Unicode characters, not UTF-16 units. */
export function checkPassword(password: string): void {
  const length = [...normalize(password)].length;
  if (length < PASSWORD_MIN_LENGTH)
    throw badRequest(
      "password-too-short",
      `the password has ${length} characters; it needs at least ${PASSWORD_MIN_LENGTH}`,
    );
  if (length > PASSWORD_MAX_LENGTH)
    throw badRequest("password-too-long", `the password may have at most ${PASSWORD_MAX_LENGTH} characters`);
}

export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  return hash(normalize(password), OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/**
 * Whether `password` matches `stored`. With no stored hash (unknown user, no password set) it
 * verifies against a dummy hash of the same cost and answers false, so the time taken does not
 * tell which employee numbers exist. Over-long input is refused without hashing.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  dummyHash ??= hash("not a password: equalizes the timing of unknown users", OPTIONS);
  const candidate = password.length > PASSWORD_MAX_LENGTH * 2 ? "" : normalize(password);
  const matches = await verify(stored ?? (await dummyHash), candidate).catch(() => false);
  return stored !== null && matches;
}
