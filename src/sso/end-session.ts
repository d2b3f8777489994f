/**
 * RP-Initiated Logout 1.0: the relying party sends the browser to the end_session_endpoint,
 * the session ends (and with it every grant and, through back-channel logout, every other
 * relying party's view of it), and the browser goes back only to a post_logout_redirect_uri
 * registered by that client, matched exactly (§3: otherwise this would be an open redirector).
 * Without a valid id_token_hint naming the current session the user is asked first (§2).
 */

import type { Language } from "../web/i18n.js";
import type { FlowOutcome } from "./authorize.js";
import type { ClientRegistry } from "./clients.js";
import { SESSION_COOKIE } from "./cookies.js";
import { errorPage, loggedOutPage, logoutConfirmPage } from "./pages.js";
import type { SsoSessions } from "./sessions.js";
import type { TokenVerifier } from "./token-verifier.js";

type Params = Readonly<Record<string, string | undefined>>;

export class EndSession {
  constructor(
    private readonly clients: ClientRegistry,
    private readonly sessions: SsoSessions,
    private readonly verifier: TokenVerifier,
  ) {}

  async handle(
    params: Params,
    cookies: Record<string, string>,
    confirmed: boolean,
    requestId: string,
    language: Language,
  ): Promise<FlowOutcome> {
    const page = (status: number, html: string): FlowOutcome => ({ kind: "page", status, html });
    // Step 1: the hint, if any, must be an ID token we issued (expired is fine).
    const hint = params.id_token_hint ? await this.verifier.idTokenHint(params.id_token_hint) : undefined;
    if (params.id_token_hint && !hint)
      return page(400, errorPage("id_token_hint is not an ID token issued here"));
    const hintClient = typeof hint?.aud === "string" ? hint.aud : undefined;
    if (params.client_id && hintClient && params.client_id !== hintClient)
      return page(400, errorPage("client_id does not match the id_token_hint's audience"));
    // Step 2: the redirect, only to a URI that client registered, exactly.
    const clientId = params.client_id ?? hintClient;
    let redirect: string | undefined;
    if (params.post_logout_redirect_uri !== undefined) {
      const client = clientId ? await this.clients.get(clientId) : undefined;
      if (!client) return page(400, errorPage("post_logout_redirect_uri needs client_id or id_token_hint"));
      if (!client.postLogoutRedirectUris.includes(params.post_logout_redirect_uri))
        return page(400, errorPage(`post_logout_redirect_uri is not registered for client "${client.id}"`));
      redirect = params.post_logout_redirect_uri;
    }
    // Step 3: end the session, if the hint names it or the user confirmed.
    const session = await this.sessions.fromCookie(cookies[SESSION_COOKIE]);
    if (session) {
      const hinted = hint?.sid === session.sessionId;
      if (!hinted && !confirmed) {
        const fields: Record<string, string> = {};
        for (const name of ["post_logout_redirect_uri", "state", "client_id"] as const) {
          const value = name === "client_id" ? clientId : params[name];
          if (value !== undefined) fields[name] = value;
        }
        return page(200, logoutConfirmPage(fields, language));
      }
      await this.sessions.end(
        { audit: { actor: `user:${session.principalId}`, requestId } },
        { ids: [session.sessionId] },
        "logout",
      );
    }
    const cleared = [{ name: SESSION_COOKIE, value: "", maxAge: 0 }];
    if (!redirect) return { kind: "page", status: 200, html: loggedOutPage(language), cookies: cleared };
    const url = new URL(redirect);
    if (params.state !== undefined) url.searchParams.append("state", params.state);
    return { kind: "redirect", location: url.href, cookies: cleared };
  }
}
