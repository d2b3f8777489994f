/** Enrolment requests as the API returns them (src/ra/enrollment-view.ts), and how they look. */

import type { EnrollmentMethod, EnrollmentStatus } from "../../../db/stores/enrollments.js";
import type { EnrollmentView } from "../../ra/enrollment-view.js";
import { html, type Markup } from "../html.js";
import { formatDate, type View } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";

export type { EnrollmentMethod, EnrollmentStatus } from "../../../db/stores/enrollments.js";

/** The API's request document (src/ra/enrollment-view.ts), plus what only the submit answer carries. */
export type EnrollmentJson = EnrollmentView & {
  /** server-keygen issued at once: the PKCS#12, base64, in the submit answer only. */
  readonly pkcs12?: string;
};

export interface EnrollmentPage {
  readonly items: readonly EnrollmentJson[];
  readonly nextCursor: string | null;
}

export const requestHref = (id: string): string => `/portal/requests/${id}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NO_SUCH_ID = "00000000-0000-0000-0000-000000000000";

/** A route's `:id` as a UUID for an API path: anything else becomes one that exists nowhere (404). */
export const uuidParam = (params: unknown): string => {
  const id = (params as { id?: unknown }).id;
  return typeof id === "string" && UUID.test(id) ? id : NO_SUCH_ID;
};

export const enrollmentStatusBadge = (view: View, status: EnrollmentStatus): Markup =>
  html`<span class="status status-${status}">${view.t(`request.status.${status}` as MessageKey)}</span>`;

export const methodLabel = (view: View, method: EnrollmentMethod): string =>
  view.t(`enroll.method.${method}` as MessageKey);

export function enrollmentTable(view: View, requests: readonly EnrollmentJson[]): Markup {
  if (requests.length === 0) return html`<p class="empty">${view.t("requests.none")}</p>`;
  return html`<table class="requests"><thead><tr><th>${view.t("certificate.profile")}</th><th>${view.t(
    "request.method",
  )}</th><th>${view.t("certificate.status")}</th><th>${view.t("request.createdAt")}</th></tr></thead><tbody>${requests.map(
    (r) =>
      html`<tr data-request="${r.id}"><td><a href="${requestHref(r.id)}">${r.profile}</a></td><td>${methodLabel(
        view,
        r.method,
      )}</td><td>${enrollmentStatusBadge(view, r.status)}</td><td>${formatDate(view, r.createdAt)}</td></tr>`,
  )}</tbody></table>`;
}
