/**
 * The RA operator's queue: pending requests of its org subtree (a security admin's: all), with
 * the requester's directory data, approved or rejected with a reason. The API scopes the list
 * and refuses decisions out of scope and on one's own request (four eyes).
 */
import type { FastifyInstance } from "fastify";
import { html } from "../html.js";
import { csrfField, formatDate, notice, page } from "../layout.js";
import type { Portal } from "../portal.js";
import { type CertificatePage, certificateTable } from "./certificate-view.js";
import { type EnrollmentPage, methodLabel, requestHref, uuidParam } from "./enrollment-view.js";
import { doneNotice } from "./home.js";

export function raQueuePage(
  app: FastifyInstance,
  portal: Portal,
  options: object,
  expiryWindowDays: number,
): void {
  app.get(
    "/portal/ra",
    options,
    portal.handle(async (view) => {
      const cursor = view.query.cursor;
      const query = new URLSearchParams({
        status: "pending",
        limit: "50",
        ...(cursor ? { cursor: cursor.slice(0, 200) } : {}),
      });
      const now = portal.clock.now();
      const expiring = new URLSearchParams({
        status: "good",
        expiresAfter: now.toISOString(),
        expiresBefore: new Date(now.getTime() + expiryWindowDays * 86_400_000).toISOString(),
        limit: "100",
      });
      const [queue, soon] = await Promise.all([
        view.api.json<EnrollmentPage>({ url: `/api/v1/enrollments?${query}` }),
        view.api.json<CertificatePage>({ url: `/api/v1/certificates?${expiring}` }),
      ]);
      const done = doneNotice(view.query.done);
      const rows = queue.items.map((r) => {
        const own = r.requester.id === view.me.id;
        const decide = own
          ? html`<span class="muted">${view.t("ra.ownRequest")}</span>`
          : html`<form method="post" action="/portal/ra/${r.id}/approve" class="inline">${csrfField(view)}<button type="submit">${view.t(
              "ra.approve",
            )}</button></form>
<form method="post" action="/portal/ra/${r.id}/reject" class="inline">${csrfField(view)}<input name="reason" required maxlength="500" placeholder="${view.t(
              "ra.reason",
            )}" aria-label="${view.t("ra.reason")}"><button type="submit" class="danger">${view.t("ra.reject")}</button></form>`;
        return html`<tr data-request="${r.id}"><td><a href="${requestHref(r.id)}">${r.requester.name}</a><br><span class="muted">${
          r.requester.employeeNumber ?? ""
        } ${r.requester.email ?? ""}</span></td><td>${r.requester.orgUnit ?? "—"}</td><td>${r.profile}</td><td>${methodLabel(
          view,
          r.method,
        )}</td><td>${formatDate(view, r.createdAt)}</td><td>${decide}</td></tr>`;
      });
      return page(
        view,
        view.t("nav.ra"),
        html`${notice(done && view.t(done))}${
          rows.length === 0
            ? html`<p class="empty">${view.t("ra.empty")}</p>`
            : html`<table class="queue"><thead><tr><th>${view.t("request.requester")}</th><th>${view.t(
                "certificate.orgUnit",
              )}</th><th>${view.t("certificate.profile")}</th><th>${view.t("request.method")}</th><th>${view.t(
                "request.createdAt",
              )}</th><th>${view.t("certificate.actions")}</th></tr></thead><tbody>${rows}</tbody></table>`
        }${queue.nextCursor ? html`<p><a href="/portal/ra?cursor=${encodeURIComponent(queue.nextCursor)}">${view.t("action.more")}</a></p>` : ""}
<section aria-labelledby="expiring"><h2 id="expiring">${view.t("ra.expiring", { days: expiryWindowDays })}</h2>
${certificateTable(view, soon.items, { now, expiryWindowDays, showOrgUnit: true })}</section>`,
      );
    }),
  );

  for (const decision of ["approve", "reject"] as const)
    app.post<{ Params: { id: string } }>(
      `/portal/ra/:id/${decision}`,
      options,
      portal.handle(async (view, request) => {
        await view.api.json({
          method: "POST",
          url: `/api/v1/enrollments/${uuidParam(request.params)}/${decision}`,
          body: decision === "reject" ? { reason: view.form.reason ?? "" } : {},
        });
        return { redirect: `/portal/ra?done=${decision === "approve" ? "approved" : "rejected"}` };
      }),
    );
}
