/**
 * The UserInfo endpoint (OpenID Connect Core §5.3): a live access token with the `openid`
 * scope, issued for a user, gets the claims its scopes release. A certificate-bound token
 * is accepted only with that certificate (RFC 8705 §3). Errors follow RFC 6750 §3.1.
 */
import type { AccessTokens } from "./access-tokens.js";
import { invalidToken, OAuthError } from "./oauth-error.js";
import { parseScope } from "./scopes.js";
import { UserClaims } from "./user-claims.js";

export async function userinfo(
  tokens: AccessTokens,
  users: UserClaims,
  token: string,
  presentedX5t: string | undefined,
): Promise<Record<string, unknown>> {
  const claims = await tokens.access(token);
  if (!claims) throw invalidToken("the access token is not active");
  const bound = claims.cnf?.["x5t#S256"];
  if (bound !== undefined && bound !== presentedX5t)
    throw invalidToken(
      "the access token is bound to a client certificate that was not presented (RFC 8705 §3)",
    );
  const scope = parseScope(claims.scope);
  if (!scope.includes("openid") || !claims.sid)
    throw new OAuthError(
      "insufficient_scope",
      "the access token was not issued with the openid scope for a user",
      403,
    );
  const entry = await users.entry(claims.sub);
  if (!entry) throw invalidToken("the user is disabled or no longer exists");
  return { sub: claims.sub, ...UserClaims.forScopes(entry, scope) };
}
