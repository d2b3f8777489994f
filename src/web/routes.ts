/**
 * The portal's HTTP surface: its login through our own provider, logout, language, static
 * assets, and the pages of each audience (src/web/pages/). Pages are `portal: true` routes:
 * they need the portal session and act only through the REST API with the user's token.
 */
import type { FastifyInstance } from "fastify";
import type { ServiceContext } from "../context.js";
import { ServiceError } from "../errors.js";
import { SecretSealer } from "../identity/secret-seal.js";
import { parseCookies } from "../sso/cookies.js";
import { ENDPOINTS } from "../sso/discovery.js";
import { parseForm } from "../sso/form-body.js";
import { loadAssets } from "./assets.js";
import { html } from "./html.js";
import { isLanguage, LANGUAGE_COOKIE } from "./i18n.js";
import { errorBox, page } from "./layout.js";
import { auditPage } from "./pages/audit.js";
import { caPages } from "./pages/ca.js";
import { certificatePages } from "./pages/certificates.js";
import { clientPages } from "./pages/clients.js";
import { dashboardPage } from "./pages/dashboard.js";
import { enrollmentPages } from "./pages/enrollment.js";
import { homePage, notificationActions } from "./pages/home.js";
import { profilePages } from "./pages/profiles.js";
import { raQueuePage } from "./pages/ra-queue.js";
import { userPages } from "./pages/users.js";
import { Portal, safeReturn } from "./portal.js";
import { PORTAL_CLIENT_ID, PORTAL_PATHS, PortalClient, PortalTokenError } from "./portal-client.js";
import { SECURITY_HEADERS } from "./security-headers.js";
import { csrfMatches, PORTAL_LOGIN_COOKIE, PORTAL_SESSION_COOKIE, PortalSeal } from "./session.js";

const FORM_LIMIT_BYTES = 256 * 1024;
/** The key-store key whose derived AES key seals the portal's cookies (src/identity/secret-seal.ts). */
const PORTAL_SEAL_LABEL = "portal-seal";

