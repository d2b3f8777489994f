/**
 * The portal as a relying party of our own provider: login through /oauth/authorize with
 * PKCE, the sealed session cookie, CSRF on every form, logout through RP-initiated logout,
 * the language switch, and the security headers (CSP without inline scripts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csrfOf, portalLogin } from "../helpers/portal.js";
import { Browser, createSsoHarness, type SsoHarness } from "../helpers/sso.js";

describe("portal session (OIDC client of our own provider)", () => {
  let sso: SsoHarness;
  // A TOTP code is accepted once (RFC 6238 §5.2): each login is a fresh user's.
  const login = async () => portalLogin(sso.issuer, await sso.user(["subscriber"]));

  beforeAll(async () => {
    sso = await createSsoHarness("pglite");
  });
  afterAll(async () => sso?.close());

  it("sends an anonymous visitor through the provider's authorization endpoint with PKCE S256", async () => {
    const browser = new Browser();
    const response = await browser.request(`${sso.issuer}/portal/`);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get("location")!, sso.issuer);
    expect(location.pathname).toBe("/oauth/authorize");
    expect(location.searchParams.get("client_id")).toBe("gca-portal");
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("redirect_uri")).toBe(`${sso.issuer}/portal/callback`);
    expect(browser.cookies.has("gca_portal_login")).toBe(true);
  });

  it("logs in with password + TOTP and shows the user's page, with strict security headers", async () => {
    const first = await login();
    expect(first.response.status).toBe(200);
    expect(first.html).toContain("Civil Servant");
    expect(first.browser.cookies.has("gca_portal")).toBe(true);
    const csp = first.response.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(first.html).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    expect(first.html).not.toMatch(/\son[a-z]+=/); // no inline event handlers
    expect(first.response.headers.get("cache-control")).toBe("no-store");
    const cookie = first.browser.cookies.get("gca_portal")!;
    expect(cookie).not.toContain("."); // sealed, not a readable JWT
  });

  it("refuses a form without the session's CSRF token and changes nothing", async () => {
    const { browser } = await login();
    const response = await browser.request(`${sso.issuer}/portal/logout`, { form: { _csrf: "forged" } });
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/CSRF|表单已过期|form has expired/);
  });

  it("a forged or foreign session cookie is no session", async () => {
    const browser = new Browser();
    browser.cookies.set("gca_portal", "AAAA");
    const response = await browser.request(`${sso.issuer}/portal/`);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toMatch(/^\/oauth\/authorize\?/);
  });

  it("logs out everywhere: the provider's session ends and the portal asks for a login again", async () => {
    const { browser, html } = await login();
    const logout = await browser.follow(`${sso.issuer}/portal/logout`, sso.issuer, {
      form: { _csrf: csrfOf(html) },
    });
    expect(logout.url).toBe(`${sso.issuer}/portal/logged-out`);
    expect(browser.cookies.has("gca_portal")).toBe(false);
    const again = await browser.follow(`${sso.issuer}/portal/`, sso.issuer);
    expect(await again.response.text()).toContain('name="interaction"'); // the login form, not the page
  });

  it("switches language with a cookie and returns only to portal paths", async () => {
    const { browser } = await login();
    const toEnglish = await browser.request(`${sso.issuer}/portal/language?to=en&return=%2Fportal%2F`);
    expect(toEnglish.headers.get("location")).toBe("/portal/");
    expect(await (await browser.request(`${sso.issuer}/portal/`)).text()).toContain("My certificates");
    await browser.request(`${sso.issuer}/portal/language?to=zh&return=%2Fportal%2F`);
    expect(await (await browser.request(`${sso.issuer}/portal/`)).text()).toContain("我的证书");
    for (const target of ["https://evil.test/", "//evil.test/portal", "/portal/\\evil", "/oauth/authorize"]) {
      const response = await browser.request(
        `${sso.issuer}/portal/language?to=en&return=${encodeURIComponent(target)}`,
      );
      expect(response.headers.get("location"), target).toBe("/portal/");
    }
  });

  it("the provider's login page speaks the portal's language: Chinese by default, English when asked", async () => {
    const browser = new Browser();
    const start = await browser.follow(`${sso.issuer}/portal/`, sso.issuer);
    const chinese = await start.response.text();
    expect(chinese).toContain('<html lang="zh-CN">');
    expect(chinese).toContain("动态口令");
    browser.cookies.set("gca_lang", "en");
    const english = await browser.follow(`${sso.issuer}/portal/`, sso.issuer);
    expect(await english.response.text()).toContain("One-time code");
  });

  it("rejects a callback whose state is not this browser's", async () => {
    const browser = new Browser();
    await browser.request(`${sso.issuer}/portal/`);
    const response = await browser.request(
      `${sso.issuer}/portal/callback?code=x&state=other&iss=${encodeURIComponent(sso.issuer)}`,
    );
    expect(response.status).toBe(400);
    expect(browser.cookies.has("gca_portal")).toBe(false);
  });
});
