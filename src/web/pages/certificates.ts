/**
 * A certificate's page (holder, RA operator, security admin, auditor: the API decides who may
 * see which), its PEM chain download, and the revoke / suspend / release forms. The admin
 * search lists certificates in the caller's scope.
 */
import type { FastifyInstance } from "fastify";
import { REVOCATION_REASONS, reasonName } from "../../revocation/reasons.js";
import { html } from "../html.js";
import { csrfField, errorBox, formatDate, hasAnyRole, notice, page, type View } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";
import type { Portal, PortalRequest } from "../portal.js";
import {
  type CertificateJson,
  type CertificatePage,
  certificateHref,
  certificateTable,
  commonNameOf,
  statusBadge,
} from "./certificate-view.js";
import { doneNotice } from "./home.js";

const SERIAL = /^[0-9a-fA-F]{1,40}$/;
const ISSUER = /^[a-z0-9][a-z0-9-]{0,62}$/;

interface Params {
  Params: { serial: string };
  Querystring: { issuer?: string };
}

function reference(view: PortalRequest, serial: string): { serial: string; issuerQuery: string } {
  const issuer = view.query.issuer ?? view.form.issuer;
  return {
    serial: SERIAL.test(serial) ? serial : "0",
    issuerQuery: issuer && ISSUER.test(issuer) ? `?issuer=${issuer}` : "",
  };
}

function details(view: View, c: CertificateJson) {
  const row = (label: MessageKey, value: unknown) =>
    html`<tr><th scope="row">${view.t(label)}</th><td>${value as string}</td></tr>`;
  const reason =
    c.revocationReason === null || c.revocationReason === undefined
      ? undefined
      : reasonName(c.revocationReason);
  return html`<table class="details">
${row("certificate.subject", c.subject)}
${row("certificate.status", statusBadge(view, c))}
${c.revokedAt ? row("certificate.revokedAt", formatDate(view, c.revokedAt)) : ""}
${reason ? row("certificate.reason", reason) : ""}
${row("certificate.serial", html`<code>${c.serial}</code>`)}
${row("certificate.issuer", c.issuer)}
${row("certificate.profile", c.profile)}
${row("certificate.orgUnit", c.orgUnit ?? "—")}
${row("certificate.notBefore", formatDate(view, c.notBefore))}
${row("certificate.notAfter", formatDate(view, c.notAfter))}
${c.subjectAltNames.length ? row("certificate.names", c.subjectAltNames.map((n) => `${n.type}: ${n.value}`).join(", ")) : ""}
</table>`;
}

function actions(view: PortalRequest, c: CertificateJson) {
  if (c.status === "revoked") return html``;
  const action = (operation: string) => `${certificateHref(c).replace("?", `/${operation}?`)}`;
  const release = html`<form method="post" action="${action("release")}" class="inline">${csrfField(view)}
<button type="submit">${view.t("action.release")}</button></form>`;
  const hold = html`<form method="post" action="${action("hold")}" class="inline">${csrfField(view)}
<button type="submit">${view.t("action.hold")}</button></form>`;
  return html`<section aria-labelledby="actions"><h2 id="actions">${view.t("certificate.actions")}</h2>
${c.status === "on-hold" ? release : hold}
<form method="post" action="${action("revoke")}" class="revoke">${csrfField(view)}
<label>${view.t("revoke.reason")} <select name="reason">${REVOCATION_REASONS.map(
    (reason) => html`<option value="${reason}">${view.t(`reason.${reason}` as MessageKey)}</option>`,
  )}</select></label>
<label class="confirm"><input type="checkbox" name="confirm" value="yes" required> ${view.t("revoke.confirm")}</label>
<button type="submit" class="danger">${view.t("action.revoke")}</button>
</form></section>`;
}

