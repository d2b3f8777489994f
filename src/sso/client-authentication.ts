/**
 * Client authentication at the token, introspection and revocation endpoints, by the one
 * method each client registered:
 *   client_secret_basic  RFC 6749 §2.3.1 (id and secret form-urlencoded, then Basic)
 *   private_key_jwt      OpenID Connect Core §9, RFC 7523 §3 (jti single use, RFC 7523 §3 item 7)
 *   tls_client_auth      RFC 8705 §2.1 (a certificate from our CA, its subject DN registered)
 * A request that uses more than one method is refused (RFC 6749 §2.3). Failures are
 * `invalid_client` (RFC 6749 §5.2) and say why without saying which part of a secret was wrong.
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import type { Database } from "../../db/database.js";
import { recordAssertionJti } from "../../db/stores/oauth-grants.js";
import type { Clock } from "../clock.js";
import type { Client, ClientRegistry } from "./clients.js";
import { invalidClient, invalidRequest } from "./oauth-error.js";
import { secretMatches } from "./secrets.js";

export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** Asymmetric algorithms only: an HMAC "signed" with a public key must not pass (RFC 8725 §2.1). */
export const ASSERTION_ALGORITHMS = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "EdDSA"];
const MAX_ASSERTION_LIFETIME_S = 300;

/** A client certificate already verified by the mTLS listener (src/auth/client-certificate.ts). */
export interface PresentedCertificate {
  readonly subjectDn: string;
  readonly x5tS256: string;
}

export interface ClientAuthenticationInput {
  readonly authorization?: string | undefined;
  readonly clientId?: string | undefined;
  readonly clientAssertion?: string | undefined;
  readonly clientAssertionType?: string | undefined;
  /** The TLS client certificate, verified on demand (only a tls_client_auth client needs it). */
  readonly certificate?: (() => Promise<PresentedCertificate>) | undefined;
}

export interface AuthenticatedClient {
  readonly client: Client;
  /** The certificate the client authenticated with (tls_client_auth): tokens get bound to it. */
  readonly certificate?: PresentedCertificate | undefined;
}

export class ClientAuthenticator {
  constructor(
    private readonly clients: ClientRegistry,
    private readonly db: Database,
    private readonly clock: Clock,
    /** What a client assertion's `aud` may be: the issuer and the token endpoint URLs. */
    private readonly assertionAudiences: readonly string[],
  ) {}

  async authenticate(input: ClientAuthenticationInput): Promise<AuthenticatedClient> {
    const basic = input.authorization !== undefined;
    const assertion = input.clientAssertion !== undefined || input.clientAssertionType !== undefined;
    if (basic && assertion)
      throw invalidRequest("the client used more than one authentication method (RFC 6749 §2.3)");
    if (basic) return { client: await this.basic(input.authorization!, input.clientId) };
    if (assertion) return { client: await this.privateKeyJwt(input) };
    if (!input.clientId) throw invalidClient("client authentication is required");
    const client = await this.known(input.clientId);
    if (client.authMethod !== "tls_client_auth")
      throw invalidClient(`client "${client.id}" must authenticate with ${client.authMethod}`);
    if (!input.certificate)
      throw invalidClient("tls_client_auth needs a client certificate: use the mTLS endpoint (RFC 8705 §5)");
    const certificate = await input.certificate();
    if (certificate.subjectDn !== client.tlsSubjectDn)
      throw invalidClient("the client certificate's subject is not the one registered (RFC 8705 §2.1.2)");
    return { client, certificate };
  }

  private async known(id: string): Promise<Client> {
    const client = await this.clients.get(id);
    if (!client) throw invalidClient(`there is no client "${id.slice(0, 64)}"`);
    if (client.disabled) throw invalidClient(`client "${id}" is disabled`);
    return client;
  }

  private async basic(header: string, bodyClientId: string | undefined): Promise<Client> {
    const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(header);
    if (!match) throw invalidClient("the Authorization header must be HTTP Basic (RFC 6749 §2.3.1)");
    const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw invalidClient("the Basic credentials have no colon");
    let id: string;
    let secret: string;
    try {
      // RFC 6749 §2.3.1: both are application/x-www-form-urlencoded before encoding.
      id = decodeURIComponent(decoded.slice(0, colon).replaceAll("+", " "));
      secret = decodeURIComponent(decoded.slice(colon + 1).replaceAll("+", " "));
    } catch {
      throw invalidClient("the Basic credentials are not form-urlencoded (RFC 6749 §2.3.1)");
    }
    if (bodyClientId !== undefined && bodyClientId !== id)
      throw invalidRequest("client_id in the body differs from the authenticated client");
    const client = await this.known(id);
    if (client.authMethod !== "client_secret_basic")
      throw invalidClient(`client "${client.id}" must authenticate with ${client.authMethod}`);
    if (!secretMatches("client-secret", secret, client.secretHash))
      throw invalidClient("the client secret is wrong");
    return client;
  }

  private async privateKeyJwt(input: ClientAuthenticationInput): Promise<Client> {
    if (input.clientAssertionType !== JWT_BEARER_ASSERTION)
      throw invalidClient(`client_assertion_type must be ${JWT_BEARER_ASSERTION} (RFC 7523 §2.2)`);
    const assertion = input.clientAssertion;
    if (!assertion) throw invalidClient("client_assertion is missing");
    let issuer: unknown;
    try {
      decodeProtectedHeader(assertion);
      issuer = decodeJwt(assertion).iss;
    } catch {
      throw invalidClient("client_assertion is not a JWT");
    }
    if (typeof issuer !== "string") throw invalidClient("the client assertion has no iss");
    if (input.clientId !== undefined && input.clientId !== issuer)
      throw invalidRequest("client_id differs from the client assertion's issuer");
    const client = await this.known(issuer);
    if (client.authMethod !== "private_key_jwt" || !client.jwks)
      throw invalidClient(`client "${client.id}" must authenticate with ${client.authMethod}`);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(assertion, client.jwks, {
        issuer: client.id,
        subject: client.id,
        audience: [...this.assertionAudiences],
        algorithms: ASSERTION_ALGORITHMS,
        currentDate: this.clock.now(),
        requiredClaims: ["exp", "jti"],
        clockTolerance: 30,
      }));
    } catch (error) {
      throw invalidClient(`the client assertion does not verify: ${(error as Error).message}`);
    }
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const exp = payload.exp as number;
    if (exp - now > MAX_ASSERTION_LIFETIME_S)
      throw invalidClient(`the client assertion may live at most ${MAX_ASSERTION_LIFETIME_S} s`);
    if (typeof payload.jti !== "string" || payload.jti.length > 256)
      throw invalidClient("the client assertion's jti must be a string of at most 256 characters");
    if (!(await recordAssertionJti(this.db, client.id, payload.jti, new Date((exp + 60) * 1000))))
      throw invalidClient("this client assertion was already used (jti replay, RFC 7523 §3)");
    return client;
  }
}
