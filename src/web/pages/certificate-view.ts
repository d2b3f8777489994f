/** How a certificate appears in lists and on its page (the API's certificate JSON). */
import { html, type Markup } from "../html.js";
import { formatDate, type View } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";

export interface CertificateJson {
  readonly serial: string;
  readonly issuer: string;
  readonly profile: string;
  readonly subject: string;
  readonly orgUnit: string | null;
  readonly subjectAltNames: readonly { type: string; value: string }[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly issuedAt: string;
  readonly status: "good" | "revoked" | "on-hold";
  readonly revokedAt?: string;
  readonly revocationReason?: number | null;
}

export interface CertificatePage {
  readonly items: readonly CertificateJson[];
  readonly nextCursor: string | null;
}

const STATUS_LABEL: Readonly<Record<CertificateJson["status"], MessageKey>> = {
  good: "status.good",
  revoked: "status.revoked",
  "on-hold": "status.on-hold",
};

/** The CN of a subject DN in RFC 4514 form, for display. */
export const commonNameOf = (subject: string): string =>
  /(?:^|,)CN=((?:\\.|[^,])*)/.exec(subject)?.[1]?.replace(/\\(.)/g, "$1") ?? subject;

export const certificateHref = (certificate: Pick<CertificateJson, "serial" | "issuer">): string =>
  `/portal/certificates/${certificate.serial}?issuer=${encodeURIComponent(certificate.issuer)}`;

export const expiresSoon = (certificate: CertificateJson, now: Date, windowDays: number): boolean =>
  certificate.status !== "revoked" &&
  new Date(certificate.notAfter).getTime() - now.getTime() < windowDays * 86_400_000 &&
  new Date(certificate.notAfter) > now;

export function statusBadge(view: View, certificate: CertificateJson): Markup {
  return html`<span class="status status-${certificate.status}">${view.t(STATUS_LABEL[certificate.status])}</span>`;
}

export function certificateTable(
  view: View,
  certificates: readonly CertificateJson[],
  options: { now: Date; expiryWindowDays: number; showOrgUnit?: boolean },
): Markup {
  if (certificates.length === 0) return html`<p class="empty">${view.t("certificates.none")}</p>`;
  return html`<table class="certificates"><thead><tr>
<th>${view.t("certificate.subject")}</th><th>${view.t("certificate.profile")}</th>${
    options.showOrgUnit ? html`<th>${view.t("certificate.orgUnit")}</th>` : ""
  }<th>${view.t("certificate.status")}</th><th>${view.t("certificate.notAfter")}</th><th>${view.t("certificate.serial")}</th>
</tr></thead><tbody>${certificates.map(
    (c) => html`<tr data-serial="${c.serial}">
<td><a href="${certificateHref(c)}">${commonNameOf(c.subject)}</a></td><td>${c.profile}</td>${
      options.showOrgUnit ? html`<td>${c.orgUnit ?? "—"}</td>` : ""
    }<td>${statusBadge(view, c)}</td><td>${formatDate(view, c.notAfter)}${
      expiresSoon(c, options.now, options.expiryWindowDays)
        ? html` <span class="warning">${view.t("certificate.expiresSoon")}</span>`
        : ""
    }</td><td><code>${c.serial}</code></td></tr>`,
  )}</tbody></table>`;
}
