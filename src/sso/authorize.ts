/**
 * The browser side of the authorization endpoint (OpenID Connect Core §3.1.2): decide from
 * the request, the SSO session and stored consent whether to answer at once with a code or
 * to show login or consent first. A pending request is an interaction, tied to the browser
 * that started it by a cookie; a login (password here, certificate on the mTLS listener)
 * attaches its new session to the interaction, and only that browser can resume it and
 * receive the session cookie (so neither a login made elsewhere nor a planted cookie counts).
 */
import type { Database, Queryable } from "../../db/database.js";
import {
  attachSession,
  deleteInteraction,
  getConsent,
  getInteraction,
  type InteractionRow,
  insertInteraction,
  upsertConsent,
} from "../../db/stores/sso-interactions.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import type { Language } from "../web/i18n.js";
import {
  AuthorizationPageError,
  AuthorizationRedirectError,
  type AuthorizationRequest,
  validateAuthorizationRequest,
} from "./authorization-request.js";
import type { Client, ClientRegistry } from "./clients.js";
import { type Cookie, interactionCookie, SESSION_COOKIE } from "./cookies.js";
import { issueCode } from "./grants/authorization-code.js";
import type { GrantContext } from "./grants/context.js";
import type { OAuthErrorCode } from "./oauth-error.js";
import { consentPage, errorPage, loginPage } from "./pages.js";
import { hashSecret, newSecret, secretMatches } from "./secrets.js";
import type { LoginMethod, SsoSession, SsoSessions } from "./sessions.js";

const INTERACTION_MS = 10 * 60_000;
const INTERACTION_ID = /^[A-Za-z0-9_-]{22}$/;

export type FlowOutcome =
  | { readonly kind: "redirect"; readonly location: string; readonly cookies?: readonly Cookie[] }
  | {
      readonly kind: "page";
      readonly status: number;
      readonly html: string;
      readonly cookies?: readonly Cookie[];
    };

/** The directory's password + one-time-code check (src/identity/password-login.ts). */
export interface PasswordVerifier {
  verify(input: {
    login: string;
    password: string;
    otp: string;
    requestId?: string | undefined;
    remoteAddress?: string | undefined;
  }): Promise<{ principal: { id: string } }>;
}

interface StoredRequest extends AuthorizationRequest {
  readonly consented?: boolean;
}

export interface AuthorizationFlowOptions {
  readonly issuer: string;
  /** Where the certificate login lives (the mTLS listener), if it is enabled. */
  readonly certificateLoginUrl: string | undefined;
}

