/**
 * The security admin's (and auditor's) overview, from GET /api/v1/dashboard: certificates by
 * status and unit, what expires soon, today's revocations, whether every CRL and OCSP answer
 * is fresh, and whether the key store (HSM) answers.
 */
import type { FastifyInstance } from "fastify";
import { html, type Markup } from "../html.js";
import { formatDate, page, type View } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";
import type { Portal } from "../portal.js";

interface StatusCounts {
  readonly total: number;
  readonly good: number;
  readonly onHold: number;
  readonly revoked: number;
  readonly expired: number;
}

interface CrlInfo {
  readonly number: number;
  readonly thisUpdate: string;
  readonly nextUpdate: string;
  readonly entries: number;
  readonly fresh: boolean;
}

interface DashboardJson {
  readonly generatedAt: string;
  readonly certificates: {
    readonly byStatus: StatusCounts;
    readonly byOrgUnit: readonly (StatusCounts & { orgUnit: string })[];
  };
  readonly expiringSoon: { readonly count: number; readonly windowDays: number };
  readonly revocationsToday: {
    readonly timeZone: string;
    readonly revocations: number;
    readonly holds: number;
    readonly last24Hours: { readonly revocations: number; readonly holds: number };
  };
  readonly crl: readonly { issuer: string; full: CrlInfo | null; delta: CrlInfo | null }[];
  readonly ocsp: readonly {
    issuer: string;
    responses: number;
    earliestNextUpdate: string | null;
    expiringWithinMargin: number;
    signer: { serial: string; notAfter: string; valid: boolean } | null;
  }[];
  readonly keyStore: { readonly kind: string; readonly ok: boolean; readonly latencyMs: number };
}

const card = (id: string, label: string, figure: Markup | string | number, detail: Markup | string = "") =>
  html`<div class="card" id="${id}"><div class="muted">${label}</div><div class="figure">${String(figure)}</div><div>${detail}</div></div>`;

const health = (view: View, ok: boolean) =>
  html`<span class="status ${ok ? "status-good" : "status-revoked"}">${view.t(ok ? "dashboard.ok" : "dashboard.stale")}</span>`;

function crlCell(view: View, crl: CrlInfo | null): Markup {
  if (!crl) return html`<td>—</td>`;
  return html`<td>#${crl.number} · ${crl.entries} · ${formatDate(view, crl.nextUpdate)} ${health(view, crl.fresh)}</td>`;
}

export function dashboardPage(app: FastifyInstance, portal: Portal, options: object): void {
  app.get(
    "/portal/admin",
    options,
    portal.handle(async (view) => {
      const d = await view.api.json<DashboardJson>({ url: "/api/v1/dashboard" });
      const status = d.certificates.byStatus;
      const statusColumns: readonly [keyof StatusCounts, MessageKey][] = [
        ["good", "status.good"],
        ["onHold", "status.on-hold"],
        ["revoked", "status.revoked"],
        ["expired", "request.status.expired"],
      ];
      return page(
        view,
        view.t("nav.dashboard"),
        html`<p class="muted">${view.t("dashboard.generated", { at: formatDate(view, d.generatedAt) })}</p>
<div class="cards">
${card("card-certificates", view.t("dashboard.certificates"), status.total, statusColumns.map(([key, label]) => `${view.t(label)} ${status[key]}`).join(" · "))}
${card("card-expiring", view.t("dashboard.expiring", { days: d.expiringSoon.windowDays }), d.expiringSoon.count, html`<a href="/portal/ra">${view.t("nav.ra")}</a>`)}
${card("card-revocations", view.t("dashboard.revocationsToday", { zone: d.revocationsToday.timeZone }), d.revocationsToday.revocations, view.t("dashboard.holds", { holds: d.revocationsToday.holds, revocations24: d.revocationsToday.last24Hours.revocations }))}
${card("card-hsm", view.t("dashboard.keyStore", { kind: d.keyStore.kind }), health(view, d.keyStore.ok), `${d.keyStore.latencyMs.toFixed(1)} ms`)}
</div>
<section aria-labelledby="by-unit"><h2 id="by-unit">${view.t("dashboard.byUnit")}</h2>
<table><thead><tr><th>${view.t("certificate.orgUnit")}</th><th>${view.t("dashboard.total")}</th>${statusColumns.map(
          ([, label]) => html`<th>${view.t(label)}</th>`,
        )}</tr></thead><tbody>${d.certificates.byOrgUnit.map(
          (unit) =>
            html`<tr><td><a href="/portal/admin/certificates?orgUnit=${encodeURIComponent(unit.orgUnit)}">${unit.orgUnit}</a></td><td>${unit.total}</td>${statusColumns.map(
              ([key]) => html`<td>${unit[key]}</td>`,
            )}</tr>`,
        )}</tbody></table></section>
<section aria-labelledby="freshness"><h2 id="freshness">${view.t("dashboard.freshness")}</h2>
<table id="crl-freshness"><thead><tr><th>${view.t("certificate.issuer")}</th><th>${view.t("dashboard.fullCrl")}</th><th>${view.t(
          "dashboard.deltaCrl",
        )}</th></tr></thead><tbody>${d.crl.map(
          (c) =>
            html`<tr data-issuer="${c.issuer}"><td>${c.issuer}</td>${crlCell(view, c.full)}${crlCell(view, c.delta)}</tr>`,
        )}</tbody></table>
<table id="ocsp-freshness"><thead><tr><th>${view.t("certificate.issuer")}</th><th>${view.t("dashboard.ocspResponses")}</th><th>${view.t(
          "dashboard.earliestNextUpdate",
        )}</th><th>${view.t("dashboard.overdue")}</th><th>${view.t("dashboard.signer")}</th></tr></thead><tbody>${d.ocsp.map(
          (o) =>
            html`<tr data-issuer="${o.issuer}"><td>${o.issuer}</td><td>${o.responses}</td><td>${formatDate(view, o.earliestNextUpdate)}</td><td>${o.expiringWithinMargin} ${health(
              view,
              o.expiringWithinMargin === 0,
            )}</td><td>${o.signer ? html`${formatDate(view, o.signer.notAfter)} ${health(view, o.signer.valid)}` : "—"}</td></tr>`,
        )}</tbody></table></section>`,
      );
    }),
  );
}
