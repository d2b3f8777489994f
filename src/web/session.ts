/**
 * The portal's session lives in the browser, sealed: AES-256-GCM under a key from the key store
 * (src/identity/secret-seal.ts), so every node reads it and a database dump reveals nothing.
 * It holds the tokens our own provider issued to the portal client, and the CSRF token that
 * every form of the session carries back (OWASP synchronizer token). The cookie is HttpOnly,
 * SameSite=Lax (the OIDC callback arrives by a top-level redirect from the mTLS listener,
 * another "site" under schemeful same-site) and Secure on https.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { SecretSealer } from "../identity/secret-seal.js";

export const PORTAL_SESSION_COOKIE = "gca_portal";
export const PORTAL_LOGIN_COOKIE = "gca_portal_login";

export interface PortalSession {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string;
  /** When the access token expires, ms since the epoch. */
  readonly expiresAt: number;
  readonly subject: string;
  readonly csrf: string;
}

/** What the portal remembers between sending the browser to /authorize and its return. */
export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
  readonly expiresAt: number;
}

const SESSION_CONTEXT = "portal-session v1";
const LOGIN_CONTEXT = "portal-login v1";

export class PortalSeal {
  constructor(private readonly sealer: SecretSealer) {}

  sealSession(session: PortalSession): Promise<string> {
    return this.seal(session, SESSION_CONTEXT);
  }

  openSession(value: string | undefined): Promise<PortalSession | undefined> {
    return this.open<PortalSession>(value, SESSION_CONTEXT, (v) => typeof v.accessToken === "string");
  }

  sealLogin(login: PendingLogin): Promise<string> {
    return this.seal(login, LOGIN_CONTEXT);
  }

  async openLogin(value: string | undefined, now: number): Promise<PendingLogin | undefined> {
    const login = await this.open<PendingLogin>(value, LOGIN_CONTEXT, (v) => typeof v.state === "string");
    return login && login.expiresAt > now ? login : undefined;
  }

  private async seal(value: object, context: string): Promise<string> {
    return (await this.sealer.seal(Buffer.from(JSON.stringify(value)), context)).toString("base64url");
  }

  /** Undefined for anything that is not a value we sealed for this purpose (tampered, old, foreign). */
  private async open<T>(
    value: string | undefined,
    context: string,
    shape: (v: Record<string, unknown>) => boolean,
  ): Promise<T | undefined> {
    if (!value || value.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
    try {
      const parsed = JSON.parse(
        (await this.sealer.open(Buffer.from(value, "base64url"), context)).toString("utf8"),
      ) as Record<string, unknown>;
      return shape(parsed) ? (parsed as T) : undefined;
    } catch {
      return undefined;
    }
  }
}

export const newCsrfToken = (): string => randomBytes(24).toString("base64url");

export function csrfMatches(session: PortalSession, submitted: unknown): boolean {
  if (typeof submitted !== "string" || submitted.length !== session.csrf.length) return false;
  return timingSafeEqual(Buffer.from(submitted), Buffer.from(session.csrf));
}
