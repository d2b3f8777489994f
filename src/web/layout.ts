/** The frame of every portal page: header, navigation by role, language switch, logout. */
import type { Role } from "../../db/stores/principals.js";
import { html, type Markup } from "./html.js";
import type { Language, Translate } from "./i18n.js";
import type { MessageKey } from "./messages/zh.js";

/** The caller, as GET /api/v1/me describes it. */
export interface Me {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly roles: readonly Role[];
  readonly orgUnit: string | null;
}

export interface View {
  readonly t: Translate;
  readonly language: Language;
  /** The path and query of this page, to come back to after a language switch. */
  readonly path: string;
  readonly me?: Me | undefined;
  readonly csrf?: string | undefined;
}

interface NavItem {
  readonly href: string;
  readonly label: MessageKey;
  readonly roles: readonly Role[] | "all";
}

/** Each item shows for the roles the API lets see its data; the API still decides every call. */
const NAV: readonly NavItem[] = [
  { href: "/portal/", label: "nav.mine", roles: "all" },
  { href: "/portal/enroll", label: "nav.enroll", roles: ["subscriber", "ra-operator", "security-admin"] },
  { href: "/portal/ra", label: "nav.ra", roles: ["ra-operator", "security-admin"] },
  {
    href: "/portal/admin/certificates",
    label: "nav.certificates",
    roles: ["ra-operator", "security-admin", "auditor"],
  },
  { href: "/portal/admin/users", label: "nav.users", roles: ["ra-operator", "security-admin"] },
  { href: "/portal/admin/clients", label: "nav.clients", roles: ["security-admin", "auditor"] },
  { href: "/portal/admin/ca", label: "nav.ca", roles: ["security-admin", "auditor"] },
  { href: "/portal/admin/profiles", label: "nav.profiles", roles: ["security-admin", "auditor"] },
  { href: "/portal/admin", label: "nav.dashboard", roles: ["security-admin", "auditor"] },
  { href: "/portal/audit", label: "nav.audit", roles: ["security-admin", "auditor"] },
];

export const hasAnyRole = (me: Me | undefined, roles: readonly Role[]): boolean =>
  me?.roles.some((role) => roles.includes(role)) ?? false;

/** The hidden field that carries the session's CSRF token in every form. */
export const csrfField = (view: View): Markup =>
  html`<input type="hidden" name="_csrf" value="${view.csrf ?? ""}">`;

function navigation(view: View): Markup {
  if (!view.me) return html``;
  const current = view.path.split("?")[0];
  const items = NAV.filter((item) => item.roles === "all" || hasAnyRole(view.me, item.roles));
  return html`<nav aria-label="${view.t("nav.label")}"><ul>${items.map(
    (item) =>
      html`<li><a href="${item.href}"${current === item.href ? html` aria-current="page"` : ""}>${view.t(item.label)}</a></li>`,
  )}</ul></nav>`;
}

function languageSwitch(view: View): Markup {
  const other: Language = view.language === "zh" ? "en" : "zh";
  const target = `/portal/language?to=${other}&return=${encodeURIComponent(view.path)}`;
  return html`<a class="language" href="${target}" lang="${other}" hreflang="${other}">${view.t("language.switch")}</a>`;
}

function account(view: View): Markup {
  if (!view.me) return html``;
  return html`<div class="account"><span class="who">${view.me.name}</span>
<form method="post" action="/portal/logout">${csrfField(view)}<button type="submit" class="link">${view.t("nav.logout")}</button></form></div>`;
}

export function page(view: View, title: string, body: Markup): string {
  return html`<!doctype html>
<html lang="${view.language === "zh" ? "zh-CN" : "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${view.t("app.name")}</title>
<link rel="stylesheet" href="/assets/portal.css">
</head><body>
<header><a class="brand" href="/portal/">${view.t("app.name")}</a>${navigation(view)}<div class="tools">${languageSwitch(view)}${account(view)}</div></header>
<main><h1>${title}</h1>
${body}
</main>
</body></html>`.text;
}

/** A notice after an action (the redirect after a POST carries `?done=<key>`). */
export const notice = (message: string | undefined): Markup =>
  message ? html`<p class="notice" role="status">${message}</p>` : html``;

export const errorBox = (message: string | undefined): Markup =>
  message ? html`<p class="error" role="alert">${message}</p>` : html``;

/** Dates as the user's language writes them, in the service's time zone (ISO otherwise). */
export function formatDate(view: View, iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(view.language === "zh" ? "zh-CN" : "en-GB", {
        dateStyle: "medium",
        timeStyle: "short",
      });
}
