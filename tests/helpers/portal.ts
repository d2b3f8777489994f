/** Driving the portal over HTTP as a browser would (cookies, redirects), without a real browser. */
import { Browser, type TestUser, totp } from "./sso.js";

/** Logs `user` into the portal with password + TOTP; returns the browser and the page it lands on. */
export async function portalLogin(issuer: string, user: TestUser, path = "/portal/") {
  const browser = new Browser();
  const start = await browser.follow(`${issuer}${path}`, issuer);
  const loginPage = await start.response.text();
  const interaction = /name="interaction" value="([^"]+)"/.exec(loginPage)?.[1];
  if (!interaction) throw new Error(`no login form: ${start.response.status} ${loginPage.slice(0, 300)}`);
  const done = await browser.follow(`${issuer}/login/password`, issuer, {
    form: { interaction, login: user.employeeNumber, password: user.password, otp: totp(user.totpSecret) },
  });
  return { browser, response: done.response, url: done.url, html: await done.response.text() };
}

/** The CSRF token of the first form on a portal page. */
export function csrfOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error("the page has no form with a CSRF token");
  return token;
}
