/**
 * The business systems registered with our OpenID Provider (security admins manage, auditors
 * read): list, register (a client_secret_basic secret is shown once, never again), disable.
 */
import type { FastifyInstance } from "fastify";
import { html, type Markup } from "../html.js";
import { csrfField, errorBox, formatDate, notice, page } from "../layout.js";
import type { PageResult, Portal, PortalRequest } from "../portal.js";
import { apiFailure } from "./forms.js";

interface ClientJson {
  readonly clientId: string;
  readonly name: string;
  readonly tokenEndpointAuthMethod: string;
  readonly grantTypes: readonly string[];
  readonly redirectUris: readonly string[];
  readonly firstParty: boolean;
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly clientSecret?: string;
}

const AUTH_METHODS = ["client_secret_basic", "private_key_jwt", "tls_client_auth"] as const;
const GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials"] as const;
const CLIENT_ID = /^[a-z0-9][a-z0-9-]{2,63}$/;

const lines = (text: string | undefined): string[] =>
  (text ?? "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);

/** The API body from the form; JSON that does not parse is left for the API to refuse precisely. */
function clientBody(form: Readonly<Record<string, string>>): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: form.name ?? "",
    tokenEndpointAuthMethod: form.tokenEndpointAuthMethod ?? "",
    grantTypes: GRANT_TYPES.filter((grant) => form[`grant-${grant}`] === "yes"),
    firstParty: form.firstParty === "yes",
  };
  if (form.clientId) body.clientId = form.clientId;
  for (const field of ["redirectUris", "postLogoutRedirectUris", "audience"] as const) {
    const values = lines(form[field]);
    if (values.length) body[field] = values;
  }
  const scopes = (form.scopes ?? "").split(/\s+/).filter(Boolean);
  if (scopes.length) body.scopes = scopes;
  if (form.backchannelLogoutUri) body.backchannelLogoutUri = form.backchannelLogoutUri;
  if (form.tlsClientAuthSubjectDn) body.tlsClientAuthSubjectDn = form.tlsClientAuthSubjectDn;
  if (form.jwks?.trim()) {
    try {
      body.jwks = JSON.parse(form.jwks);
    } catch {
      body.jwks = form.jwks; // a string: the API answers that jwks must be an object
    }
  }
  return body;
}

function registerForm(view: PortalRequest): Markup {
  const value = (name: string) => view.form[name] ?? "";
  return html`<section aria-labelledby="new-client"><h2 id="new-client">${view.t("clients.register")}</h2>
<form method="post" action="/portal/admin/clients" class="stack">${csrfField(view)}
<label>${view.t("clients.name")} <input name="name" required maxlength="200" value="${value("name")}"></label>
<label>${view.t("clients.id")} <input name="clientId" maxlength="64" pattern="[a-z0-9][a-z0-9\\-]{2,63}" value="${value("clientId")}"></label>
<label>${view.t("clients.authMethod")} <select name="tokenEndpointAuthMethod">${AUTH_METHODS.map(
    (method) =>
      html`<option value="${method}"${value("tokenEndpointAuthMethod") === method ? html` selected` : ""}>${method}</option>`,
  )}</select></label>
<fieldset><legend>${view.t("clients.grantTypes")}</legend>${GRANT_TYPES.map(
    (grant) =>
      html`<label class="choice"><input type="checkbox" name="grant-${grant}" value="yes"${
        grant === "authorization_code" ? html` checked` : ""
      }> ${grant}</label>`,
  )}</fieldset>
<label>${view.t("clients.redirectUris")} <textarea name="redirectUris" rows="3">${value("redirectUris")}</textarea></label>
<label>${view.t("clients.postLogoutUris")} <textarea name="postLogoutRedirectUris" rows="2">${value("postLogoutRedirectUris")}</textarea></label>
<label>${view.t("clients.backchannel")} <input name="backchannelLogoutUri" maxlength="2000" value="${value("backchannelLogoutUri")}"></label>
<label>${view.t("clients.scopes")} <input name="scopes" maxlength="2000" value="${value("scopes")}"></label>
<label>${view.t("clients.audience")} <textarea name="audience" rows="2">${value("audience")}</textarea></label>
<label>${view.t("clients.jwks")} <textarea name="jwks" rows="4" spellcheck="false">${value("jwks")}</textarea></label>
<label>${view.t("clients.tlsDn")} <input name="tlsClientAuthSubjectDn" maxlength="1000" value="${value("tlsClientAuthSubjectDn")}"></label>
<label class="choice"><input type="checkbox" name="firstParty" value="yes"> ${view.t("clients.firstParty")}</label>
<button type="submit">${view.t("clients.register")}</button></form></section>`;
}

