/**
 * OAuth errors: the OAuth endpoints answer in RFC 6749 form (§4.1.2.1 in a redirect, §5.2 as
 * JSON from the token endpoint; RFC 6750 §3 in WWW-Authenticate for bearer tokens), not as
 * problem documents, because that is what every relying-party library reads.
 */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "invalid_scope"
  | "access_denied"
  | "invalid_token"
  | "insufficient_scope"
  | "login_required"
  | "consent_required"
  | "interaction_required"
  | "unsupported_token_type"
  | "server_error";

export class OAuthError extends Error {
  override readonly name = "OAuthError";
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    /** 400 unless the RFC says otherwise (401 for invalid_client with HTTP authentication, invalid_token). */
    readonly status = 400,
  ) {
    super(`${error}: ${description}`);
  }
}

export const invalidRequest = (description: string) => new OAuthError("invalid_request", description);
export const invalidGrant = (description: string) => new OAuthError("invalid_grant", description);
export const invalidClient = (description: string) => new OAuthError("invalid_client", description, 401);
export const invalidToken = (description: string) => new OAuthError("invalid_token", description, 401);
