/**
 * The authorization code grant (RFC 6749 §4.1, OpenID Connect Core §3.1). Codes are 256-bit,
 * stored hashed, live 60 seconds, are bound to the client, the redirect_uri and the PKCE
 * challenge, and are single use: a code presented again revokes the grant (and so every
 * token) it produced (RFC 6749 §4.1.2, RFC 9700 §4.5.3).
 */
import { randomBytes } from "node:crypto";
import type { Queryable } from "../../../db/database.js";
import {
  insertCode,
  insertGrant,
  insertRefreshToken,
  lockCode,
  redeemCode,
  revokeGrants,
} from "../../../db/stores/oauth-grants.js";
import { addSessionClient, getSession } from "../../../db/stores/sso-sessions.js";
import { appendAudit } from "../../audit/log.js";
import type { AuthenticatedClient } from "../client-authentication.js";
import { invalidGrant, invalidRequest } from "../oauth-error.js";
import { CODE_VERIFIER, verifierMatches } from "../pkce.js";
import { parseScope } from "../scopes.js";
import { hashSecret, newSecret } from "../secrets.js";
import type { SsoSession } from "../sessions.js";
import type { Authentication } from "../tokens.js";
import { UserClaims } from "../user-claims.js";
import { CommitThenFail, failAfterCommit, type GrantContext, type TokenResponse } from "./context.js";

const CODE_LIFETIME_MS = 60_000;
const CODE = /^[A-Za-z0-9_-]{43}$/;

export interface CodeRequest {
  readonly clientId: string;
  readonly session: SsoSession;
  readonly redirectUri: string;
  readonly scope: readonly string[];
  readonly nonce: string | undefined;
  readonly codeChallenge: string;
}

/**
 * Issues a code for an authorized request in the caller's transaction; the client joins the
 * session (for back-channel logout).
 */
export async function issueCode(context: GrantContext, request: CodeRequest, tx: Queryable): Promise<string> {
  const code = newSecret();
  await insertCode(tx, {
    hash: hashSecret("code", code),
    client_id: request.clientId,
    session_id: request.session.sessionId,
    redirect_uri: request.redirectUri,
    scope: request.scope.join(" "),
    nonce: request.nonce ?? null,
    code_challenge: request.codeChallenge,
    expires_at: new Date(context.clock.now().getTime() + CODE_LIFETIME_MS),
  });
  await addSessionClient(tx, request.session.sessionId, request.clientId);
  return code;
}

export interface CodeExchange {
  readonly code: string | undefined;
  readonly redirectUri: string | undefined;
  readonly codeVerifier: string | undefined;
}

