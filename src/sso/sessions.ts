/**
 * Single sign-on sessions. A session starts when a user logs in (certificate, or password +
 * one-time code) and covers every relying party until it ends: logout, expiry, or, through
 * the listeners wired in context.ts, the revocation or suspension of the certificate it
 * rested on or the disabling of the user. Ending a session revokes every grant made in it
 * (their access and refresh tokens become inactive on every node) and sends back-channel
 * logout tokens to the relying parties it reached; state change and audit record commit
 * together.
 *
 * The browser holds "<session id>.<secret>" in an HttpOnly cookie; the id alone (the `sid`
 * of ID tokens) is not enough to use a session. A new secret is set at every login, so a
 * cookie planted before login is worthless (session fixation).
 */
import type { Database, Queryable } from "../../db/database.js";
import { revokeGrants } from "../../db/stores/oauth-grants.js";
import {
  endSessions,
  getSession,
  insertSession,
  type SessionRow,
  type SessionSelector,
} from "../../db/stores/sso-sessions.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import type { BackchannelLogout } from "./backchannel-logout.js";
import { hashSecret, newSecret, secretMatches } from "./secrets.js";
import type { Revoked, TokenState } from "./token-state.js";
import type { Authentication } from "./tokens.js";

/** How a user proved who they are; acr values are this provider's (OpenID Connect Core §2). */
export type LoginMethod =
  | { readonly kind: "certificate"; readonly issuerId: string; readonly serial: string }
  | { readonly kind: "password-otp" };

export const ACR = {
  certificate: "urn:gov-ca:acr:x509",
  "password-otp": "urn:gov-ca:acr:pwd-otp",
} as const;

/** RFC 8176 authentication method references. */
const AMR = { certificate: ["x509"], "password-otp": ["pwd", "otp"] } as const;

export interface SsoSession extends Authentication {
  readonly principalId: string;
  readonly expiresAt: Date;
}

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

export class SsoSessions {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly state: TokenState,
    private readonly backchannel: BackchannelLogout,
    private readonly sessionMs: number,
  ) {}

  /**
   * Records a login; the cookie is set when the browser comes back to the provider (`cookieFor`).
   * `within` runs in the same transaction (the login's interaction takes the session there):
   * when it throws, neither the session nor its audit record is kept.
   */
  async start(
    actor: Actor,
    principalId: string,
    method: LoginMethod,
    within?: (tx: Queryable, session: SsoSession) => Promise<void>,
  ): Promise<SsoSession> {
    const now = this.clock.now();
    const row = {
      id: newSecret(16),
      secret_hash: hashSecret("session", newSecret()),
      principal_id: principalId,
      auth_time: now,
      amr: [...AMR[method.kind]],
      acr: ACR[method.kind],
      cert_issuer_id: method.kind === "certificate" ? method.issuerId : null,
      cert_serial: method.kind === "certificate" ? method.serial : null,
      expires_at: new Date(now.getTime() + this.sessionMs),
    };
    const session = toSession(row);
    await this.db.transaction(async (tx) => {
      await insertSession(tx, row);
      await within?.(tx, session);
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "sso.session.start",
          target: `principal:${principalId}`,
          details: {
            session: row.id,
            acr: row.acr,
            ...(method.kind === "certificate" ? { certificate: `${method.issuerId}/${method.serial}` } : {}),
          },
        },
      ]);
    });
    return session;
  }

  /** A fresh secret for the session's cookie: "<id>.<secret>" (in the caller's transaction, if any). */
  async cookieFor(sessionId: string, db: Queryable = this.db): Promise<string> {
    const secret = newSecret();
    await db.query("UPDATE sso_sessions SET secret_hash = $2 WHERE id = $1", [
      sessionId,
      hashSecret("session", secret),
    ]);
    return `${sessionId}.${secret}`;
  }

  /** The live session a cookie names, if its secret matches. */
  async fromCookie(cookie: string | undefined): Promise<SsoSession | undefined> {
    if (!cookie) return undefined;
    const [id, secret] = cookie.split(".");
    if (!id || !secret || !SESSION_ID.test(id)) return undefined;
    const row = await getSession(this.db, id);
    if (!row || !secretMatches("session", secret, row.secret_hash)) return undefined;
    return this.live(row);
  }

  /** A session by id if it is still live (for a code or refresh token made in it). */
  async get(id: string): Promise<SsoSession | undefined> {
    const row = await getSession(this.db, id);
    return row ? this.live(row) : undefined;
  }

  private live(row: SessionRow): SsoSession | undefined {
    if (row.ended_at || row.expires_at.getTime() <= this.clock.now().getTime()) return undefined;
    return toSession(row);
  }

  /**
   * Ends the live sessions selected, revokes their grants, tells every node, and sends the
   * back-channel logout tokens. Returns how many sessions ended.
   */
  async end(actor: Actor, selector: SessionSelector, reason: string): Promise<number> {
    const now = this.clock.now();
    const ended = await this.state.revoking(async (tx, record) => {
      const ended = await endSessions(tx, selector, now, reason);
      if (ended.length === 0) return ended;
      const grants = await revokeGrants(tx, { sessionIds: ended.map((session) => session.id) }, now, reason);
      await appendAudit(
        tx,
        this.clock,
        ended.map((session) => ({
          ...actor.audit,
          action: "sso.session.end",
          target: `principal:${session.principal_id}`,
          details: { session: session.id, reason, grantsRevoked: grants.length },
        })),
      );
      const revoked: Revoked[] = [
        ...ended.map((session) => ({
          kind: "session" as const,
          id: session.id,
          expiresAt: session.expires_at,
        })),
        ...grants.map((grant) => ({ kind: "grant" as const, id: grant.id, expiresAt: grant.expires_at })),
      ];
      await record(revoked);
      return ended;
    });
    void this.backchannel.notify(
      ended.map((session) => ({ id: session.id, subject: session.principal_id, clients: session.clients })),
    );
    return ended.length;
  }
}

const toSession = (row: Omit<SessionRow, "ended_at" | "end_reason" | "secret_hash">): SsoSession => ({
  sessionId: row.id,
  principalId: row.principal_id,
  authTime: row.auth_time,
  acr: row.acr,
  amr: row.amr,
  expiresAt: row.expires_at,
});
