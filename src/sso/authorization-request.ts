/**
 * Validating an authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1), as an
 * ordered list of checks. Until the client and its redirect_uri are established, an error
 * is shown to the user and never redirected (RFC 6749 §4.1.2.1: no open redirector); after
 * that, errors go back to the client with `state` and `iss`.
 */
import type { Client, ClientRegistry } from "./clients.js";
import { OAuthError, type OAuthErrorCode } from "./oauth-error.js";
import { CODE_CHALLENGE_S256 } from "./pkce.js";
import { redirectUriMatches } from "./redirect-uri.js";
import { parseScope } from "./scopes.js";

export const PROMPTS = ["none", "login", "consent", "select_account"] as const;
export type Prompt = (typeof PROMPTS)[number];

export interface AuthorizationRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: readonly string[];
  readonly state: string | undefined;
  readonly nonce: string | undefined;
  readonly codeChallenge: string;
  readonly prompt: readonly Prompt[];
  readonly maxAge: number | undefined;
}

/** An error shown on our own page: the redirect_uri cannot be trusted. */
export class AuthorizationPageError extends Error {
  override readonly name = "AuthorizationPageError";
}

/** An error returned to the client's redirect_uri (RFC 6749 §4.1.2.1). */
export class AuthorizationRedirectError extends OAuthError {
  constructor(
    error: OAuthErrorCode,
    description: string,
    readonly redirectUri: string,
    readonly state: string | undefined,
  ) {
    super(error, description);
  }
}

type Params = Readonly<Record<string, string | undefined>>;

const MAX_PARAMETER = 2048;

export async function validateAuthorizationRequest(
  clients: ClientRegistry,
  params: Params,
): Promise<{ client: Client; request: AuthorizationRequest }> {
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value.length > MAX_PARAMETER)
      throw new AuthorizationPageError(`the ${name} parameter is longer than ${MAX_PARAMETER} characters`);
  // Step 1: the client.
  const clientId = params.client_id;
  if (!clientId) throw new AuthorizationPageError("client_id is missing");
  const client = await clients.get(clientId);
  if (!client) throw new AuthorizationPageError(`there is no client "${clientId.slice(0, 64)}"`);
  if (client.disabled) throw new AuthorizationPageError(`client "${client.id}" is disabled`);
  // Step 2: its redirect URI, compared exactly (RFC 9700 §4.1.3; loopback ports: RFC 8252 §7.3).
  const redirectUri = params.redirect_uri;
  if (!redirectUri)
    throw new AuthorizationPageError("redirect_uri is missing (OpenID Connect Core §3.1.2.1)");
  if (!redirectUriMatches(client.redirectUris, redirectUri))
    throw new AuthorizationPageError(`redirect_uri is not registered for client "${client.id}"`);
  // From here on, errors are redirected to the client.
  const state = params.state;
  const fail = (error: OAuthErrorCode, description: string): never => {
    throw new AuthorizationRedirectError(error, description, redirectUri, state);
  };
  // Step 3: only the code flow.
  if (params.request !== undefined) fail("invalid_request", "request objects are not supported");
  if (params.request_uri !== undefined) fail("invalid_request", "request_uri is not supported");
  if (params.response_type !== "code")
    fail("unsupported_response_type", "only response_type=code is supported (RFC 9700 §2.1.2)");
  if (params.response_mode !== undefined && params.response_mode !== "query")
    fail("invalid_request", "only response_mode=query is supported");
  if (!client.grantTypes.includes("authorization_code"))
    fail("unauthorized_client", `client "${client.id}" may not use the authorization code grant`);
  // Step 4: scopes the client may ask for.
  const scope = parseScope(params.scope);
  const refused = scope.filter((item) => !client.scopes.includes(item));
  if (refused.length > 0)
    fail("invalid_scope", `client "${client.id}" may not request scope ${refused.join(" ")}`);
  // Step 5: PKCE, S256 only, for every client (RFC 7636, RFC 9700 §2.1.1).
  if (!params.code_challenge) fail("invalid_request", "code_challenge is required (PKCE, RFC 7636)");
  if (params.code_challenge_method !== "S256")
    fail(
      "invalid_request",
      params.code_challenge_method === undefined || params.code_challenge_method === "plain"
        ? "code_challenge_method must be S256: plain is not accepted (RFC 9700 §2.1.1)"
        : `code_challenge_method ${params.code_challenge_method} is not supported; use S256`,
    );
  if (!CODE_CHALLENGE_S256.test(params.code_challenge!))
    fail(
      "invalid_request",
      "code_challenge must be the 43-character BASE64URL(SHA-256(verifier)) (RFC 7636 §4.2)",
    );
  // Step 6: prompt and max_age (OpenID Connect Core §3.1.2.1).
  const prompt = parseScope(params.prompt) as Prompt[];
  for (const value of prompt)
    if (!PROMPTS.includes(value)) fail("invalid_request", `prompt value "${value}" is not supported`);
  if (prompt.includes("none") && prompt.length > 1)
    fail("invalid_request", "prompt=none cannot be combined with other values");
  let maxAge: number | undefined;
  if (params.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(params.max_age)) fail("invalid_request", "max_age must be a non-negative integer");
    maxAge = Number(params.max_age);
  }
  return {
    client,
    request: {
      clientId: client.id,
      redirectUri,
      scope,
      state,
      nonce: params.nonce,
      codeChallenge: params.code_challenge!,
      prompt,
      maxAge,
    },
  };
}