export function certificatePages(
  app: FastifyInstance,
  portal: Portal,
  options: object,
  expiryWindowDays: number,
): void {
  app.get<Params>(
    "/portal/certificates/:serial",
    options,
    portal.handle(async (view, request) => {
      const { serial, issuerQuery } = reference(view, (request.params as { serial: string }).serial);
      const certificate = await view.api.json<CertificateJson>({
        url: `/api/v1/certificates/${serial}${issuerQuery}`,
      });
      const done = doneNotice(view.query.done);
      return page(
        view,
        commonNameOf(certificate.subject),
        html`${notice(done && view.t(done))}${details(view, certificate)}
<p><a class="button" href="${certificateHref(certificate).replace("?", "/chain.pem?")}">${view.t("certificate.download")}</a>
<a class="button" href="/portal/enroll?profile=${encodeURIComponent(certificate.profile)}">${view.t("certificate.renew")}</a></p>
${actions(view, certificate)}`,
      );
    }),
  );

  app.get<Params>(
    "/portal/certificates/:serial/chain.pem",
    options,
    portal.handle(async (view, request) => {
      const { serial, issuerQuery } = reference(view, (request.params as { serial: string }).serial);
      const chain = await view.api.bytes({
        url: `/api/v1/certificates/${serial}${issuerQuery}`,
        accept: "application/pem-certificate-chain",
      });
      return { file: chain.body, type: "application/pem-certificate-chain", name: `${serial}.pem` };
    }),
  );

  for (const operation of ["revoke", "hold", "release"] as const)
    app.post<Params>(
      `/portal/certificates/:serial/${operation}`,
      options,
      portal.handle(async (view, request) => {
        const { serial, issuerQuery } = reference(view, (request.params as { serial: string }).serial);
        const issuer = view.query.issuer;
        if (operation === "revoke" && view.form.confirm !== "yes")
          return {
            html: page(view, view.t("error.title"), errorBox(view.t("revoke.unconfirmed"))),
            status: 400,
          };
        await view.api.json({
          method: "POST",
          url: `/api/v1/certificates/${serial}/${operation}`,
          body: {
            ...(operation === "revoke" ? { reason: view.form.reason } : {}),
            ...(issuer && ISSUER.test(issuer) ? { issuer } : {}),
          },
        });
        const done = { revoke: "revoked", hold: "held", release: "released" }[operation];
        return {
          redirect: `/portal/certificates/${serial}${issuerQuery ? `${issuerQuery}&` : "?"}done=${done}`,
        };
      }),
    );

  app.get(
    "/portal/admin/certificates",
    options,
    portal.handle(async (view) => {
      const filters = new URLSearchParams({ limit: "50" });
      for (const name of ["subject", "status", "profile", "orgUnit", "cursor"] as const) {
        const value = view.query[name];
        if (typeof value === "string" && value !== "") filters.set(name, value.slice(0, 200));
      }
      const found = await view.api.json<CertificatePage>({ url: `/api/v1/certificates?${filters}` });
      const next = found.nextCursor
        ? new URLSearchParams({ ...Object.fromEntries(filters), cursor: found.nextCursor })
        : undefined;
      const value = (name: string) => view.query[name] ?? "";
      return page(
        view,
        view.t("nav.certificates"),
        html`<form method="get" action="/portal/admin/certificates" class="filters">
<label>${view.t("certificate.subject")} <input name="subject" value="${value("subject")}" maxlength="200"></label>
<label>${view.t("certificate.status")} <select name="status"><option value="">${view.t("filter.any")}</option>${(
          ["good", "on-hold", "revoked"] as const
        ).map(
          (status) =>
            html`<option value="${status}"${value("status") === status ? html` selected` : ""}>${view.t(`status.${status}`)}</option>`,
        )}</select></label>
<label>${view.t("certificate.profile")} <input name="profile" value="${value("profile")}" maxlength="63"></label>
${hasAnyRole(view.me, ["security-admin", "auditor", "ra-operator"]) ? html`<label>${view.t("certificate.orgUnit")} <input name="orgUnit" value="${value("orgUnit")}" maxlength="200"></label>` : ""}
<button type="submit">${view.t("action.search")}</button></form>
${certificateTable(view, found.items, { now: portal.clock.now(), expiryWindowDays, showOrgUnit: true })}
${next ? html`<p><a href="/portal/admin/certificates?${next.toString()}">${view.t("action.more")}</a></p>` : ""}`,
      );
    }),
  );
}
