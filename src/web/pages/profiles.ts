/**
 * Certificate profiles (everyone reads; security admins create and replace them, validated by
 * the same rules as the seeded ones — src/ca/profile.ts — and in force on every node at once).
 * Edited as JSON: the profile document is the API's, shown and sent as it is.
 */
import type { FastifyInstance } from "fastify";
import { html } from "../html.js";
import { csrfField, errorBox, hasAnyRole, notice, page } from "../layout.js";
import type { MessageKey } from "../messages/zh.js";
import type { PageResult, Portal, PortalRequest } from "../portal.js";
import { apiFailure } from "./forms.js";

interface ProfileJson {
  readonly name: string;
  readonly description: string;
  readonly validityDays: number;
  readonly keys: readonly string[];
  readonly requesters: readonly string[];
  readonly approval: "auto" | "ra-operator";
}

const PROFILE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

async function profilesPage(
  view: PortalRequest,
  error?: string,
  draft?: { name?: string; json: string },
): Promise<string> {
  const { items } = await view.api.json<{ items: ProfileJson[] }>({ url: "/api/v1/profiles" });
  const admin = hasAnyRole(view.me, ["security-admin"]);
  const editor = (profile: ProfileJson | undefined) => {
    const json =
      draft && draft.name === profile?.name
        ? draft.json
        : profile
          ? JSON.stringify(profile, null, 2)
          : (draft?.json ?? "");
    return html`<form method="post" action="/portal/admin/profiles${profile ? `/${profile.name}` : ""}" class="stack">${csrfField(view)}
<textarea name="profile" rows="${profile ? 16 : 10}" spellcheck="false">${json}</textarea>
<button type="submit">${view.t("profiles.save")}</button></form>`;
  };
  return page(
    view,
    view.t("nav.profiles"),
    html`${notice(view.query.done === "saved" ? view.t("profiles.done.saved") : undefined)}${errorBox(error)}
<p class="muted">${view.t("profiles.hint")}</p>
<table class="profiles"><thead><tr><th>${view.t("certificate.profile")}</th><th>${view.t("profiles.validity")}</th><th>${view.t(
      "profiles.keys",
    )}</th><th>${view.t("profiles.requesters")}</th><th>${view.t("profiles.approval")}</th></tr></thead><tbody>${items.map(
      (p) =>
        html`<tr data-profile="${p.name}"><td><strong>${p.name}</strong><br><span class="muted">${p.description}</span></td><td>${
          p.validityDays
        }</td><td>${p.keys.join(", ")}</td><td>${p.requesters.map((role) => view.t(`role.${role}` as MessageKey)).join(", ")}</td><td>${view.t(
          `profiles.approval.${p.approval}`,
        )}</td></tr>`,
    )}</tbody></table>
${
  admin
    ? html`${items.map(
        (p) =>
          html`<details id="edit-${p.name}"${draft?.name === p.name ? html` open` : ""}><summary>${view.t("profiles.edit")}: ${p.name}</summary>${editor(p)}</details>`,
      )}<details${draft && !draft.name ? html` open` : ""}><summary>${view.t("profiles.create")}</summary>${editor(undefined)}</details>`
    : ""
}`,
  );
}

/** The posted JSON; what does not parse is refused here, before any API call. */
function parsed(text: string | undefined): object | string {
  try {
    const value: unknown = JSON.parse(text ?? "");
    return value && typeof value === "object" && !Array.isArray(value) ? value : "a profile is a JSON object";
  } catch (error) {
    return `the profile is not JSON: ${(error as Error).message}`;
  }
}

export function profilePages(app: FastifyInstance, portal: Portal, options: object): void {
  app.get(
    "/portal/admin/profiles",
    options,
    portal.handle((view) => profilesPage(view)),
  );

  const save = (name: string | undefined) =>
    portal.handle(async (view): Promise<PageResult> => {
      const body = parsed(view.form.profile);
      const draft = { ...(name ? { name } : {}), json: view.form.profile ?? "" };
      if (typeof body === "string") return { html: await profilesPage(view, body, draft), status: 400 };
      return apiFailure(
        async () => {
          await view.api.json(
            name
              ? { method: "PUT", url: `/api/v1/profiles/${name}`, body }
              : { method: "POST", url: "/api/v1/profiles", body },
          );
          return { redirect: "/portal/admin/profiles?done=saved" };
        },
        (message) => profilesPage(view, message, draft),
      );
    });

  app.post("/portal/admin/profiles", options, save(undefined));
  app.post<{ Params: { name: string } }>("/portal/admin/profiles/:name", options, async (request, reply) => {
    const name = request.params.name;
    return save(PROFILE_NAME.test(name) ? name : "no-such-profile")(request, reply);
  });
}
