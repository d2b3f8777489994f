/**
 * Token introspection (RFC 7662) for resource servers that prefer asking to validating JWTs.
 * Any registered, authenticated client may ask (a resource server is a client here); the
 * answer for anything not live is only `{ "active": false }` (§2.2), whatever the reason.
 */
import type { AccessTokens } from "./access-tokens.js";

export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, unknown>);

export async function introspect(
  tokens: AccessTokens,
  token: string,
  hint?: string,
): Promise<IntrospectionResponse> {
  const live = await tokens.live(token, hint);
  if (!live) return { active: false };
  if (live.kind === "access_token") return { active: true, token_type: "Bearer", ...live.claims };
  const { grant } = live;
  return {
    active: true,
    token_type: "refresh_token",
    client_id: grant.client_id,
    sub: grant.principal_id,
    scope: grant.scope,
    exp: Math.floor(live.expiresAt.getTime() / 1000),
    iat: Math.floor(live.issuedAt.getTime() / 1000),
    ...(grant.session_id ? { sid: grant.session_id } : {}),
  };
}
