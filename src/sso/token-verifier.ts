/**
 * Verifying the provider's own JWTs with jose: the algorithm must be the one of the key
 * named by `kid` (so `alg: none` and HS256 signed with a public key never verify: RFC 8725
 * §3.1, §2.1), the issuer ours, the type the expected one (RFC 9068 §4 at+jwt), and the time
 * inside [iat, exp]. Verified access tokens are remembered until they expire, so a resource
 * server introspecting the same token again costs no signature check.
 */
import { decodeProtectedHeader, jwtVerify } from "jose";
import type { Clock } from "../clock.js";
import type { SigningKeys } from "./signing-keys.js";
import type { AccessTokenClaims } from "./tokens.js";

const CACHE_ENTRIES = 100_000;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export class TokenVerifier {
  private readonly verified = new Map<string, AccessTokenClaims>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly issuer: string,
  ) {}

  /** The claims of one of our access tokens, or undefined when it is not one or has expired. */
  accessToken(token: string): AccessTokenClaims | undefined | Promise<AccessTokenClaims | undefined> {
    const cached = this.verified.get(token);
    if (cached) return cached.exp * 1000 > this.clock.now().getTime() ? cached : undefined;
    return this.verify(token, "at+jwt").then((claims) => {
      if (!claims || typeof claims.jti !== "string" || typeof claims.client_id !== "string") return undefined;
      if (this.verified.size >= CACHE_ENTRIES) this.verified.clear();
      this.verified.set(token, claims as unknown as AccessTokenClaims);
      return claims as unknown as AccessTokenClaims;
    });
  }

  /**
   * An ID token we issued, as an id_token_hint (OpenID Connect RP-Initiated Logout 1.0 §2):
   * it may have expired, but its signature must be ours.
   */
  idTokenHint(token: string): Promise<Record<string, unknown> | undefined> {
    return this.verify(token, "JWT", true);
  }

  private async verify(
    token: string,
    typ: string,
    allowExpired = false,
  ): Promise<Record<string, unknown> | undefined> {
    if (token.length > 8192 || !COMPACT_JWS.test(token)) return undefined;
    try {
      const { kid } = decodeProtectedHeader(token);
      if (typeof kid !== "string") return undefined;
      const key = await this.keys.verificationKey(kid);
      if (!key) return undefined;
      const { payload } = await jwtVerify(token, key.publicKey, {
        issuer: this.issuer,
        typ,
        algorithms: [key.alg],
        currentDate: allowExpired ? new Date(0) : this.clock.now(),
        requiredClaims: allowExpired ? ["sub", "aud"] : ["exp", "iat", "sub"],
      });
      return payload as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}
