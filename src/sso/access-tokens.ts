/**
 * Deciding whether a presented token is live, for introspection (RFC 7662), userinfo
 * (OpenID Connect Core §5.3), revocation (RFC 7009) and the admin API. An access token is
 * live when it verifies (ours, unexpired), its client is still enabled and nothing it rests
 * on was revoked: itself, its grant, its session. A refresh token is live when it is unspent,
 * unexpired and its grant and session are. Access tokens are checked from memory; refresh
 * tokens are rare here and read from the database.
 */
import type { Database } from "../../db/database.js";
import { findRefreshToken, type GrantRow } from "../../db/stores/oauth-grants.js";
import { getSession } from "../../db/stores/sso-sessions.js";
import type { Clock } from "../clock.js";
import type { ClientRegistry } from "./clients.js";
import { hashSecret } from "./secrets.js";
import type { TokenState } from "./token-state.js";
import type { TokenVerifier } from "./token-verifier.js";
import { type AccessTokenClaims, grantIdOf } from "./tokens.js";

const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export type LiveToken =
  | { readonly kind: "access_token"; readonly claims: AccessTokenClaims }
  | {
      readonly kind: "refresh_token";
      readonly grant: GrantRow;
      readonly expiresAt: Date;
      readonly issuedAt: Date;
    };

export class AccessTokens {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly verifier: TokenVerifier,
    private readonly clients: ClientRegistry,
    private readonly state: TokenState,
  ) {}

  /** The claims of a live access token, or undefined. */
  async access(token: string): Promise<AccessTokenClaims | undefined> {
    const claims = await this.verifier.accessToken(token);
    if (!claims) return undefined;
    const client = await this.clients.get(claims.client_id);
    if (!client || client.disabled) return undefined;
    const revoked = await this.state.isRevoked({
      jti: claims.jti,
      grantId: grantIdOf(claims.jti),
      sessionId: claims.sid,
    });
    return revoked ? undefined : claims;
  }

  /** A live token of either kind (RFC 7662 §2.1: the hint only speeds up the search). */
  async live(token: string, hint?: string): Promise<LiveToken | undefined> {
    const looksRefresh = REFRESH_TOKEN.test(token);
    if (hint === "refresh_token" && looksRefresh) return this.refresh(token);
    const claims = looksRefresh ? undefined : await this.access(token);
    if (claims) return { kind: "access_token", claims };
    return looksRefresh ? this.refresh(token) : undefined;
  }

  private async refresh(token: string): Promise<LiveToken | undefined> {
    const found = await findRefreshToken(this.db, hashSecret("refresh-token", token));
    const now = this.clock.now().getTime();
    if (!found || found.used_at || found.expires_at.getTime() <= now || found.grant.revoked_at)
      return undefined;
    const session = found.grant.session_id ? await getSession(this.db, found.grant.session_id) : undefined;
    if (!session || session.ended_at || session.expires_at.getTime() <= now) return undefined;
    const client = await this.clients.get(found.grant.client_id);
    if (!client || client.disabled) return undefined;
    return {
      kind: "refresh_token",
      grant: found.grant,
      expiresAt: found.expires_at,
      issuedAt: found.created_at,
    };
  }
}
