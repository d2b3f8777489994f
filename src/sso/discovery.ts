/**
 * OpenID Connect Discovery 1.0 §3 (and RFC 8414) metadata, with the RFC 8705 §5 mTLS
 * endpoint aliases when the mTLS listener is on.
 */

import { ASSERTION_ALGORITHMS } from "./client-authentication.js";
import type { JwsAlgorithm } from "./jws.js";
import { CLAIMS_SUPPORTED, SCOPES } from "./scopes.js";
import { ACR } from "./sessions.js";

export const ENDPOINTS = {
  authorization: "/oauth/authorize",
  token: "/oauth/token",
  userinfo: "/oauth/userinfo",
  introspection: "/oauth/introspect",
  revocation: "/oauth/revoke",
  endSession: "/oauth/logout",
  jwks: "/oauth/jwks",
} as const;

export function discoveryDocument(issuer: string, mtlsBaseUrl: string | undefined, algorithm: JwsAlgorithm) {
  const authMethods = ["client_secret_basic", "private_key_jwt", ...(mtlsBaseUrl ? ["tls_client_auth"] : [])];
  return {
    issuer,
    authorization_endpoint: `${issuer}${ENDPOINTS.authorization}`,
    token_endpoint: `${issuer}${ENDPOINTS.token}`,
    userinfo_endpoint: `${issuer}${ENDPOINTS.userinfo}`,
    jwks_uri: `${issuer}${ENDPOINTS.jwks}`,
    introspection_endpoint: `${issuer}${ENDPOINTS.introspection}`,
    revocation_endpoint: `${issuer}${ENDPOINTS.revocation}`,
    end_session_endpoint: `${issuer}${ENDPOINTS.endSession}`,
    scopes_supported: [...SCOPES],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [algorithm],
    userinfo_signing_alg_values_supported: [],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: authMethods,
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    claims_supported: [
      "sub",
      "iss",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "nonce",
      "acr",
      "amr",
      "sid",
      ...CLAIMS_SUPPORTED,
    ],
    acr_values_supported: Object.values(ACR),
    prompt_values_supported: ["none", "login", "consent", "select_account"],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true, // RFC 9207 §3
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    tls_client_certificate_bound_access_tokens: mtlsBaseUrl !== undefined, // RFC 8705 §3.3
    ...(mtlsBaseUrl
      ? {
          mtls_endpoint_aliases: {
            token_endpoint: `${mtlsBaseUrl}${ENDPOINTS.token}`,
            userinfo_endpoint: `${mtlsBaseUrl}${ENDPOINTS.userinfo}`,
            introspection_endpoint: `${mtlsBaseUrl}${ENDPOINTS.introspection}`,
            revocation_endpoint: `${mtlsBaseUrl}${ENDPOINTS.revocation}`,
          },
        }
      : {}),
  };
}
