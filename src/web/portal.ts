/**
 * One portal request, from cookie to page: the language, the session (opened, its access token
 * refreshed shortly before it expires), the caller from GET /api/v1/me, the CSRF check of
 * every form, and what the user sees when the API refuses. Pages get a `PortalRequest` and
 * return HTML; they never see tokens or cookies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Clock } from "../clock.js";
import { parseCookies, serializeCookie } from "../sso/cookies.js";
import { type ApiCaller, ApiError, apiCaller } from "./api.js";
import { LANGUAGE_COOKIE, negotiateLanguage, translator } from "./i18n.js";
import { errorBox, type Me, page, type View } from "./layout.js";
import type { PortalClient } from "./portal-client.js";
import {
  csrfMatches,
  newCsrfToken,
  PORTAL_LOGIN_COOKIE,
  PORTAL_SESSION_COOKIE,
  type PortalSeal,
  type PortalSession,
} from "./session.js";

/** Refresh when the access token has less than this left: a page's API calls must not outlive it. */
const REFRESH_MARGIN_MS = 30_000;
const SESSION_COOKIE_SECONDS = 12 * 3600;

export interface PortalRequest extends View {
  readonly me: Me;
  readonly csrf: string;
  readonly api: ApiCaller;
  /** The submitted form (POST), CSRF-checked. */
  readonly form: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
}

export type PageResult =
  | string
  | { redirect: string }
  | { file: Buffer; type: string; name: string }
  /** A page with another status than 200: a form shown again with why the API refused it. */
  | { html: string; status: number };
export type PageHandler = (portal: PortalRequest, request: FastifyRequest) => Promise<PageResult>;

export class Portal {
  constructor(
    readonly app: FastifyInstance,
    readonly client: PortalClient,
    readonly seal: PortalSeal,
    readonly clock: Clock,
    readonly secureCookies: boolean,
    /** Why the portal cannot log anyone in (its client registration was refused), if so. */
    readonly disabled?: string | undefined,
  ) {}

  /** Language and path: enough for pages without a session (login errors, logged out). */
  view(request: FastifyRequest): View {
    const language = negotiateLanguage(
      parseCookies(request.headers.cookie)[LANGUAGE_COOKIE],
      request.headers["accept-language"],
    );
    return { t: translator(language), language, path: request.url };
  }

  cookie(name: string, value: string, maxAge: number): string {
    return serializeCookie({ name, value, maxAge }, this.secureCookies);
  }

  /** Sends the browser through our provider's login and back to `returnTo`. */
  async startLogin(reply: FastifyReply, returnTo: string): Promise<FastifyReply> {
    if (this.disabled) return this.sendPage(reply, 503, `the portal is off: ${this.disabled}`, "text/plain");
    const { url, login } = this.client.authorizationRequest(safeReturn(returnTo));
    return reply
      .header("set-cookie", this.cookie(PORTAL_LOGIN_COOKIE, await this.seal.sealLogin(login), 600))
      .redirect(url, 303);
  }

  /** A portal page handler: session, caller, CSRF on POST, API refusals shown as pages. */
  handle(handler: PageHandler) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const view = this.view(request);
      const cookies = parseCookies(request.headers.cookie);
      let session = await this.seal.openSession(cookies[PORTAL_SESSION_COOKIE]);
      if (!session) return this.startLogin(reply, request.method === "GET" ? request.url : "/portal/");
      if (session.expiresAt - REFRESH_MARGIN_MS < this.clock.now().getTime()) {
        session = await this.refreshed(session);
        if (!session) return this.startLogin(reply, request.method === "GET" ? request.url : "/portal/");
        reply.header("set-cookie", await this.sessionCookie(session));
      }
      const form = (request.body ?? {}) as Record<string, string>;
      if (request.method === "POST" && !csrfMatches(session, form._csrf))
        return this.sendPage(reply, 403, page(view, view.t("error.title"), errorBox(view.t("error.csrf"))));
      const api = apiCaller(this.app, session.accessToken);
      let me: Me | undefined;
      try {
        me = await api.json<Me>({ url: "/api/v1/me" });
        const portal: PortalRequest = {
          ...view,
          me,
          csrf: session.csrf,
          api,
          form,
          query: singleValues(request.query),
        };
        const result = await handler(portal, request);
        if (typeof result === "string") return this.sendPage(reply, 200, result);
        if ("redirect" in result) return reply.redirect(result.redirect, 303);
        if ("html" in result) return this.sendPage(reply, result.status, result.html);
        return reply
          .header("cache-control", "no-store")
          .header("content-disposition", `attachment; filename="${result.name}"`)
          .type(result.type)
          .send(result.file);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.status === 401)
          return this.startLogin(reply, request.method === "GET" ? request.url : "/portal/");
        const withMe = { ...view, me, csrf: session.csrf }; // the page's frame still knows who is here
        return this.sendPage(
          reply,
          error.status,
          page(
            withMe,
            view.t(
              error.status === 403
                ? "error.forbidden"
                : error.status === 404
                  ? "error.notFound"
                  : "error.title",
            ),
            errorBox(error.message),
          ),
        );
      }
    };
  }

  sendPage(reply: FastifyReply, status: number, body: string, type = "text/html"): FastifyReply {
    return reply.code(status).header("cache-control", "no-store").type(`${type}; charset=utf-8`).send(body);
  }

  async newSession(tokens: {
    accessToken: string;
    refreshToken: string | undefined;
    idToken: string;
    expiresAt: number;
    subject: string;
  }): Promise<string> {
    return this.sessionCookie({ ...tokens, csrf: newCsrfToken() });
  }

  async sessionCookie(session: PortalSession): Promise<string> {
    return this.cookie(PORTAL_SESSION_COOKIE, await this.seal.sealSession(session), SESSION_COOKIE_SECONDS);
  }

  private async refreshed(session: PortalSession): Promise<PortalSession | undefined> {
    if (!session.refreshToken) return undefined;
    try {
      const tokens = await this.client.refresh(this.app, session.refreshToken);
      return {
        ...session,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken ?? session.refreshToken,
        expiresAt: tokens.expiresAt,
      };
    } catch {
      return undefined; // revoked, expired, reused: log in again (silently, while the SSO session lives)
    }
  }
}

/** Only a path of the portal itself: never an open redirect. */
export function safeReturn(target: string | undefined): string {
  return target && /^\/portal(\/[\x21-\x5b\x5d-\x7e]*)?$/.test(target) ? target : "/portal/";
}

/** The query string with one value per name (a repeated name keeps its first): pages read strings. */
function singleValues(query: unknown): Record<string, string> {
  const values: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === "string") values[name] = first;
  }
  return values;
}
