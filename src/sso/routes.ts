/**
 * The OpenID Provider over HTTP. These routes are `public` to the admin API's RBAC because
 * each authenticates its caller itself, the OAuth way: the token, introspection and
 * revocation endpoints authenticate the client (invalid_client otherwise), userinfo a bearer
 * access token, the browser routes the SSO session and interaction cookies, and the
 * certificate login the TLS client certificate. Errors are OAuth errors (RFC 6749 §5.2,
 * RFC 6750 §3), and every response that carries a token or a secret is `no-store` (§5.1).
 */

import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { authenticateClientCertificate, peerCertificateOf } from "../auth/peer-certificate.js";
import type { ServiceContext } from "../context.js";
import { ServiceError } from "../errors.js";
import { LANGUAGE_COOKIE, negotiateLanguage } from "../web/i18n.js";
import type { FlowOutcome } from "./authorize.js";
import type { PresentedCertificate } from "./client-authentication.js";
import { parseCookies, serializeCookie } from "./cookies.js";
import { discoveryDocument, ENDPOINTS } from "./discovery.js";
import { MAX_PARAMETER_LENGTH, parseForm, parseQuery } from "./form-body.js";
import { type OAuthAnswer, type OAuthCall, oauthErrorAnswer } from "./oauth-endpoints.js";
import { invalidClient, invalidRequest, OAuthError } from "./oauth-error.js";
import { errorPage } from "./pages.js";
import { revokeToken } from "./token-revocation.js";
import { userinfo } from "./userinfo.js";

type Params = Record<string, string | undefined>;

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

const formSchema = (summary: string) => ({
  tags: ["sso"],
  summary,
  consumes: ["application/x-www-form-urlencoded"],
  // RFC 6749 §3.1: unrecognized parameters are ignored; the known ones must be strings.
  body: { type: "object", additionalProperties: { type: "string", maxLength: MAX_PARAMETER_LENGTH } },
});

