/**
 * Minting the provider's JWTs, all signed through the KeyStore by the active signing key:
 * access tokens (RFC 9068), ID tokens (OpenID Connect Core §2) and logout tokens
 * (Back-Channel Logout 1.0 §2.4). Access tokens are not stored: a resource server validates
 * them with the JWKS, or asks introspection, which also knows whether they were revoked.
 * The `jti` of a token minted under a grant is "<grant id>.<random>", so introspection
 * finds the grant (and whether it was revoked) without a lookup table.
 */

import type { KeyStore } from "../../hsm-adapters/key-store.js";
import type { Clock } from "../clock.js";
import { pooledRandomBytes } from "../pki/random-pool.js";
import { signJwt } from "./jws.js";
import type { SigningKeys } from "./signing-keys.js";

export interface TokenLifetimes {
  readonly accessTokenMs: number;
  readonly idTokenMs: number;
}

/** How the user authenticated (OpenID Connect Core §2; RFC 8176 amr values). */
export interface Authentication {
  readonly authTime: Date;
  readonly acr: string;
  readonly amr: readonly string[];
  readonly sessionId: string;
}

export interface AccessTokenRequest {
  readonly subject: string;
  readonly clientId: string;
  readonly scope: readonly string[];
  readonly audience: readonly string[];
  readonly grantId?: string | undefined;
  readonly authentication?: Authentication | undefined;
  /** RFC 8705 §3.1: the base64url SHA-256 of the client certificate the token is bound to. */
  readonly x5tS256?: string | null | undefined;
}

export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | string[];
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  readonly scope?: string;
  readonly sid?: string;
  readonly auth_time?: number;
  readonly acr?: string;
  readonly amr?: string[];
  readonly cnf?: { "x5t#S256": string };
}

export const grantIdOf = (jti: string): string | undefined => {
  const dot = jti.indexOf(".");
  return dot > 0 ? jti.slice(0, dot) : undefined;
};

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

export class TokenMinter {
  constructor(
    private readonly keyStore: KeyStore,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    readonly issuer: string,
    readonly lifetimes: TokenLifetimes,
  ) {}

  /** RFC 9068 §2.2: typ at+jwt; aud is the resource (the client itself when none is configured). */
  async accessToken(request: AccessTokenRequest): Promise<{ token: string; claims: AccessTokenClaims }> {
    const iat = seconds(this.clock.now());
    const random = pooledRandomBytes(12).toString("base64url");
    const authentication = request.authentication;
    const audience = request.audience.length > 0 ? [...request.audience] : [request.clientId];
    const claims: AccessTokenClaims = {
      iss: this.issuer,
      sub: request.subject,
      aud: audience.length === 1 ? audience[0]! : audience,
      exp: iat + Math.floor(this.lifetimes.accessTokenMs / 1000),
      iat,
      jti: request.grantId ? `${request.grantId}.${random}` : random,
      client_id: request.clientId,
      ...(request.scope.length > 0 ? { scope: request.scope.join(" ") } : {}),
      ...(authentication
        ? {
            sid: authentication.sessionId,
            auth_time: seconds(authentication.authTime),
            acr: authentication.acr,
            amr: [...authentication.amr],
          }
        : {}),
      ...(request.x5tS256 ? { cnf: { "x5t#S256": request.x5tS256 } } : {}),
    };
    return { token: await signJwt(this.keyStore, this.keys.active(), "at+jwt", claims), claims };
  }

  /** OpenID Connect Core §2 and §3.1.3.6. */
  idToken(request: {
    subject: string;
    clientId: string;
    nonce?: string | null | undefined;
    authentication: Authentication;
    claims: Record<string, unknown>;
  }): Promise<string> {
    const iat = seconds(this.clock.now());
    const { authentication } = request;
    return signJwt(this.keyStore, this.keys.active(), "JWT", {
      ...request.claims,
      iss: this.issuer,
      sub: request.subject,
      aud: request.clientId,
      azp: request.clientId,
      exp: iat + Math.floor(this.lifetimes.idTokenMs / 1000),
      iat,
      auth_time: seconds(authentication.authTime),
      ...(request.nonce ? { nonce: request.nonce } : {}),
      acr: authentication.acr,
      amr: [...authentication.amr],
      sid: authentication.sessionId,
    });
  }

  /** Back-Channel Logout 1.0 §2.4: typ logout+jwt, the event, sid and sub, never a nonce. */
  logoutToken(request: { subject: string; clientId: string; sessionId: string }): Promise<string> {
    const iat = seconds(this.clock.now());
    return signJwt(this.keyStore, this.keys.active(), "logout+jwt", {
      iss: this.issuer,
      sub: request.subject,
      aud: request.clientId,
      iat,
      exp: iat + 120,
      jti: pooledRandomBytes(16).toString("base64url"),
      sid: request.sessionId,
      events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
  }
}
