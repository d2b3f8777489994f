/**
 * Directory administration (security admins everywhere, RA operators for subscribers of their
 * subtree — the API decides): list, create, import CSV with its report of rejected rows,
 * disable / enable, set a password, enrol or reset TOTP (the secret is shown once).
 */
import type { FastifyInstance } from "fastify";
import type { Role } from "../../../db/stores/principals.js";
import { ROLES } from "../../auth/principal.js";
import { html, type Markup } from "../html.js";
import { csrfField, errorBox, formatDate, notice, page } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";
import type { PageResult, Portal, PortalRequest } from "../portal.js";
import { uuidParam } from "./enrollment-view.js";
import { apiFailure } from "./forms.js";

interface UserJson {
  readonly id: string;
  readonly name: string;
  readonly employeeNumber: string;
  readonly email: string | null;
  readonly orgUnit: string | null;
  readonly roles: readonly Role[];
  readonly disabledAt: string | null;
  readonly hasPassword: boolean;
  readonly hasTotp: boolean;
  readonly lockedUntil: string | null;
  readonly lastLoginAt: string | null;
}

interface ImportReport {
  readonly created: readonly UserJson[];
  readonly rejected: readonly { line: number; employeeNumber?: string; reason: string }[];
}

const roleLabel = (view: PortalRequest, role: Role) => view.t(`role.${role}` as MessageKey);

const USER_NOTICES: Readonly<Record<string, MessageKey>> = {
  created: "users.done.created",
  disabled: "users.done.disabled",
  enabled: "users.done.enabled",
  password: "users.done.password",
  "totp-reset": "users.done.totpReset",
  saved: "users.done.saved",
};

function userTable(view: PortalRequest, users: readonly UserJson[]): Markup {
  if (users.length === 0) return html`<p class="empty">${view.t("users.none")}</p>`;
  return html`<table class="users"><thead><tr><th>${view.t("users.name")}</th><th>${view.t("users.employeeNumber")}</th><th>${view.t(
    "certificate.orgUnit",
  )}</th><th>${view.t("users.roles")}</th><th>${view.t("certificate.status")}</th><th>${view.t("users.lastLogin")}</th></tr></thead><tbody>${users.map(
    (u) =>
      html`<tr data-user="${u.id}"><td><a href="/portal/admin/users/${u.id}">${u.name}</a></td><td>${u.employeeNumber}</td><td>${
        u.orgUnit ?? "—"
      }</td><td>${u.roles.map((role) => roleLabel(view, role)).join(", ")}</td><td>${
        u.disabledAt
          ? view.t("users.disabled")
          : u.lockedUntil
            ? view.t("users.locked")
            : view.t("users.active")
      }</td><td>${formatDate(view, u.lastLoginAt)}</td></tr>`,
  )}</tbody></table>`;
}

function createForm(view: PortalRequest): Markup {
  const value = (name: string) => view.form[name] ?? "";
  return html`<section aria-labelledby="new-user"><h2 id="new-user">${view.t("users.create")}</h2>
<form method="post" action="/portal/admin/users" class="filters">${csrfField(view)}
<label>${view.t("users.name")} <input name="name" required maxlength="200" value="${value("name")}"></label>
<label>${view.t("users.employeeNumber")} <input name="employeeNumber" required maxlength="64" value="${value("employeeNumber")}"></label>
<label>${view.t("certificate.orgUnit")} <input name="orgUnit" maxlength="330" value="${value("orgUnit") || view.me.orgUnit || ""}"></label>
<label>${view.t("users.email")} <input name="email" type="email" maxlength="320" value="${value("email")}"></label>
<fieldset><legend>${view.t("users.roles")}</legend>${ROLES.map(
    (role) =>
      html`<label class="choice"><input type="checkbox" name="role-${role}" value="yes"${
        role === "subscriber" ? html` checked` : ""
      }> ${roleLabel(view, role)}</label>`,
  )}</fieldset>
<button type="submit">${view.t("users.create")}</button></form></section>
<section aria-labelledby="import-users"><h2 id="import-users">${view.t("users.import")}</h2>
<p class="muted">${view.t("users.import.hint")}</p>
<form method="post" action="/portal/admin/users/import" class="stack">${csrfField(view)}
<textarea name="csv" rows="6" required spellcheck="false" placeholder="name,employee_number,org_unit,roles,email"></textarea>
<button type="submit">${view.t("users.import")}</button></form></section>`;
}