export function portalRoutes(context: ServiceContext) {
  const issuer = context.sso.options.issuer;
  const client = new PortalClient(context.sso, context.keyStore, context.clock);
  const assets = loadAssets();

  return async function routes(app: FastifyInstance): Promise<void> {
    // The portal needs a redirect URI the provider accepts: https, or http on a loopback literal.
    const disabled = await client.register().then(
      () => undefined,
      (error: unknown) => {
        if (!(error instanceof ServiceError)) throw error;
        app.log.warn(`the portal is off: ${error.message}`);
        return error.message;
      },
    );
    const root = app; // inject goes through the whole application, hooks included
    const portal = new Portal(
      root,
      client,
      new PortalSeal(new SecretSealer(context.keyStore, PORTAL_SEAL_LABEL)),
      context.clock,
      issuer.startsWith("https:"),
      disabled,
    );

    app.addHook("onRequest", async (request, reply) => {
      if (request.url.startsWith("/portal") || request.url.startsWith("/assets/"))
        reply.headers(SECURITY_HEADERS);
    });
    // HTML forms post application/x-www-form-urlencoded (HTML §4.10.21.8); nothing else is parsed here.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string", bodyLimit: FORM_LIMIT_BYTES },
      (_request, body, done) => {
        try {
          done(
            null,
            parseForm(
              body as string,
              (name) => new ServiceError(400, "form-invalid", `field ${name} is given more than once`),
            ),
          );
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );

    const publicPage = { config: { public: true as const }, schema: { hide: true } };
    const portalPage = { config: { portal: true as const }, schema: { hide: true } };

    app.get("/", publicPage, async (_request, reply) => reply.redirect("/portal/", 302));

    app.get<{ Params: { "*": string } }>("/assets/*", publicPage, async (request, reply) => {
      const asset = assets.get(request.params["*"]);
      if (!asset) throw new ServiceError(404, "not-found", `there is no asset ${request.params["*"]}`);
      reply.header("etag", asset.etag).header("cache-control", "no-cache");
      if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
      return reply.type(asset.type).send(asset.body);
    });

    app.get<{ Querystring: { return?: string } }>("/portal/login", publicPage, async (request, reply) =>
      portal.startLogin(reply, safeReturn(request.query.return)),
    );

    // OpenID Connect Core §3.1.2.5-7: the code comes back with the state we sent, and iss (RFC 9207).
    app.get<{ Querystring: Record<string, string> }>(
      PORTAL_PATHS.callback,
      publicPage,
      async (request, reply) => {
        const view = portal.view(request);
        const failed = (message: string) =>
          portal.sendPage(
            reply.header("set-cookie", portal.cookie(PORTAL_LOGIN_COOKIE, "", 0)),
            400,
            page(
              view,
              view.t("login.failed"),
              html`${errorBox(message)}<p><a href="/portal/login">${view.t("login.again")}</a></p>`,
            ),
          );
        const query = request.query;
        const login = await portal.seal.openLogin(
          parseCookies(request.headers.cookie)[PORTAL_LOGIN_COOKIE],
          context.clock.now().getTime(),
        );
        if (!login || query.state !== login.state) return failed(view.t("login.stateMismatch"));
        if (query.iss !== issuer) return failed(view.t("login.issuerMismatch"));
        if (query.error) return failed(view.t("login.refused", { error: query.error.slice(0, 100) }));
        if (!query.code) return failed(view.t("login.stateMismatch"));
        try {
          const tokens = await client.exchangeCode(root, query.code, login.codeVerifier, login.nonce);
          return reply
            .header("set-cookie", [
              portal.cookie(PORTAL_LOGIN_COOKIE, "", 0),
              await portal.newSession(tokens),
            ])
            .redirect(login.returnTo, 303);
        } catch (error) {
          if (error instanceof PortalTokenError) return failed(view.t("login.exchangeFailed"));
          throw error;
        }
      },
    );

    // OpenID Connect RP-Initiated Logout 1.0 §2: the provider ends the SSO session everywhere.
    app.post("/portal/logout", portalPage, async (request, reply) => {
      const session = await portal.seal.openSession(
        parseCookies(request.headers.cookie)[PORTAL_SESSION_COOKIE],
      );
      reply.header("set-cookie", portal.cookie(PORTAL_SESSION_COOKIE, "", 0));
      if (!session) return reply.redirect(PORTAL_PATHS.loggedOut, 303);
      const view = portal.view(request);
      if (!csrfMatches(session, (request.body as Record<string, string> | undefined)?._csrf))
        return portal.sendPage(reply, 403, page(view, view.t("error.title"), errorBox(view.t("error.csrf"))));
      const params = new URLSearchParams({
        id_token_hint: session.idToken,
        client_id: PORTAL_CLIENT_ID,
        post_logout_redirect_uri: `${issuer}${PORTAL_PATHS.loggedOut}`,
      });
      return reply.redirect(`${ENDPOINTS.endSession}?${params}`, 303);
    });

    app.get(PORTAL_PATHS.loggedOut, publicPage, async (request, reply) => {
      const view = portal.view(request);
      return portal.sendPage(
        reply,
        200,
        page(
          view,
          view.t("logout.title"),
          html`<p>${view.t("logout.done")}</p><p><a class="button" href="/portal/login">${view.t("login.again")}</a></p>`,
        ),
      );
    });

    app.get<{ Querystring: { to?: string; return?: string } }>(
      "/portal/language",
      publicPage,
      async (request, reply) => {
        const to = request.query.to;
        if (isLanguage(to)) reply.header("set-cookie", portal.cookie(LANGUAGE_COOKIE, to, 365 * 86400));
        return reply.redirect(safeReturn(request.query.return), 303);
      },
    );

    const expiryWindowDays = context.config.expiryNotice.noticeDays;
    homePage(app, portal, portalPage, expiryWindowDays);
    notificationActions(app, portal, portalPage);
    certificatePages(app, portal, portalPage, expiryWindowDays);
    enrollmentPages(app, portal, portalPage);
    raQueuePage(app, portal, portalPage, expiryWindowDays);
    auditPage(app, portal, portalPage);
    userPages(app, portal, portalPage);
    clientPages(app, portal, portalPage);
    caPages(app, portal, portalPage);
    profilePages(app, portal, portalPage);
    dashboardPage(app, portal, portalPage);
  };
}
