/**
 * The few pages the provider itself shows: login, consent, logout confirmation, errors.
 * Plain server-rendered HTML, every value escaped, no script; the routes send them with a
 * restrictive Content-Security-Policy and frame-ancestors 'none' (clickjacking). Login,
 * consent and logout speak the user's language (the portal's catalogue, src/web/i18n.ts);
 * error pages carry the protocol's English message.
 */
import { type Language, translator } from "../web/i18n.js";

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

function layout(title: string, body: string, language: Language = "en"): string {
  return `<!doctype html>
<html lang="${language === "zh" ? "zh-CN" : "en"}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
form{display:grid;gap:.6rem;margin:1rem 0}input,button{font:inherit;padding:.5rem}button{cursor:pointer}
.error{color:#a00}.muted{color:#555}a.button{display:inline-block;padding:.5rem 1rem;border:1px solid #333;text-decoration:none;color:inherit}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

export function loginPage(
  input: {
    interaction: string;
    clientName: string;
    certificateUrl: string | undefined;
    error?: string | undefined;
  },
  language: Language,
): string {
  const t = translator(language);
  const certificate = input.certificateUrl
    ? `<p><a class="button" id="certificate-login" href="${escapeHtml(input.certificateUrl)}">${t("sso.login.certificate")}</a></p>
<p class="muted">${t("sso.login.orPassword")}</p>`
    : "";
  return layout(
    t("sso.login.title"),
    `<p>${escapeHtml(t("sso.login.continueTo", { client: input.clientName }))}</p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ""}
${certificate}
<form method="post" action="/login/password">
<input type="hidden" name="interaction" value="${escapeHtml(input.interaction)}">
<label>${t("users.employeeNumber")} <input name="login" autocomplete="username" required maxlength="64"></label>
<label>${t("users.password")} <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<label>${t("sso.login.otp")} <input name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required maxlength="6"></label>
<button type="submit">${t("sso.login.submit")}</button>
</form>`,
    language,
  );
}

export function consentPage(
  input: {
    interaction: string;
    clientName: string;
    scopes: readonly string[];
  },
  language: Language,
): string {
  const t = translator(language);
  return layout(
    t("sso.consent.title"),
    `<p>${escapeHtml(t("sso.consent.asks", { client: input.clientName }))}</p>
<ul>${input.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join("")}</ul>
<form method="post" action="/consent">
<input type="hidden" name="interaction" value="${escapeHtml(input.interaction)}">
<button type="submit" name="decision" value="allow">${t("sso.consent.allow")}</button>
<button type="submit" name="decision" value="deny">${t("sso.consent.deny")}</button>
</form>`,
    language,
  );
}

export function logoutConfirmPage(fields: Readonly<Record<string, string>>, language: Language): string {
  const t = translator(language);
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("\n");
  return layout(
    t("sso.logout.title"),
    `<p>${t("sso.logout.question")}</p>
<form method="post" action="/oauth/logout">
${hidden}
<input type="hidden" name="confirm" value="yes">
<button type="submit">${t("nav.logout")}</button>
</form>`,
    language,
  );
}

export const loggedOutPage = (language: Language): string => {
  const t = translator(language);
  return layout(t("logout.title"), `<p>${t("logout.done")}</p>`, language);
};

export const errorPage = (message: string): string =>
  layout("This request cannot be completed", `<p class="error">${escapeHtml(message)}</p>`);
