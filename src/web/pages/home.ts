/** "My certificates": what a civil servant sees first — own certificates, requests and notices. */
import type { FastifyInstance } from "fastify";
import { html } from "../html.js";
import { notice, page } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";
import type { Portal } from "../portal.js";
import { type CertificatePage, certificateTable } from "./certificate-view.js";

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
      const certificates = await view.api.json<CertificatePage>({
        url: "/api/v1/certificates?owner=me&limit=100",
      });
      const done = doneNotice(view.query.done);
      return page(
        view,
        view.t("home.title"),
        html`${notice(done && view.t(done))}
<p class="lead">${view.t("home.greeting", { name: view.me.name })}</p>
<section aria-labelledby="my-certificates"><h2 id="my-certificates">${view.t("home.certificates")}</h2>
${certificateTable(view, certificates.items, { now: portal.clock.now(), expiryWindowDays })}
</section>`,
      );
    }),
  );
}
