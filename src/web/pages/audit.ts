/**
 * The auditor's view of the hash-chained audit log: filter by actor, action, target and time,
 * page forward in chain order, and verify the whole chain on demand (GET /api/v1/audit/verify
 * walks every record, so it runs when asked, not on every page view).
 */
import type { FastifyInstance } from "fastify";
import { html } from "../html.js";
import { formatDate, page } from "../layout.js";
import type { Portal, PortalRequest } from "../portal.js";

interface AuditRecordJson {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: "success" | "failure";
  readonly details: Record<string, unknown>;
  readonly hash: string;
}

type Verification =
  | { ok: true; records: number; headHash: string }
  | { ok: false; records: number; seq: number; problem: string };

const TEXT_FILTERS = ["actor", "action", "target"] as const;
/** datetime-local inputs (UTC, as the label says) → RFC 3339 for the API. */
const TIME_FILTERS = { since: "since", until: "until" } as const;

function apiQuery(view: PortalRequest): URLSearchParams {
  const query = new URLSearchParams({ limit: "100" });
  for (const name of TEXT_FILTERS) {
    const value = view.query[name]?.trim();
    if (value) query.set(name, value.slice(0, 200));
  }
  for (const name of Object.keys(TIME_FILTERS) as (keyof typeof TIME_FILTERS)[]) {
    const value = view.query[name];
    if (value && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) query.set(name, `${value}:00Z`);
  }
  const after = view.query.after;
  if (after && /^\d{1,15}$/.test(after)) query.set("after", after);
  return query;
}

function verification(view: PortalRequest, result: Verification | undefined) {
  if (!result)
    return html`<form method="get" action="/portal/audit"><input type="hidden" name="verify" value="1"><button type="submit">${view.t(
      "audit.verify",
    )}</button></form>`;
  return result.ok
    ? html`<p class="notice" role="status" id="chain-status" data-ok="true">${view.t("audit.verified", {
        records: result.records,
        head: result.headHash.slice(0, 16),
      })}</p>`
    : html`<p class="error" role="alert" id="chain-status" data-ok="false">${view.t("audit.broken", {
        seq: result.seq,
        problem: result.problem,
      })}</p>`;
}

export function auditPage(app: FastifyInstance, portal: Portal, options: object): void {
  app.get(
    "/portal/audit",
    options,
    portal.handle(async (view) => {
      const query = apiQuery(view);
      const [records, verified] = await Promise.all([
        view.api.json<{ items: AuditRecordJson[]; next: number | null }>({ url: `/api/v1/audit?${query}` }),
        view.query.verify === "1" ? view.api.json<Verification>({ url: "/api/v1/audit/verify" }) : undefined,
      ]);
      const value = (name: string) => view.query[name] ?? "";
      const nextQuery = new URLSearchParams(
        Object.entries(view.query).filter(([name]) => name !== "after" && name !== "verify"),
      );
      if (records.next !== null) nextQuery.set("after", String(records.next));
      return page(
        view,
        view.t("nav.audit"),
        html`${verification(view, verified)}
<form method="get" action="/portal/audit" class="filters">
${TEXT_FILTERS.map((name) => html`<label>${view.t(`audit.${name}`)} <input name="${name}" value="${value(name)}" maxlength="200"></label>`)}
<label>${view.t("audit.since")} <input type="datetime-local" name="since" value="${value("since")}"></label>
<label>${view.t("audit.until")} <input type="datetime-local" name="until" value="${value("until")}"></label>
<button type="submit">${view.t("action.search")}</button></form>
${
  records.items.length === 0
    ? html`<p class="empty">${view.t("audit.none")}</p>`
    : html`<table class="audit"><thead><tr><th>#</th><th>${view.t("audit.at")}</th><th>${view.t("audit.actor")}</th><th>${view.t(
        "audit.action",
      )}</th><th>${view.t("audit.target")}</th><th>${view.t("audit.outcome")}</th><th>${view.t("audit.details")}</th></tr></thead><tbody>${records.items.map(
        (r) =>
          html`<tr data-seq="${r.seq}"><td>${r.seq}</td><td>${formatDate(view, r.at)}</td><td>${r.actor}</td><td>${r.action}</td><td>${r.target}</td><td>${
            r.outcome === "success" ? view.t("audit.success") : view.t("audit.failure")
          }</td><td><code>${JSON.stringify(r.details)}</code></td></tr>`,
      )}</tbody></table>`
}
${records.next !== null ? html`<p><a href="/portal/audit?${nextQuery.toString()}">${view.t("action.more")}</a></p>` : ""}`,
      );
    }),
  );
}
