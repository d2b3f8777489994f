/**
 * The certification authorities (security admins; auditors read): the hierarchy with each CA's
 * validity and URLs, and the dual-controlled key operations — one admin requests a new issuing
 * CA, a key rollover or a retirement, a second one approves it and only then it runs (the API
 * refuses the requester's own approval).
 */
import type { FastifyInstance } from "fastify";
import { html } from "../html.js";
import { csrfField, errorBox, formatDate, notice, page } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";
import type { PageResult, Portal, PortalRequest } from "../portal.js";
import { uuidParam } from "./enrollment-view.js";
import { apiFailure } from "./forms.js";

interface IssuerJson {
  readonly id: string;
  readonly kind: string;
  readonly parent: string | null;
  readonly status: string;
  readonly keyAlgorithm: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

interface OperationJson {
  readonly id: string;
  readonly kind: "create-issuing-ca" | "rollover-issuing-ca" | "retire-issuer";
  readonly parameters: Record<string, unknown>;
  readonly status: string;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly decidedBy: string | null;
  readonly reason: string | null;
}

const KEY_ALGORITHMS = ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"] as const;

/** The operation request from the form: only the fields of the chosen kind. */
function operationBody(form: Readonly<Record<string, string>>): Record<string, unknown> {
  const number = (text: string | undefined) => (text && /^\d{1,2}$/.test(text) ? Number(text) : undefined);
  const defined = (entries: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined && v !== ""));
  switch (form.kind) {
    case "create-issuing-ca":
      return {
        kind: form.kind,
        parameters: defined({
          id: form.id,
          commonName: form.commonName,
          parent: form.parent,
          algorithm: form.algorithm,
          validityYears: number(form.validityYears),
        }),
      };
    case "rollover-issuing-ca":
      return {
        kind: form.kind,
        parameters: defined({
          issuer: form.issuer,
          newId: form.id,
          commonName: form.commonName,
          algorithm: form.algorithm,
          validityYears: number(form.validityYears),
        }),
      };
    default:
      return { kind: form.kind ?? "", parameters: defined({ issuer: form.issuer }) };
  }
}

async function caPage(view: PortalRequest, error?: string): Promise<string> {
  const [issuers, operations] = await Promise.all([
    view.api.json<{ items: IssuerJson[] }>({ url: "/api/v1/issuers" }),
    view.api.json<{ items: OperationJson[] }>({ url: "/api/v1/ca-operations" }),
  ]);
  const done = view.query.done;
  const options = (values: readonly string[]) => values.map((v) => html`<option value="${v}">${v}</option>`);
  return page(
    view,
    view.t("nav.ca"),
    html`${notice(done === "requested" ? view.t("ca.done.requested") : done === "decided" ? view.t("ca.done.decided") : undefined)}${errorBox(error)}
<table class="issuers"><thead><tr><th>ID</th><th>${view.t("ca.kind")}</th><th>${view.t("ca.parent")}</th><th>${view.t(
      "certificate.status",
    )}</th><th>${view.t("enroll.algorithm")}</th><th>${view.t("certificate.notAfter")}</th><th></th></tr></thead><tbody>${issuers.items.map(
      (i) =>
        html`<tr data-issuer="${i.id}"><td><code>${i.id}</code></td><td>${i.kind}</td><td>${i.parent ?? "—"}</td><td>${i.status}</td><td>${
          i.keyAlgorithm
        }</td><td>${formatDate(view, i.notAfter)}</td><td><a href="/ca/${i.id}.pem">PEM</a></td></tr>`,
    )}</tbody></table>
<section aria-labelledby="operations"><h2 id="operations">${view.t("ca.operations")}</h2>
${
  operations.items.length === 0
    ? html`<p class="empty">${view.t("ca.noOperations")}</p>`
    : html`<table class="operations"><thead><tr><th>${view.t("ca.operation")}</th><th>${view.t("ca.parameters")}</th><th>${view.t(
        "certificate.status",
      )}</th><th>${view.t("ca.requestedBy")}</th><th>${view.t("request.createdAt")}</th><th></th></tr></thead><tbody>${operations.items.map(
        (o) =>
          html`<tr data-operation="${o.id}"><td>${view.t(`ca.kind.${o.kind}` as MessageKey)}</td><td><code>${JSON.stringify(
            o.parameters,
          )}</code></td><td>${o.status}${o.reason ? html` — ${o.reason}` : ""}</td><td>${o.requestedBy}</td><td>${formatDate(view, o.requestedAt)}</td><td>${
            o.status === "pending"
              ? html`<form method="post" action="/portal/admin/ca/operations/${o.id}/approve" class="inline">${csrfField(view)}<button type="submit">${view.t(
                  "ra.approve",
                )}</button></form><form method="post" action="/portal/admin/ca/operations/${o.id}/reject" class="inline">${csrfField(
                  view,
                )}<input name="reason" required maxlength="500" aria-label="${view.t("ra.reason")}" placeholder="${view.t(
                  "ra.reason",
                )}"><button type="submit" class="danger">${view.t("ra.reject")}</button></form>`
              : ""
          }</td></tr>`,
      )}</tbody></table>`
}</section>
<section aria-labelledby="new-operation"><h2 id="new-operation">${view.t("ca.request")}</h2><p class="muted">${view.t("ca.dualControl")}</p>
<form method="post" action="/portal/admin/ca/operations" class="filters">${csrfField(view)}
<label>${view.t("ca.operation")} <select name="kind">${(
      ["create-issuing-ca", "rollover-issuing-ca", "retire-issuer"] as const
    ).map((kind) => html`<option value="${kind}">${view.t(`ca.kind.${kind}`)}</option>`)}</select></label>