export async function exchangeCode(
  context: GrantContext,
  authenticated: AuthenticatedClient,
  exchange: CodeExchange,
): Promise<TokenResponse> {
  const { client } = authenticated;
  if (!exchange.code) throw invalidRequest("code is missing");
  if (!exchange.redirectUri) throw invalidRequest("redirect_uri is missing (RFC 6749 §4.1.3)");
  if (!exchange.codeVerifier)
    throw invalidRequest("code_verifier is missing: PKCE is required (RFC 7636 §4.5)");
  if (!CODE_VERIFIER.test(exchange.codeVerifier))
    throw invalidRequest("code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)");
  if (!CODE.test(exchange.code)) throw invalidGrant("the authorization code is not valid");
  const now = context.clock.now();
  const hash = hashSecret("code", exchange.code);
  const outcome = await context.state.revoking(async (tx, record) => {
    const code = await lockCode(tx, hash);
    if (!code) throw invalidGrant("the authorization code is not valid");
    if (code.client_id !== client.id)
      throw invalidGrant("the authorization code was issued to another client");
    if (code.redeemed_at) {
      // RFC 6749 §4.1.2: a replayed code revokes what it produced; this must commit.
      const revoked = code.grant_id
        ? await revokeGrants(tx, { ids: [code.grant_id] }, now, "code-replay")
        : [];
      await appendAudit(tx, context.clock, [
        {
          actor: `client:${client.id}`,
          action: "sso.code.replay",
          target: `client:${client.id}`,
          outcome: "failure",
          details: { grant: code.grant_id, grantsRevoked: revoked.length },
        },
      ]);
      await record(
        revoked.map((grant) => ({ kind: "grant" as const, id: grant.id, expiresAt: grant.expires_at })),
      );
      return new CommitThenFail(
        invalidGrant("the authorization code was already used; the tokens issued for it are revoked"),
      );
    }
    if (code.expires_at.getTime() <= now.getTime()) throw invalidGrant("the authorization code has expired");
    if (code.redirect_uri !== exchange.redirectUri)
      throw invalidGrant("redirect_uri differs from the authorization request's (RFC 6749 §4.1.3)");
    if (!verifierMatches(exchange.codeVerifier!, code.code_challenge))
      throw invalidGrant("code_verifier does not match the code_challenge (RFC 7636 §4.6)");
    const session = await getSession(tx, code.session_id);
    if (!session || session.ended_at || session.expires_at.getTime() <= now.getTime())
      throw invalidGrant("the session in which the code was issued has ended");
    const grantId = randomBytes(12).toString("base64url");
    const x5t = authenticated.certificate?.x5tS256 ?? null;
    await insertGrant(tx, {
      id: grantId,
      client_id: client.id,
      principal_id: session.principal_id,
      session_id: session.id,
      scope: code.scope,
      cnf_x5t: x5t,
      created_at: now,
      expires_at: session.expires_at,
    });
    await redeemCode(tx, hash, now, grantId);
    const refreshToken = client.grantTypes.includes("refresh_token") ? newSecret() : undefined;
    if (refreshToken)
      await insertRefreshToken(tx, {
        hash: hashSecret("refresh-token", refreshToken),
        grant_id: grantId,
        created_at: now,
        expires_at: new Date(Math.min(session.expires_at.getTime(), now.getTime() + context.refreshTokenMs)),
      });
    await appendAudit(tx, context.clock, [
      {
        actor: `client:${client.id}`,
        action: "sso.grant.create",
        target: `principal:${session.principal_id}`,
        details: { grant: grantId, client: client.id, session: session.id, scope: code.scope },
      },
    ]);
    return { code, session, grantId, refreshToken, x5t };
  });
  const { code, session, grantId, refreshToken, x5t } = failAfterCommit(outcome);
  const scope = parseScope(code.scope);
  const authentication: Authentication = {
    sessionId: session.id,
    authTime: session.auth_time,
    acr: session.acr,
    amr: session.amr,
  };
  return mintTokens(context, {
    clientId: client.id,
    audience: client.audience,
    principalId: session.principal_id,
    scope,
    grantId,
    authentication,
    x5t,
    nonce: code.nonce,
    refreshToken,
  });
}

/** The access token, and the ID token when `openid` was granted (OpenID Connect Core §3.1.3.3). */
export async function mintTokens(
  context: GrantContext,
  request: {
    clientId: string;
    audience: readonly string[];
    principalId: string;
    scope: readonly string[];
    grantId: string;
    authentication: Authentication;
    x5t: string | null;
    nonce: string | null;
    refreshToken: string | undefined;
  },
): Promise<TokenResponse> {
  const access = await context.minter.accessToken({
    subject: request.principalId,
    clientId: request.clientId,
    scope: request.scope,
    audience: request.audience,
    grantId: request.grantId,
    authentication: request.authentication,
    x5tS256: request.x5t,
  });
  let idToken: string | undefined;
  if (request.scope.includes("openid")) {
    const entry = await context.users.entry(request.principalId);
    if (!entry) throw invalidGrant("the user is disabled or no longer exists");
    idToken = await context.minter.idToken({
      subject: request.principalId,
      clientId: request.clientId,
      nonce: request.nonce,
      authentication: request.authentication,
      claims: UserClaims.forScopes(entry, request.scope),
    });
  }
  return {
    access_token: access.token,
    token_type: "Bearer",
    expires_in: access.claims.exp - access.claims.iat,
    scope: request.scope.join(" "),
    ...(request.refreshToken ? { refresh_token: request.refreshToken } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  };
}
