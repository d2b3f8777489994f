/**
 * The portal is an ordinary relying party of our own provider (OpenID Connect Core §3.1,
 * authorization code + PKCE), registered as the first-party client `gca-portal`. It
 * authenticates with private_key_jwt (RFC 7523 §2.2) under a key that stays in the key store,
 * so no client secret exists anywhere. It talks to the token endpoint in-process through
 * Fastify's inject: the same route, the same checks, no network hop.
 */
import { createHash, createPublicKey, randomBytes, randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { calculateJwkThumbprint, decodeJwt, type JWK } from "jose";
import type { KeyInfo, KeyStore } from "../../hsm-adapters/key-store.js";
import { systemActor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { ENDPOINTS } from "../sso/discovery.js";
import { type SigningKey, signJwt } from "../sso/jws.js";
import type { OpenIdProvider } from "../sso/provider.js";

export const PORTAL_CLIENT_ID = "gca-portal";
const KEY_LABEL = "portal-client";
const ASSERTION_LIFETIME_S = 60;
const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export const PORTAL_PATHS = {
  callback: "/portal/callback",
  loggedOut: "/portal/logged-out",
} as const;

export interface PortalTokens {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  readonly expiresAt: number;
}

export class PortalTokenError extends Error {
  override readonly name = "PortalTokenError";
}

export class PortalClient {
  private signingKey: SigningKey | undefined;

  constructor(
    private readonly provider: OpenIdProvider,
    private readonly keyStore: KeyStore,
    private readonly clock: Clock,
  ) {}

  private get issuer(): string {
    return this.provider.options.issuer;
  }

  /**
   * Makes sure the key and the client registration exist and name this deployment's URLs
   * (created on first start; brought up to date when CA_PUBLIC_URL changed). Idempotent, and
   * safe when several nodes start at once.
   */
  async register(): Promise<void> {
    const info = await this.key();
    const jwk = publicJwk(info);
    const kid = await calculateJwkThumbprint(jwk); // RFC 7638
    this.signingKey = { kid, alg: "ES256", label: KEY_LABEL };
    await this.provider.clients.ensure(systemActor, {
      id: PORTAL_CLIENT_ID,
      name: "Certification centre portal",
      authMethod: "private_key_jwt",
      jwks: { keys: [{ ...jwk, kid, alg: "ES256", use: "sig" }] },
      redirectUris: [`${this.issuer}${PORTAL_PATHS.callback}`],
      postLogoutRedirectUris: [`${this.issuer}${PORTAL_PATHS.loggedOut}`],
      grantTypes: ["authorization_code", "refresh_token"],
      scopes: ["openid", "profile", "offline_access"],
      audience: [this.issuer], // the admin API accepts tokens whose aud names the issuer
      firstParty: true,
    });
  }

  private async key(): Promise<KeyInfo> {
    const existing = await this.keyStore.getKey({ label: KEY_LABEL });
    if (existing) return existing;
    try {
      return await this.keyStore.generateKey({ label: KEY_LABEL, algorithm: "ecdsa-p256" });
    } catch (error) {
      const raced = await this.keyStore.getKey({ label: KEY_LABEL }); // another node made it first
      if (raced) return raced;
      throw error;
    }
  }

  /** The authorization request (PKCE S256, RFC 7636 §4.2) and what the callback must check. */
  authorizationRequest(returnTo: string) {
    const state = randomBytes(24).toString("base64url");
    const nonce = randomBytes(24).toString("base64url");
    const codeVerifier = randomBytes(32).toString("base64url");
    const params = new URLSearchParams({
      response_type: "code",
      client_id: PORTAL_CLIENT_ID,
      redirect_uri: `${this.issuer}${PORTAL_PATHS.callback}`,
      scope: "openid profile offline_access",
      state,
      nonce,
      code_challenge: createHash("sha256").update(codeVerifier).digest("base64url"),
      code_challenge_method: "S256",
    });
    return {
      url: `${ENDPOINTS.authorization}?${params}`,
      login: { state, nonce, codeVerifier, returnTo, expiresAt: this.clock.now().getTime() + 600_000 },
    };
  }

  async exchangeCode(app: FastifyInstance, code: string, codeVerifier: string, nonce: string) {
    const tokens = await this.tokenRequest(app, {
      grant_type: "authorization_code",
      code,
      redirect_uri: `${this.issuer}${PORTAL_PATHS.callback}`,
      code_verifier: codeVerifier,
    });
    if (!tokens.idToken) throw new PortalTokenError("the token response has no id_token");
    // OpenID Connect Core §3.1.3.7: the ID token came straight from our own token endpoint
    // (item 6 lets the channel stand in for the signature); its issuer, audience and nonce count.
    const claims = decodeJwt(tokens.idToken);
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== this.issuer || !audience.includes(PORTAL_CLIENT_ID) || claims.nonce !== nonce)
      throw new PortalTokenError("the ID token's issuer, audience or nonce is not this login's");
    if (typeof claims.sub !== "string") throw new PortalTokenError("the ID token has no sub");
    return { ...tokens, idToken: tokens.idToken, subject: claims.sub };
  }

  refresh(app: FastifyInstance, refreshToken: string): Promise<PortalTokens> {
    return this.tokenRequest(app, { grant_type: "refresh_token", refresh_token: refreshToken });
  }

  private async tokenRequest(app: FastifyInstance, grant: Record<string, string>): Promise<PortalTokens> {
    const response = await app.inject({
      method: "POST",
      url: ENDPOINTS.token,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({
        ...grant,
        client_id: PORTAL_CLIENT_ID,
        client_assertion_type: JWT_BEARER_ASSERTION,
        client_assertion: await this.assertion(),
      }).toString(),
    });
    const body = response.json() as Record<string, unknown>;
    if (response.statusCode !== 200 || typeof body.access_token !== "string")
      throw new PortalTokenError(`the token endpoint answered ${response.statusCode}: ${String(body.error)}`);
    return {
      accessToken: body.access_token,
      refreshToken: typeof body.refresh_token === "string" ? body.refresh_token : undefined,
      idToken: typeof body.id_token === "string" ? body.id_token : undefined,
      expiresAt: this.clock.now().getTime() + Number(body.expires_in ?? 0) * 1000,
    };
  }

  /** RFC 7523 §3: iss = sub = client_id, aud the token endpoint, short-lived, single-use jti. */
  private assertion(): Promise<string> {
    if (!this.signingKey) throw new PortalTokenError("the portal client is not registered yet");
    const now = Math.floor(this.clock.now().getTime() / 1000);
    return signJwt(this.keyStore, this.signingKey, "JWT", {
      iss: PORTAL_CLIENT_ID,
      sub: PORTAL_CLIENT_ID,
      aud: `${this.issuer}${ENDPOINTS.token}`,
      jti: randomUUID(),
      iat: now,
      exp: now + ASSERTION_LIFETIME_S,
    });
  }
}

function publicJwk(info: KeyInfo): JWK {
  const { kty, crv, x, y } = createPublicKey({
    key: Buffer.from(info.spki),
    format: "der",
    type: "spki",
  }).export({
    format: "jwk",
  });
  return { kty, crv, x, y } as JWK;
}
