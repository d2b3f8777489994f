/**
 * The token (RFC 6749 §3.2) and introspection (RFC 7662 §2) endpoints as HTTP answers, with
 * no web framework: what the Fastify routes (routes.ts) and the main listener's lane
 * (oauth-lane.ts) both send, so that the two transports cannot answer differently. Client
 * authentication lives here too, for those two and the revocation endpoint (RFC 7009 §2.1).
 *
 * Failures are thrown as OAuthError; `oauthErrorAnswer` renders one (RFC 6749 §5.2 JSON, with
 * WWW-Authenticate for 401: RFC 6749 §5.2 invalid_client, RFC 6750 §3 bearer errors). Every
 * answer is `no-store` (RFC 6749 §5.1).
 */
import { timingSafeEqual } from "node:crypto";
import type { OutgoingHttpHeaders } from "node:http";
import type { AccessTokens } from "./access-tokens.js";
import type {
  AuthenticatedClient,
  ClientAuthenticator,
  PresentedCertificate,
} from "./client-authentication.js";
import type { ClientRegistry } from "./clients.js";
import type { GrantContext } from "./grants/context.js";
import { introspect } from "./introspection.js";
import { invalidRequest, type OAuthError } from "./oauth-error.js";
import { tokenRequest } from "./token-endpoint.js";

export type Params = Readonly<Record<string, string | undefined>>;

/** One request to an OAuth endpoint that authenticates its client. */
export interface OAuthCall {
  /** The form-encoded body's parameters. */
  readonly params: Params;
  readonly authorization: string | undefined;
  /** The request's connection (its socket), for remembering a Basic authentication on it. */
  readonly connection: object;
  /** The TLS client certificate, verified on demand; undefined without one (the plain listener). */
  readonly certificate: (() => Promise<PresentedCertificate>) | undefined;
}

export interface OAuthAnswer {
  readonly statusCode: number;
  /** Complete, Content-Length included. */
  readonly headers: OutgoingHttpHeaders;
  readonly body: string;
}

const JSON_TYPE = "application/json; charset=utf-8";

/** A JSON answer; the token endpoint's also carries `Pragma: no-cache` (RFC 6749 §5.1). */
function json(statusCode: number, value: object, extra: OutgoingHttpHeaders = {}): OAuthAnswer {
  const body = JSON.stringify(value);
  return {
    statusCode,
    headers: {
      "content-type": JSON_TYPE,
      "cache-control": "no-store",
      ...extra,
      "content-length": Buffer.byteLength(body),
    },
    body,
  };
}

/** RFC 6749 §5.2 (RFC 6750 §3 for bearer tokens). */
export function oauthErrorAnswer(error: OAuthError): OAuthAnswer {
  const challenge =
    error.error === "insufficient_scope"
      ? `Bearer error="insufficient_scope", scope="openid"`
      : error.status !== 401
        ? undefined
        : error.error === "invalid_client"
          ? 'Basic realm="gov-ca"'
          : `Bearer error="${error.error}", error_description="${error.description.replaceAll('"', "'")}"`;
  return json(
    error.status,
    { error: error.error, error_description: error.description },
    challenge ? { "www-authenticate": challenge } : {},
  );
}

export class OAuthEndpoints {
  /**
   * The client last authenticated with HTTP Basic on each keep-alive connection, and the exact
   * Authorization header it sent. A later request on the same connection with the same header
   * presents the same id and secret, so it gets the same answer without decoding and hashing
   * the secret again (the token and introspection endpoints' hot path), as long as the client's
   * registration is the one it was checked against (a disabled or reloaded client is checked
   * anew) and nothing else in the request asks for another method.
   */
  private readonly basicOnConnection = new WeakMap<
    object,
    { header: Buffer; authenticated: AuthenticatedClient }
  >();

  constructor(
    private readonly clients: ClientRegistry,
    private readonly authenticator: ClientAuthenticator,
    private readonly grants: GrantContext,
    private readonly tokens: AccessTokens,
  ) {}

  async authenticate(call: OAuthCall): Promise<AuthenticatedClient> {
    const again = await this.sameBasicAsBefore(call);
    if (again) return again;
    const { params, authorization } = call;
    const authenticated = await this.authenticator.authenticate({
      authorization,
      clientId: params.client_id,
      clientAssertion: params.client_assertion,
      clientAssertionType: params.client_assertion_type,
      certificate: call.certificate,
    });
    if (authorization !== undefined && authenticated.client.authMethod === "client_secret_basic")
      this.basicOnConnection.set(call.connection, { header: Buffer.from(authorization), authenticated });
    return authenticated;
  }

  /** The token endpoint: the grant type's handler for the authenticated client. */
  async token(call: OAuthCall): Promise<OAuthAnswer> {
    const client = await this.authenticate(call);
    return json(200, await tokenRequest(this.grants, client, call.params), { pragma: "no-cache" });
  }

  /** The introspection endpoint: any authenticated client may ask (RFC 7662 §2.1). */
  async introspection(call: OAuthCall): Promise<OAuthAnswer> {
    await this.authenticate(call);
    const { token, token_type_hint: hint } = call.params;
    if (!token) throw invalidRequest("token is missing (RFC 7662 §2.1)");
    return json(200, await introspect(this.tokens, token, hint));
  }

  private async sameBasicAsBefore(call: OAuthCall): Promise<AuthenticatedClient | undefined> {
    const { authorization, params } = call;
    // A connection with a client certificate (the mTLS listener) always authenticates in full.
    if (authorization === undefined || call.certificate !== undefined) return undefined;
    if (params.client_assertion !== undefined || params.client_assertion_type !== undefined) return undefined;
    const memo = this.basicOnConnection.get(call.connection);
    if (!memo) return undefined;
    const { client } = memo.authenticated;
    if (params.client_id !== undefined && params.client_id !== client.id) return undefined;
    const presented = Buffer.from(authorization);
    // Constant time: another client's request may come on the same connection through a proxy.
    if (presented.length !== memo.header.length || !timingSafeEqual(presented, memo.header)) return undefined;
    return (await this.clients.get(client.id)) === client ? memo.authenticated : undefined;
  }
}
