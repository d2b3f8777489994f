/**
 * The few pages the provider itself shows: login, consent, logout confirmation, errors.
 * Plain server-rendered HTML, every value escaped, no script; the routes send them with a
 * restrictive Content-Security-Policy and frame-ancestors 'none' (clickjacking).
 */

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}
form{display:grid;gap:.6rem;margin:1rem 0}input,button{font:inherit;padding:.5rem}button{cursor:pointer}
.error{color:#a00}.muted{color:#555}a.button{display:inline-block;padding:.5rem 1rem;border:1px solid #333;text-decoration:none;color:inherit}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

export function loginPage(input: {
  interaction: string;
  clientName: string;
  certificateUrl: string | undefined;
  error?: string | undefined;
}): string {
  const certificate = input.certificateUrl
    ? `<p><a class="button" id="certificate-login" href="${escapeHtml(input.certificateUrl)}">Log in with my certificate</a></p>
<p class="muted">Or, without a certificate at hand:</p>`
    : "";
  return layout(
    "Log in",
    `<p>to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ""}
${certificate}
<form method="post" action="/login/password">
<input type="hidden" name="interaction" value="${escapeHtml(input.interaction)}">
<label>Employee number <input name="login" autocomplete="username" required maxlength="64"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<label>One-time code <input name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required maxlength="6"></label>
<button type="submit">Log in</button>
</form>`,
  );
}

export function consentPage(input: {
  interaction: string;
  clientName: string;
  scopes: readonly string[];
}): string {
  return layout(
    "Allow access?",
    `<p><strong>${escapeHtml(input.clientName)}</strong> asks to receive:</p>
<ul>${input.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join("")}</ul>
<form method="post" action="/consent">
<input type="hidden" name="interaction" value="${escapeHtml(input.interaction)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

export function logoutConfirmPage(fields: Readonly<Record<string, string>>): string {
  const hidden = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("\n");
  return layout(
    "Log out?",
    `<p>Do you want to log out of every government application?</p>
<form method="post" action="/oauth/logout">
${hidden}
<input type="hidden" name="confirm" value="yes">
<button type="submit">Log out</button>
</form>`,
  );
}

export const loggedOutPage = (): string => layout("Logged out", "<p>You have been logged out.</p>");

export const errorPage = (message: string): string =>
  layout("This request cannot be completed", `<p class="error">${escapeHtml(message)}</p>`);
