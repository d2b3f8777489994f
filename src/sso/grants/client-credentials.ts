/**
 * The client credentials grant (RFC 6749 §4.4) for service-to-service calls: the client acts
 * for itself (sub = client_id, RFC 9068 §2.2), gets no refresh token (§4.4.3) and no ID
 * token. Nothing is written: this path runs thousands of times a second.
 */
import type { AuthenticatedClient } from "../client-authentication.js";
import { OAuthError } from "../oauth-error.js";
import { parseScope, SCOPES } from "../scopes.js";
import type { GrantContext, TokenResponse } from "./context.js";

/** Scopes about a user make no sense without one. */
const USER_SCOPES: readonly string[] = SCOPES;

export async function clientCredentials(
  context: GrantContext,
  authenticated: AuthenticatedClient,
  request: { scope: string | undefined },
): Promise<TokenResponse> {
  const { client } = authenticated;
  const allowed = client.scopes.filter((scope) => !USER_SCOPES.includes(scope));
  const requested = request.scope === undefined ? allowed : parseScope(request.scope);
  const refused = requested.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0)
    throw new OAuthError("invalid_scope", `client "${client.id}" may not request scope ${refused.join(" ")}`);
  const { token, claims } = await context.minter.accessToken({
    subject: client.id,
    clientId: client.id,
    scope: requested,
    audience: client.audience,
    x5tS256: authenticated.certificate?.x5tS256,
  });
  return {
    access_token: token,
    token_type: "Bearer",
    expires_in: claims.exp - claims.iat,
    ...(requested.length > 0 ? { scope: requested.join(" ") } : {}),
  };
}