async function listPage(view: PortalRequest, error?: string, report?: ImportReport): Promise<string> {
  const query = new URLSearchParams({ limit: "100" });
  if (view.query.orgUnit) query.set("orgUnit", view.query.orgUnit.slice(0, 330));
  if (view.query.cursor) query.set("cursor", view.query.cursor.slice(0, 32));
  const users = await view.api.json<{ items: UserJson[]; nextCursor: string | null }>({
    url: `/api/v1/users?${query}`,
  });
  const done =
    view.query.done && Object.hasOwn(USER_NOTICES, view.query.done)
      ? USER_NOTICES[view.query.done]
      : undefined;
  const next = users.nextCursor
    ? new URLSearchParams({ ...Object.fromEntries(query), cursor: users.nextCursor })
    : undefined;
  const importReport = report
    ? html`<section aria-labelledby="import-report" id="import-report"><h2 id="import-report">${view.t(
        "users.import.report",
        {
          created: report.created.length,
          rejected: report.rejected.length,
        },
      )}</h2>${
        report.rejected.length
          ? html`<table><thead><tr><th>${view.t("users.import.line")}</th><th>${view.t("users.employeeNumber")}</th><th>${view.t(
              "request.reason",
            )}</th></tr></thead><tbody>${report.rejected.map(
              (row) =>
                html`<tr><td>${row.line}</td><td>${row.employeeNumber ?? ""}</td><td>${row.reason}</td></tr>`,
            )}</tbody></table>`
          : ""
      }</section>`
    : "";
  return page(
    view,
    view.t("nav.users"),
    html`${notice(done && view.t(done))}${errorBox(error)}${importReport}
<form method="get" action="/portal/admin/users" class="filters"><label>${view.t("certificate.orgUnit")} <input name="orgUnit" value="${
      view.query.orgUnit ?? ""
    }" maxlength="330"></label><button type="submit">${view.t("action.search")}</button></form>
${userTable(view, users.items)}
${next ? html`<p><a href="/portal/admin/users?${next.toString()}">${view.t("action.more")}</a></p>` : ""}
${createForm(view)}`,
  );
}

async function userPage(
  view: PortalRequest,
  id: string,
  shown?: { secret: string; otpauthUri: string },
  error?: string,
): Promise<string> {
  const u = await view.api.json<UserJson>({ url: `/api/v1/users/${id}` });
  const done =
    view.query.done && Object.hasOwn(USER_NOTICES, view.query.done)
      ? USER_NOTICES[view.query.done]
      : undefined;
  const action = (path: string, label: MessageKey, extra: Markup = html``, style = "") =>
    html`<form method="post" action="/portal/admin/users/${u.id}/${path}" class="inline">${csrfField(view)}${extra}<button type="submit"${
      style ? html` class="${style}"` : ""
    }>${view.t(label)}</button></form>`;
  const row = (label: MessageKey, value: unknown) =>
    html`<tr><th scope="row">${view.t(label)}</th><td>${value as string}</td></tr>`;
  return page(
    view,
    u.name,
    html`${notice(done && view.t(done))}${errorBox(error)}${
      shown
        ? html`<section class="notice" id="totp-secret"><p>${view.t("users.totp.shown")}</p><p><code>${shown.secret}</code></p><p><code>${shown.otpauthUri}</code></p></section>`
        : ""
    }<table class="details">
${row("users.employeeNumber", u.employeeNumber)}
${row("certificate.orgUnit", u.orgUnit ?? "—")}
${row("users.email", u.email ?? "—")}
${row("users.roles", u.roles.map((role) => roleLabel(view, role)).join(", "))}
${row("certificate.status", u.disabledAt ? view.t("users.disabled") : u.lockedUntil ? view.t("users.locked") : view.t("users.active"))}
${row("users.password", u.hasPassword ? view.t("users.set") : view.t("users.notSet"))}
${row("users.totp", u.hasTotp ? view.t("users.set") : view.t("users.notSet"))}
${row("users.lastLogin", formatDate(view, u.lastLoginAt))}
</table>
<section aria-labelledby="user-actions"><h2 id="user-actions">${view.t("certificate.actions")}</h2>
${u.disabledAt ? action("enable", "users.enable") : action("disable", "users.disable", html``, "danger")}
${u.hasTotp ? action("totp-reset", "users.totp.reset") : action("totp", "users.totp.enroll")}
${action(
  "password",
  "users.password.set",
  html`<input type="password" name="password" required minlength="12" maxlength="1024" autocomplete="new-password" aria-label="${view.t(
    "users.password",
  )}"> `,
)}
<p><a href="/portal/admin/certificates?subject=${encodeURIComponent(u.name)}">${view.t("users.certificates")}</a></p></section>
<section aria-labelledby="edit-user"><h2 id="edit-user">${view.t("users.edit")}</h2>
<form method="post" action="/portal/admin/users/${u.id}/edit" class="filters">${csrfField(view)}
<label>${view.t("users.name")} <input name="name" required maxlength="200" value="${u.name}"></label>
<label>${view.t("certificate.orgUnit")} <input name="orgUnit" maxlength="330" value="${u.orgUnit ?? ""}"></label>
<label>${view.t("users.email")} <input name="email" type="email" maxlength="320" value="${u.email ?? ""}"></label>
<fieldset><legend>${view.t("users.roles")}</legend>${ROLES.map(
      (role) =>
        html`<label class="choice"><input type="checkbox" name="role-${role}" value="yes"${
          u.roles.includes(role) ? html` checked` : ""
        }> ${roleLabel(view, role)}</label>`,
    )}</fieldset>