export class AuthorizationFlow {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly clients: ClientRegistry,
    private readonly sessions: SsoSessions,
    private readonly grants: GrantContext,
    private readonly options: AuthorizationFlowOptions,
  ) {}

  /** GET or POST /oauth/authorize. */
  async authorize(params: Readonly<Record<string, string | undefined>>, cookies: Record<string, string>) {
    try {
      const { client, request } = await validateAuthorizationRequest(this.clients, params);
      const session = await this.sessions.fromCookie(cookies[SESSION_COOKIE]);
      return await this.proceed(client, request, session, undefined);
    } catch (error) {
      return this.failure(error);
    }
  }

  /** GET /oauth/authorize/resume: back from login or consent. */
  async resume(interactionId: string | undefined, cookies: Record<string, string>): Promise<FlowOutcome> {
    try {
      const interaction = await this.bound(interactionId, cookies);
      const stored = interaction.request as unknown as StoredRequest;
      const client = await this.clients.get(stored.clientId);
      if (!client || client.disabled) throw new AuthorizationPageError("the client is no longer enabled");
      const session = interaction.session_id
        ? await this.sessions.get(interaction.session_id)
        : await this.sessions.fromCookie(cookies[SESSION_COOKIE]);
      return await this.proceed(client, stored, session, interaction);
    } catch (error) {
      return this.failure(error);
    }
  }

  private async proceed(
    client: Client,
    request: StoredRequest,
    session: SsoSession | undefined,
    interaction: InteractionRow | undefined,
  ): Promise<FlowOutcome> {
    const loggedInHere = session !== undefined && interaction?.session_id === session.sessionId;
    const now = this.clock.now().getTime();
    const tooOld =
      session !== undefined &&
      request.maxAge !== undefined &&
      now - session.authTime.getTime() > request.maxAge * 1000;
    const forced = request.prompt.includes("login") || request.prompt.includes("select_account");
    const deny = (error: OAuthErrorCode, description: string) =>
      this.redirectError(
        new AuthorizationRedirectError(error, description, request.redirectUri, request.state),
      );
    if (!session || (!loggedInHere && (forced || tooOld))) {
      if (request.prompt.includes("none")) return deny("login_required", "the user is not logged in");
      return this.interact(client, request, interaction, "login");
    }
    if (!client.firstParty) {
      const consented = await getConsent(this.db, session.principalId, client.id);
      const covered = consented !== undefined && request.scope.every((scope) => consented.includes(scope));
      if (!(request.consented || (covered && !request.prompt.includes("consent")))) {
        if (request.prompt.includes("none")) return deny("consent_required", "the user has not consented");
        return this.interact(client, request, interaction, "consent");
      }
    }
    // The code, and the end of the interaction with the browser's session cookie, in one transaction.
    const { code, cookies } = await this.db.transaction(async (tx) => ({
      code: await issueCode(
        this.grants,
        {
          clientId: client.id,
          session,
          redirectUri: request.redirectUri,
          scope: request.scope,
          nonce: request.nonce,
          codeChallenge: request.codeChallenge,
        },
        tx,
      ),
      cookies: interaction ? await this.finish(tx, interaction, session) : [],
    }));
    return {
      kind: "redirect",
      location: withParams(request.redirectUri, { code, state: request.state, iss: this.options.issuer }),
      cookies,
    };
  }

  /**
   * Ends an interaction: its cookie goes, and a login made in it becomes the browser's SSO
   * session (whatever the client is then told: a user who denies consent is still logged in).
   */
  private async finish(
    tx: Queryable,
    interaction: InteractionRow,
    session: SsoSession | undefined,
  ): Promise<Cookie[]> {
    await deleteInteraction(tx, interaction.id);
    const cookies: Cookie[] = [{ name: interactionCookie(interaction.id), value: "", maxAge: 0 }];
    if (session && interaction.session_id === session.sessionId)
      cookies.push({
        name: SESSION_COOKIE,
        value: await this.sessions.cookieFor(session.sessionId, tx),
        maxAge: (session.expiresAt.getTime() - this.clock.now().getTime()) / 1000,
      });
    return cookies;
  }

  /** Starts (or continues) an interaction and sends the browser to the login or consent page. */
  private async interact(
    client: Client,
    request: StoredRequest,
    existing: InteractionRow | undefined,
    step: "login" | "consent",
  ): Promise<FlowOutcome> {
    const cookies: Cookie[] = [];
    let id = existing?.id;
    if (!id || (step === "login" && existing?.session_id)) {
      if (existing) await deleteInteraction(this.db, existing.id);
      id = newSecret(16);
      const binding = newSecret();
      await insertInteraction(this.db, {
        id,
        binding_hash: hashSecret("interaction", binding),
        client_id: client.id,
        request: { ...request } as unknown as Record<string, unknown>,
        expires_at: new Date(this.clock.now().getTime() + INTERACTION_MS),
      });
      cookies.push({ name: interactionCookie(id), value: binding, maxAge: INTERACTION_MS / 1000 });
    }
    return { kind: "redirect", location: `/${step}?interaction=${id}`, cookies };
  }

  /** The interaction, if this browser started it (its cookie) and it has not expired. */
  private async bound(id: string | undefined, cookies: Record<string, string>): Promise<InteractionRow> {
    if (!id || !INTERACTION_ID.test(id))
      throw new AuthorizationPageError("the login request is missing or malformed");
    const interaction = await getInteraction(this.db, id);
    const binding = cookies[interactionCookie(id)];
    if (!interaction || interaction.expires_at.getTime() <= this.clock.now().getTime())
      throw new AuthorizationPageError(
        "this login request has expired; go back to the application and start again",
      );
    if (!binding || !secretMatches("interaction", binding, interaction.binding_hash))
      throw new AuthorizationPageError("this login request was started in another browser");
    return interaction;
  }

  /** GET /login. */
  async loginPage(
    interactionId: string | undefined,
    cookies: Record<string, string>,
    language: Language,
    error?: string,
  ) {
    try {
      const interaction = await this.bound(interactionId, cookies);
      const client = await this.clients.get(interaction.client_id);
      const certificateUrl = this.options.certificateLoginUrl
        ? `${this.options.certificateLoginUrl}?interaction=${interaction.id}`
        : undefined;
      return page(
        error ? 401 : 200,
        loginPage(
          { interaction: interaction.id, clientName: client?.name ?? "", certificateUrl, error },
          language,
        ),
      );
    } catch (caught) {
      return this.failure(caught);
    }
  }

  /** POST /login/password: the directory checks password and one-time code. */
  async passwordLogin(
    verifier: PasswordVerifier,
    form: Readonly<Record<string, string | undefined>>,
    cookies: Record<string, string>,
    meta: { requestId: string; remoteAddress: string; language: Language },
  ): Promise<FlowOutcome> {
    let interaction: InteractionRow;
    try {
      interaction = await this.bound(form.interaction, cookies);
    } catch (error) {
      return this.failure(error);
    }
    let principalId: string;
    try {
      const result = await verifier.verify({
        login: form.login ?? "",
        password: form.password ?? "",
        otp: form.otp ?? "",
        requestId: meta.requestId,
        remoteAddress: meta.remoteAddress,
      });
      principalId = result.principal.id;
    } catch (error) {
      if (error instanceof ServiceError && error.status < 500)
        return this.loginPage(interaction.id, cookies, meta.language, error.message);
      throw error;
    }
    return this.completeLogin(
      interaction.id,
      principalId,
      { kind: "password-otp" },
      {
        audit: { actor: `user:${principalId}`, requestId: meta.requestId },
      },
    );
  }

  /**
   * The certificate login (on the mTLS listener, which may be another origin and so may not
   * see the interaction cookie): the session is attached to the interaction, and the browser
   * sent back to the provider's origin to resume it there, where the cookie is checked.
   */
  async certificateLogin(
    interactionId: string | undefined,
    login: { principalId: string; issuerId: string; serial: string },
    requestId: string,
  ): Promise<FlowOutcome> {
    if (!interactionId || !INTERACTION_ID.test(interactionId))
      return this.failure(new AuthorizationPageError("the login request is missing or malformed"));
    return this.completeLogin(
      interactionId,
      login.principalId,
      { kind: "certificate", issuerId: login.issuerId, serial: login.serial },
      { audit: { actor: `user:${login.principalId}`, requestId } },
    );
  }

  private async completeLogin(
    interactionId: string,
    principalId: string,
    method: LoginMethod,
    actor: Actor,
  ): Promise<FlowOutcome> {
    try {
      // The interaction takes the session in the transaction that starts it: a login request
      // completed already, expired or unknown leaves no session and no audit record behind.
      await this.sessions.start(actor, principalId, method, async (tx, session) => {
        if (!(await attachSession(tx, interactionId, session.sessionId, this.clock.now())))
          throw new AuthorizationPageError(
            "this login request was already completed or has expired; go back to the application and start again",
          );
      });
    } catch (error) {
      return this.failure(error);
    }
    return {
      kind: "redirect",
      location: `${this.options.issuer}/oauth/authorize/resume?interaction=${interactionId}`,
    };
  }

  /** GET /consent. */
  async consentPage(
    interactionId: string | undefined,
    cookies: Record<string, string>,
    language: Language,
  ): Promise<FlowOutcome> {
    try {
      const interaction = await this.bound(interactionId, cookies);
      const client = await this.clients.get(interaction.client_id);
      const request = interaction.request as unknown as StoredRequest;
      return page(
        200,
        consentPage(
          { interaction: interaction.id, clientName: client?.name ?? "", scopes: request.scope },
          language,
        ),
      );
    } catch (error) {
      return this.failure(error);
    }
  }

  /** POST /consent: allow (remembered for this client) or deny (access_denied to the client). */
  async consent(form: Readonly<Record<string, string | undefined>>, cookies: Record<string, string>) {
    try {
      const interaction = await this.bound(form.interaction, cookies);
      const request = interaction.request as unknown as StoredRequest;
      const session = interaction.session_id
        ? await this.sessions.get(interaction.session_id)
        : await this.sessions.fromCookie(cookies[SESSION_COOKIE]);
      if (!session) throw new AuthorizationPageError("you are not logged in any more; start again");
      if (form.decision !== "allow") {
        const denied = this.redirectError(
          new AuthorizationRedirectError(
            "access_denied",
            "the user denied the request",
            request.redirectUri,
            request.state,
          ),
        );
        return {
          ...denied,
          cookies: await this.db.transaction((tx) => this.finish(tx, interaction, session)),
        };
      }
      await this.db.transaction(async (tx) => {
        await upsertConsent(tx, session.principalId, request.clientId, request.scope, this.clock.now());
        await tx.query(
          `UPDATE sso_interactions SET request = request || '{"consented": true}' WHERE id = $1`,
          [interaction.id],
        );
        await appendAudit(tx, this.clock, [
          {
            actor: `user:${session.principalId}`,
            action: "sso.consent.grant",
            target: `client:${request.clientId}`,
            details: { scopes: request.scope },
          },
        ]);
      });
      return {
        kind: "redirect",
        location: `/oauth/authorize/resume?interaction=${interaction.id}`,
      } as FlowOutcome;
    } catch (error) {
      return this.failure(error);
    }
  }

  private failure(error: unknown): FlowOutcome {
    if (error instanceof AuthorizationRedirectError) return this.redirectError(error);
    if (error instanceof AuthorizationPageError) return page(400, errorPage(error.message));
    throw error;
  }

  /** RFC 6749 §4.1.2.1 with RFC 9207 `iss`. */
  private redirectError(error: AuthorizationRedirectError): FlowOutcome {
    return {
      kind: "redirect",
      location: withParams(error.redirectUri, {
        error: error.error,
        error_description: error.description,
        state: error.state,
        iss: this.options.issuer,
      }),
    };
  }
}

const page = (status: number, html: string): FlowOutcome => ({ kind: "page", status, html });

function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.append(name, value);
  return url.href;
}
