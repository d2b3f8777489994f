/**
 * The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
 * §4.14.2): each use returns a new refresh token and spends the old one; a spent token
 * presented again, by an attacker or by a second concurrent request, revokes the whole
 * family (the grant), so whoever holds any token of it is cut off. Two concurrent refreshes
 * serialize on the token's row lock: the second one finds it spent.
 */
import {
  insertRefreshToken,
  lockRefreshToken,
  revokeGrants,
  useRefreshToken,
} from "../../../db/stores/oauth-grants.js";
import { getSession } from "../../../db/stores/sso-sessions.js";
import { appendAudit } from "../../audit/log.js";
import type { AuthenticatedClient } from "../client-authentication.js";
import { invalidGrant, invalidRequest, OAuthError } from "../oauth-error.js";
import { parseScope } from "../scopes.js";
import { hashSecret, newSecret } from "../secrets.js";
import { mintTokens } from "./authorization-code.js";
import { CommitThenFail, failAfterCommit, type GrantContext, type TokenResponse } from "./context.js";

const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export async function refresh(
  context: GrantContext,
  authenticated: AuthenticatedClient,
  request: { refreshToken: string | undefined; scope: string | undefined },
): Promise<TokenResponse> {
  const { client } = authenticated;
  if (!request.refreshToken) throw invalidRequest("refresh_token is missing");
  if (!REFRESH_TOKEN.test(request.refreshToken)) throw invalidGrant("the refresh token is not valid");
  const now = context.clock.now();
  const hash = hashSecret("refresh-token", request.refreshToken);
  const outcome = await context.state.revoking(async (tx, record) => {
    const token = await lockRefreshToken(tx, hash);
    if (!token) throw invalidGrant("the refresh token is not valid");
    const { grant } = token;
    if (grant.client_id !== client.id) throw invalidGrant("the refresh token was issued to another client");
    if (token.used_at) {
      const revoked = await revokeGrants(tx, { ids: [grant.id] }, now, "refresh-token-reuse");
      await appendAudit(tx, context.clock, [
        {
          actor: `client:${client.id}`,
          action: "sso.refresh.reuse",
          target: `principal:${grant.principal_id}`,
          outcome: "failure",
          details: { grant: grant.id, grantsRevoked: revoked.length },
        },
      ]);
      await record(revoked.map((row) => ({ kind: "grant" as const, id: row.id, expiresAt: row.expires_at })));
      return new CommitThenFail(
        invalidGrant(
          "the refresh token was already used; every token of its grant is revoked (RFC 9700 §4.14.2)",
        ),
      );
    }
    if (grant.revoked_at) throw invalidGrant("the grant of this refresh token has been revoked");
    if (token.expires_at.getTime() <= now.getTime()) throw invalidGrant("the refresh token has expired");
    const session = grant.session_id ? await getSession(tx, grant.session_id) : undefined;
    if (!session || session.ended_at || session.expires_at.getTime() <= now.getTime())
      throw invalidGrant("the session of this refresh token has ended");
    const granted = parseScope(grant.scope);
    const scope = request.scope === undefined ? granted : parseScope(request.scope);
    const extra = scope.filter((item) => !granted.includes(item));
    if (extra.length > 0)
      throw new OAuthError("invalid_scope", `scope ${extra.join(" ")} was not granted (RFC 6749 §6)`);
    await useRefreshToken(tx, hash, now);
    const next = newSecret();
    await insertRefreshToken(tx, {
      hash: hashSecret("refresh-token", next),
      grant_id: grant.id,
      created_at: now,
      expires_at: new Date(Math.min(session.expires_at.getTime(), now.getTime() + context.refreshTokenMs)),
    });
    await appendAudit(tx, context.clock, [
      {
        actor: `client:${client.id}`,
        action: "sso.grant.refresh",
        target: `principal:${grant.principal_id}`,
        details: { grant: grant.id },
      },
    ]);
    return { grant, session, scope, next };
  });
  const { grant, session, scope, next } = failAfterCommit(outcome);
  return mintTokens(context, {
    clientId: client.id,
    audience: client.audience,
    principalId: grant.principal_id,
    scope,
    grantId: grant.id,
    authentication: {
      sessionId: session.id,
      authTime: session.auth_time,
      acr: session.acr,
      amr: session.amr,
    },
    x5t: authenticated.certificate?.x5tS256 ?? grant.cnf_x5t,
    nonce: null,
    refreshToken: next,
  });
}