<button type="submit">${view.t("users.save")}</button></form></section>`,
  );
}

const selectedRoles = (form: Readonly<Record<string, string>>): Role[] =>
  ROLES.filter((role) => form[`role-${role}`] === "yes");

export function userPages(app: FastifyInstance, portal: Portal, options: object): void {
  app.get(
    "/portal/admin/users",
    options,
    portal.handle((view) => listPage(view)),
  );

  app.post(
    "/portal/admin/users",
    options,
    portal.handle(async (view): Promise<PageResult> => {
      const form = view.form;
      return apiFailure(
        async () => {
          const created = await view.api.json<UserJson>({
            method: "POST",
            url: "/api/v1/users",
            body: {
              name: form.name ?? "",
              employeeNumber: form.employeeNumber ?? "",
              orgUnit: form.orgUnit || null,
              roles: selectedRoles(form),
              email: form.email || null,
            },
          });
          return { redirect: `/portal/admin/users/${created.id}?done=created` };
        },
        (message) => listPage(view, message),
      );
    }),
  );

  app.post(
    "/portal/admin/users/import",
    options,
    portal.handle(async (view) =>
      apiFailure(
        async () => {
          const report = await view.api.json<ImportReport>({
            method: "POST",
            url: "/api/v1/users/import",
            body: { format: "csv", data: view.form.csv ?? "" },
          });
          return listPage(view, undefined, report);
        },
        (message) => listPage(view, message),
      ),
    ),
  );

  app.get<{ Params: { id: string } }>(
    "/portal/admin/users/:id",
    options,
    portal.handle((view, request) => userPage(view, uuidParam(request.params))),
  );

  const simple = { disable: "disabled", enable: "enabled" } as const;
  for (const [operation, done] of Object.entries(simple))
    app.post<{ Params: { id: string } }>(
      `/portal/admin/users/:id/${operation}`,
      options,
      portal.handle(async (view, request) => {
        const id = uuidParam(request.params);
        await view.api.json({ method: "POST", url: `/api/v1/users/${id}/${operation}`, body: {} });
        return { redirect: `/portal/admin/users/${id}?done=${done}` };
      }),
    );

  app.post<{ Params: { id: string } }>(
    "/portal/admin/users/:id/edit",
    options,
    portal.handle(async (view, request): Promise<PageResult> => {
      const id = uuidParam(request.params);
      const form = view.form;
      return apiFailure(
        async () => {
          const current = await view.api.json<UserJson>({ url: `/api/v1/users/${id}` });
          const roles = selectedRoles(form);
          const sameRoles =
            roles.length === current.roles.length && roles.every((r) => current.roles.includes(r));
          await view.api.json({
            method: "PATCH",
            url: `/api/v1/users/${id}`,
            body: {
              name: form.name ?? "",
              email: form.email || null,
              orgUnit: form.orgUnit || null,
              // Only a change: nobody may send its own roles, even unchanged.
              ...(sameRoles ? {} : { roles }),
            },
          });
          return { redirect: `/portal/admin/users/${id}?done=saved` };
        },
        (message) => userPage(view, id, undefined, message),
      );
    }),
  );

  app.post<{ Params: { id: string } }>(
    "/portal/admin/users/:id/password",
    options,
    portal.handle(async (view, request) => {
      const id = uuidParam(request.params);
      await view.api.json({
        method: "PUT",
        url: `/api/v1/users/${id}/password`,
        body: { password: view.form.password ?? "" },
      });
      return { redirect: `/portal/admin/users/${id}?done=password` };
    }),
  );

  app.post<{ Params: { id: string } }>(
    "/portal/admin/users/:id/totp",
    options,
    portal.handle(async (view, request) => {
      const id = uuidParam(request.params);
      const enrolled = await view.api.json<{ secret: string; otpauthUri: string }>({
        method: "POST",
        url: `/api/v1/users/${id}/totp`,
        body: {},
      });
      return userPage(view, id, enrolled); // shown once: never stored by the portal, never in a URL
    }),
  );

  app.post<{ Params: { id: string } }>(
    "/portal/admin/users/:id/totp-reset",
    options,
    portal.handle(async (view, request) => {
      const id = uuidParam(request.params);
      await view.api.json({ method: "DELETE", url: `/api/v1/users/${id}/totp` });
      return { redirect: `/portal/admin/users/${id}?done=totp-reset` };
    }),
  );
}
