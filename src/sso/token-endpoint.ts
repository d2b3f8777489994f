/** The token endpoint (RFC 6749 §3.2): authenticate the client, then the grant type's handler. */
import type { GrantType } from "../../db/stores/oidc-clients.js";
import type { AuthenticatedClient } from "./client-authentication.js";
import { exchangeCode } from "./grants/authorization-code.js";
import { clientCredentials } from "./grants/client-credentials.js";
import type { GrantContext, TokenResponse } from "./grants/context.js";
import { refresh } from "./grants/refresh-token.js";
import { invalidRequest, OAuthError } from "./oauth-error.js";

type Params = Readonly<Record<string, string | undefined>>;

const HANDLERS: Record<
  GrantType,
  (context: GrantContext, client: AuthenticatedClient, params: Params) => Promise<TokenResponse>
> = {
  authorization_code: (context, client, params) =>
    exchangeCode(context, client, {
      code: params.code,
      redirectUri: params.redirect_uri,
      codeVerifier: params.code_verifier,
    }),
  refresh_token: (context, client, params) =>
    refresh(context, client, { refreshToken: params.refresh_token, scope: params.scope }),
  client_credentials: (context, client, params) =>
    clientCredentials(context, client, { scope: params.scope }),
};

export function tokenRequest(
  context: GrantContext,
  client: AuthenticatedClient,
  params: Params,
): Promise<TokenResponse> {
  const grantType = params.grant_type;
  if (!grantType) throw invalidRequest("grant_type is missing");
  if (!Object.hasOwn(HANDLERS, grantType))
    throw new OAuthError("unsupported_grant_type", `grant_type ${grantType.slice(0, 64)} is not supported`);
  if (!client.client.grantTypes.includes(grantType as GrantType))
    throw new OAuthError(
      "unauthorized_client",
      `client "${client.client.id}" may not use the ${grantType} grant`,
    );
  return HANDLERS[grantType as GrantType](context, client, params);
}
