/** "My certificates": what a civil servant sees first — own certificates, requests and notices. */
import type { FastifyInstance } from "fastify";
import { html } from "../html.js";
import { csrfField, formatDate, notice, page } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";
import type { Portal } from "../portal.js";
import { type CertificatePage, certificateTable, expiresSoon } from "./certificate-view.js";
import { type EnrollmentPage, enrollmentTable, requestHref, uuidParam } from "./enrollment-view.js";

interface NotificationJson {
  readonly id: string;
  readonly kind: "enrollment.approved" | "enrollment.issued" | "enrollment.rejected" | "enrollment.expired";
  readonly enrollment: string | null;
  readonly createdAt: string;
  readonly readAt: string | null;
}

/** Notices shown after an action redirected here (`?done=`). */
export const DONE_NOTICES: Readonly<Record<string, MessageKey>> = {
  revoked: "done.revoked",
  held: "done.held",
  released: "done.released",
  submitted: "done.submitted",
  approved: "done.approved",
  rejected: "done.rejected",
  withdrawn: "done.withdrawn",
};

export const doneNotice = (done: string | undefined): MessageKey | undefined =>
  done && Object.hasOwn(DONE_NOTICES, done) ? DONE_NOTICES[done] : undefined;

export function homePage(
  app: FastifyInstance,
  portal: Portal,
  options: object,
  expiryWindowDays: number,
): void {
  app.get(
    "/portal/",
    options,
    portal.handle(async (view) => {
      const [certificates, requests, notifications] = await Promise.all([
        view.api.json<CertificatePage>({ url: "/api/v1/certificates?owner=me&limit=100" }),
        view.api.json<EnrollmentPage>({ url: `/api/v1/enrollments?requester=${view.me.id}&limit=20` }),
        view.api.json<{ items: NotificationJson[] }>({ url: "/api/v1/me/notifications?limit=20" }),
      ]);
      const unread = notifications.items.filter((n) => n.readAt === null);
      const now = portal.clock.now();
      const expiring = certificates.items.filter((c) => expiresSoon(c, now, expiryWindowDays));
      const done = doneNotice(view.query.done);
      return page(
        view,
        view.t("home.title"),
        html`${notice(done && view.t(done))}
<p class="lead">${view.t("home.greeting", { name: view.me.name })}</p>
${expiring.length ? html`<p class="warning" role="status" id="expiry-notice">${view.t("home.expiring", { count: expiring.length, days: expiryWindowDays })}</p>` : ""}
${
  unread.length
    ? html`<section aria-labelledby="notices"><h2 id="notices">${view.t("home.notifications")}</h2><ul class="notifications">${unread.map(
        (n) => html`<li data-kind="${n.kind}">${view.t(`notification.${n.kind}` as MessageKey)} ${
          n.enrollment ? html`<a href="${requestHref(n.enrollment)}">${view.t("home.viewRequest")}</a>` : ""
        } <span class="muted">${formatDate(view, n.createdAt)}</span>
<form method="post" action="/portal/notifications/${n.id}/read" class="inline">${csrfField(view)}<button type="submit" class="link">${view.t("home.dismiss")}</button></form></li>`,
      )}</ul></section>`
    : ""
}
<section aria-labelledby="my-certificates"><h2 id="my-certificates">${view.t("home.certificates")}</h2>
${certificateTable(view, certificates.items, { now, expiryWindowDays })}
<p><a class="button" href="/portal/enroll">${view.t("nav.enroll")}</a></p>
</section>
<section aria-labelledby="my-requests"><h2 id="my-requests">${view.t("home.requests")}</h2>
${enrollmentTable(view, requests.items)}
</section>`,
      );
    }),
  );
}

export function notificationActions(app: FastifyInstance, portal: Portal, options: object): void {
  app.post<{ Params: { id: string } }>(
    "/portal/notifications/:id/read",
    options,
    portal.handle(async (view, request) => {
      await view.api.json({
        method: "POST",
        url: `/api/v1/me/notifications/${uuidParam(request.params)}/read`,
        body: {},
      });
      return { redirect: "/portal/" };
    }),
  );
}