async function listPage(view: PortalRequest, error?: string): Promise<string> {
  const clients = await view.api.json<{ items: ClientJson[] }>({ url: "/api/v1/clients" });
  return page(
    view,
    view.t("nav.clients"),
    html`${notice(view.query.done === "disabled" ? view.t("clients.done.disabled") : undefined)}${errorBox(error)}
<table class="clients"><thead><tr><th>${view.t("clients.name")}</th><th>${view.t("clients.id")}</th><th>${view.t(
      "clients.authMethod",
    )}</th><th>${view.t("clients.grantTypes")}</th><th>${view.t("certificate.status")}</th><th>${view.t(
      "request.createdAt",
    )}</th><th></th></tr></thead><tbody>${clients.items.map(
      (c) =>
        html`<tr data-client="${c.clientId}"><td>${c.name}${c.firstParty ? html` <span class="muted">(${view.t("clients.firstPartyShort")})</span>` : ""}</td><td><code>${
          c.clientId
        }</code></td><td>${c.tokenEndpointAuthMethod}</td><td>${c.grantTypes.join(", ")}</td><td>${
          c.disabled ? view.t("users.disabled") : view.t("users.active")
        }</td><td>${formatDate(view, c.createdAt)}</td><td>${
          c.disabled
            ? ""
            : html`<form method="post" action="/portal/admin/clients/${c.clientId}/disable" class="inline">${csrfField(view)}<button type="submit" class="danger">${view.t(
                "users.disable",
              )}</button></form>`
        }</td></tr>`,
    )}</tbody></table>
${registerForm(view)}`,
  );
}

export function clientPages(app: FastifyInstance, portal: Portal, options: object): void {
  app.get(
    "/portal/admin/clients",
    options,
    portal.handle((view) => listPage(view)),
  );

  app.post(
    "/portal/admin/clients",
    options,
    portal.handle(
      async (view): Promise<PageResult> =>
        apiFailure(
          async () => {
            const created = await view.api.json<ClientJson>({
              method: "POST",
              url: "/api/v1/clients",
              body: clientBody(view.form),
            });
            // The secret exists in clear only in this answer (stored as a keyed hash).
            return page(
              view,
              view.t("clients.registered"),
              html`<p>${view.t("clients.registeredAs", { id: created.clientId })}</p>${
                created.clientSecret
                  ? html`<section class="notice" id="client-secret"><p>${view.t("clients.secretOnce")}</p><p><code>${created.clientSecret}</code></p></section>`
                  : ""
              }<p><a href="/portal/admin/clients">${view.t("nav.clients")}</a></p>`,
            );
          },
          (message) => listPage(view, message),
        ),
    ),
  );

  app.post<{ Params: { id: string } }>(
    "/portal/admin/clients/:id/disable",
    options,
    portal.handle(async (view, request) => {
      const id = (request.params as { id: string }).id;
      await view.api.json({
        method: "POST",
        url: `/api/v1/clients/${CLIENT_ID.test(id) ? id : "no-such-client"}/disable`,
        body: {},
      });
      return { redirect: "/portal/admin/clients?done=disabled" };
    }),
  );
}
