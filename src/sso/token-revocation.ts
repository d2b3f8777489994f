/**
 * Token revocation (RFC 7009). A refresh token revokes its grant, and so every access token
 * minted under it (§2.1 allows it); an access token is revoked by itself until it expires.
 * The answer is 200 whether or not the token was known, live, or the client's (§2.2), so
 * the endpoint tells nobody which tokens exist.
 */
import type { Database } from "../../db/database.js";
import { insertRevokedToken, revokeGrants } from "../../db/stores/oauth-grants.js";
import { appendAudit } from "../audit/log.js";
import type { Clock } from "../clock.js";
import type { AccessTokens } from "./access-tokens.js";
import type { Client } from "./clients.js";
import type { Revoked, TokenState } from "./token-state.js";

export async function revokeToken(
  deps: { db: Database; clock: Clock; tokens: AccessTokens; state: TokenState },
  client: Client,
  token: string,
  hint?: string,
): Promise<void> {
  const live = await deps.tokens.live(token, hint);
  if (!live) return;
  const owner = live.kind === "access_token" ? live.claims.client_id : live.grant.client_id;
  if (owner !== client.id) return;
  const now = deps.clock.now();
  await deps.state.revoking(async (tx, record) => {
    let revoked: Revoked[];
    if (live.kind === "refresh_token") {
      const grants = await revokeGrants(tx, { ids: [live.grant.id] }, now, "revoked-by-client");
      revoked = grants.map((grant) => ({ kind: "grant", id: grant.id, expiresAt: grant.expires_at }));
    } else {
      const expiresAt = new Date(live.claims.exp * 1000);
      await insertRevokedToken(tx, live.claims.jti, expiresAt);
      revoked = [{ kind: "token", id: live.claims.jti, expiresAt }];
    }
    await appendAudit(tx, deps.clock, [
      {
        actor: `client:${client.id}`,
        action: "sso.token.revoke",
        target: `client:${client.id}`,
        details: { kind: live.kind, id: revoked[0]?.id },
      },
    ]);
    await record(revoked);
  });
}