<label>${view.t("ca.issuer")} <select name="issuer"><option value=""></option>${options(issuers.items.map((i) => i.id))}</select></label>
<label>${view.t("ca.parent")} <select name="parent"><option value=""></option>${options(
      issuers.items.filter((i) => i.kind === "root").map((i) => i.id),
    )}</select></label>
<label>${view.t("ca.newId")} <input name="id" maxlength="63" pattern="[a-z0-9][a-z0-9\\-]{0,62}"></label>
<label>${view.t("ca.commonName")} <input name="commonName" maxlength="64"></label>
<label>${view.t("enroll.algorithm")} <select name="algorithm">${options(KEY_ALGORITHMS)}</select></label>
<label>${view.t("ca.validityYears")} <input name="validityYears" type="number" min="1" max="20" value="5"></label>
<button type="submit">${view.t("ca.submit")}</button></form></section>`,
  );
}

export function caPages(app: FastifyInstance, portal: Portal, options: object): void {
  app.get(
    "/portal/admin/ca",
    options,
    portal.handle((view) => caPage(view)),
  );

  app.post(
    "/portal/admin/ca/operations",
    options,
    portal.handle(
      async (view): Promise<PageResult> =>
        apiFailure(
          async () => {
            await view.api.json({
              method: "POST",
              url: "/api/v1/ca-operations",
              body: operationBody(view.form),
            });
            return { redirect: "/portal/admin/ca?done=requested" };
          },
          (message) => caPage(view, message),
        ),
    ),
  );

  for (const decision of ["approve", "reject"] as const)
    app.post<{ Params: { id: string } }>(
      `/portal/admin/ca/operations/:id/${decision}`,
      options,
      portal.handle(
        async (view, request): Promise<PageResult> =>
          apiFailure(
            async () => {
              await view.api.json({
                method: "POST",
                url: `/api/v1/ca-operations/${uuidParam(request.params)}/${decision}`,
                body: decision === "reject" ? { reason: view.form.reason ?? "" } : {},
              });
              return { redirect: "/portal/admin/ca?done=decided" };
            },
            (message) => caPage(view, message),
          ),
      ),
    );
}