export function ssoRoutes(context: ServiceContext) {
  const sso = context.sso;
  const secure = sso.options.issuer.startsWith("https:");

  function send(reply: FastifyReply, outcome: FlowOutcome): FastifyReply {
    if (outcome.cookies?.length)
      reply.header(
        "set-cookie",
        outcome.cookies.map((cookie) => serializeCookie(cookie, secure)),
      );
    if (outcome.kind === "redirect")
      return reply.code(303).header("cache-control", "no-store").header("location", outcome.location).send();
    return reply.code(outcome.status).headers(PAGE_HEADERS).send(outcome.html);
  }

  const cookiesOf = (request: FastifyRequest) => parseCookies(request.headers.cookie);
  /** The portal's language choice (its cookie), else the browser's (RFC 9110 §12.5.4). */
  const languageOf = (request: FastifyRequest) =>
    negotiateLanguage(cookiesOf(request)[LANGUAGE_COOKIE], request.headers["accept-language"]);
  const form = (request: FastifyRequest): Params => (request.body ?? {}) as Params;
  /**
   * The TLS client certificate of a request on the mTLS listener, verified for client
   * authentication (RFC 8705 §2.1); undefined without one. Verified only when the client's
   * method needs it: a certificate that fails is `invalid_client` for a tls_client_auth client.
   */
  const presented = (request: FastifyRequest) => {
    const peer = peerCertificateOf(request);
    if (!peer) return undefined;
    return async (): Promise<PresentedCertificate> => {
      try {
        return await authenticateClientCertificate(request, context.clientCertificates, "client-auth");
      } catch (error) {
        if (error instanceof ServiceError)
          throw invalidClient(`the client certificate is refused: ${error.message}`);
        throw error;
      }
    };
  };
  /** RFC 8705 §3: the SHA-256 thumbprint of the certificate this TLS connection was made with. */
  const connectionX5t = (request: FastifyRequest) => {
    const peer = peerCertificateOf(request);
    return peer && !peer.resumed ? createHash("sha256").update(peer.der).digest("base64url") : undefined;
  };

  /** An OAuth endpoint's call (oauth-endpoints.ts) from a Fastify request. */
  const callOf = (request: FastifyRequest): OAuthCall => ({
    params: form(request),
    authorization: request.headers.authorization,
    connection: request.raw.socket,
    certificate: presented(request),
  });

  const sendAnswer = (reply: FastifyReply, answer: OAuthAnswer) =>
    reply.code(answer.statusCode).headers(answer.headers).send(answer.body);

  function bearer(request: FastifyRequest): string {
    const header = request.headers.authorization;
    const match = header ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header) : null;
    const fromBody = request.method === "POST" ? form(request).access_token : undefined; // RFC 6750 §2.2
    if (match && fromBody)
      throw invalidRequest("the access token was sent in more than one way (RFC 6750 §2)");
    const token = match?.[1] ?? fromBody;
    if (!token) throw new OAuthError("invalid_token", "no access token was presented", 401);
    return token;
  }

  return async function routes(app: FastifyInstance): Promise<void> {
    // RFC 6749 §3.2, §4.1.3: OAuth requests are form-encoded; nothing else is parsed here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string", bodyLimit: 64 * 1024 },
      (_request, body, done) => {
        try {
          done(null, parseForm(body as string));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    app.setErrorHandler((error, request, reply) => {
      const oauth =
        error instanceof OAuthError
          ? error
          : (error as { validation?: unknown }).validation ||
              ((error as { statusCode?: number }).statusCode ?? 500) < 500
            ? invalidRequest((error as Error).message)
            : undefined;
      if (!oauth) throw error; // the app's problem+json handler
      request.log.info({ oauthError: oauth.error }, oauth.description);
      return sendAnswer(reply, oauthErrorAnswer(oauth));
    });

    const publicRoute = (summary: string, extra: object = {}) => ({
      config: { public: true as const },
      schema: { tags: ["sso"], summary, ...extra },
    });

    app.get(
      "/.well-known/openid-configuration",
      publicRoute("OpenID Connect Discovery 1.0 metadata"),
      async (_r, reply) =>
        reply
          .header("cache-control", "public, max-age=300")
          .send(discoveryDocument(sso.options.issuer, sso.options.mtlsBaseUrl, sso.options.algorithm)),
    );

    app.get(ENDPOINTS.jwks, publicRoute("The token signing keys, RFC 7517 JWK Set"), async (_r, reply) =>
      reply
        .type("application/jwk-set+json")
        .header("cache-control", "public, max-age=300")
        .send({ keys: sso.keys.published().map((key) => key.jwk) }),
    );

    // OpenID Connect Core §3.1.2.1: GET and POST.
    app.get(
      ENDPOINTS.authorization,
      publicRoute("Authorization endpoint (code flow, PKCE S256)"),
      async (request, reply) =>
        send(reply, await sso.flow.authorize(parseQuery(request.url), cookiesOf(request))),
    );
    app.post(
      ENDPOINTS.authorization,
      { config: { public: true }, schema: formSchema("Authorization endpoint, form-encoded") },
      async (request, reply) => send(reply, await sso.flow.authorize(form(request), cookiesOf(request))),
    );
    app.get(
      `${ENDPOINTS.authorization}/resume`,
      publicRoute("Continues an authorization request after login or consent"),
      async (request, reply) =>
        send(reply, await sso.flow.resume(parseQuery(request.url).interaction, cookiesOf(request))),
    );

    app.get("/login", publicRoute("The login page"), async (request, reply) =>
      send(
        reply,
        await sso.flow.loginPage(
          parseQuery(request.url).interaction,
          cookiesOf(request),
          languageOf(request),
        ),
      ),
    );
    app.post(
      "/login/password",
      { config: { public: true }, schema: formSchema("Password + one-time code login") },
      async (request, reply) =>
        send(
          reply,
          await sso.flow.passwordLogin(context.passwordLogin, form(request), cookiesOf(request), {
            requestId: request.id,
            remoteAddress: request.ip,
            language: languageOf(request),
          }),
        ),
    );
    // On the mTLS listener: the TLS client certificate is the credential (a resumed TLS session
    // is refused, so a logged-out certificate cannot log in again without a new handshake).
    app.get(
      "/login/certificate",
      publicRoute("Certificate login (the mTLS listener asks for the certificate)"),
      async (request, reply) => {
        const interaction = parseQuery(request.url).interaction;
        let login: { principalId: string; issuerId: string; serial: string };
        try {
          const verified = await authenticateClientCertificate(
            request,
            context.clientCertificates,
            "user-login",
          );
          const user = verified.ownerId ? await context.directory.get(verified.ownerId) : undefined;
          if (!user)
            throw new ServiceError(
              401,
              "certificate-unmapped",
              "this certificate belongs to no directory user",
            );
          if (user.disabledAt)
            throw new ServiceError(401, "user-disabled", "the user of this certificate is disabled");
          login = { principalId: user.id, issuerId: verified.issuerId, serial: verified.serial };
        } catch (error) {
          if (!(error instanceof ServiceError) || error.status >= 500) throw error;
          request.log.info({ code: error.code }, "certificate login refused");
          return send(reply, { kind: "page", status: error.status, html: errorPage(error.message) });
        }
        return send(reply, await sso.flow.certificateLogin(interaction, login, request.id));
      },
    );
    app.get("/consent", publicRoute("The consent page"), async (request, reply) =>
      send(
        reply,
        await sso.flow.consentPage(
          parseQuery(request.url).interaction,
          cookiesOf(request),
          languageOf(request),
        ),
      ),
    );
    app.post(
      "/consent",
      { config: { public: true }, schema: formSchema("Allow or deny a client") },
      async (request, reply) => send(reply, await sso.flow.consent(form(request), cookiesOf(request))),
    );

    // Also answered by the main listener's lane (oauth-lane.ts), from the same OAuthEndpoints.
    app.post(
      ENDPOINTS.token,
      { config: { public: true }, schema: formSchema("Token endpoint (RFC 6749 §3.2)") },
      async (request, reply) => sendAnswer(reply, await sso.endpoints.token(callOf(request))),
    );

    app.post(
      ENDPOINTS.introspection,
      { config: { public: true }, schema: formSchema("Token introspection (RFC 7662)") },
      async (request, reply) => sendAnswer(reply, await sso.endpoints.introspection(callOf(request))),
    );

    app.post(
      ENDPOINTS.revocation,
      { config: { public: true }, schema: formSchema("Token revocation (RFC 7009)") },
      async (request, reply) => {
        const { client } = await sso.endpoints.authenticate(callOf(request));
        const { token, token_type_hint: hint } = form(request);
        if (!token) throw invalidRequest("token is missing (RFC 7009 §2.1)");
        await revokeToken(
          { db: context.db, clock: context.clock, tokens: sso.tokens, state: sso.state },
          client,
          token,
          hint,
        );
        return reply.header("cache-control", "no-store").code(200).send();
      },
    );

    const userinfoHandler = async (request: FastifyRequest, reply: FastifyReply) => {
      const claims = await userinfo(sso.tokens, sso.users, bearer(request), connectionX5t(request));
      return reply.header("cache-control", "no-store").send(claims);
    };
    app.get(
      ENDPOINTS.userinfo,
      publicRoute("UserInfo (OpenID Connect Core §5.3), bearer access token"),
      userinfoHandler,
    );
    app.post(
      ENDPOINTS.userinfo,
      { config: { public: true }, schema: formSchema("UserInfo, POST") },
      userinfoHandler,
    );

    const endSession = async (request: FastifyRequest, reply: FastifyReply, params: Params) =>
      send(
        reply,
        await sso.endSession.handle(
          params,
          cookiesOf(request),
          request.method === "POST" && params.confirm === "yes",
          request.id,
          languageOf(request),
        ),
      );
    app.get(ENDPOINTS.endSession, publicRoute("RP-Initiated Logout 1.0"), (request, reply) =>
      endSession(request, reply, parseQuery(request.url)),
    );
    app.post(
      ENDPOINTS.endSession,
      { config: { public: true }, schema: formSchema("RP-Initiated Logout 1.0, POST") },
      (request, reply) => endSession(request, reply, form(request)),
    );
  };
}
