/**
 * Every portal page declares `portal: true`: without a portal session it sends the browser to
 * log in and does nothing else; with one, the REST API's RBAC decides, so a page whose API a
 * role may not call answers that role 403 — the portal has no permission system of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registeredRoutes } from "../../src/app.js";
import { csrfOf, portalLogin } from "../helpers/portal.js";
import { Browser, createSsoHarness, type SsoHarness } from "../helpers/sso.js";

const concrete = (url: string) =>
  url
    .replace(":serial", "0a")
    .replace(":id", "00000000-0000-0000-0000-000000000001")
    .replace(":name", "tls-server");

describe("portal routes", () => {
  let sso: SsoHarness;
  beforeAll(async () => {
    sso = await createSsoHarness("pglite");
  });
  afterAll(async () => sso?.close());

  it("declares every page under /portal as a portal page, and only those", () => {
    const routes = registeredRoutes(sso.app);
    const portal = routes.filter((route) => route.permission === "portal");
    expect(portal.length).toBeGreaterThan(25);
    for (const route of portal) expect(route.url).toMatch(/^\/portal\//);
    const publicPortal = routes
      .filter((route) => route.url.startsWith("/portal") && route.permission === "public")
      .map((route) => `${route.method} ${route.url}`);
    expect(publicPortal.sort()).toEqual([
      "GET /portal/callback",
      "GET /portal/language",
      "GET /portal/logged-out",
      "GET /portal/login",
    ]);
  });

  it("sends a visitor without a session to the provider's login, whatever the page or method, and changes nothing", async () => {
    const before = await sso.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log");
    for (const route of registeredRoutes(sso.app).filter((r) => r.permission === "portal")) {
      const browser = new Browser();
      const response = await browser.request(`${sso.issuer}${concrete(route.url)}`, {
        method: route.method,
        ...(route.method === "POST" ? { form: { _csrf: "x", reason: "x", passphrase: "x" } } : {}),
      });
      if (route.url === "/portal/logout") {
        expect(response.status, route.url).toBe(303); // no session: nothing to end
        continue;
      }
      expect(response.status, `${route.method} ${route.url}`).toBe(303);
      expect(response.headers.get("location"), `${route.method} ${route.url}`).toMatch(
        /^\/oauth\/authorize\?/,
      );
    }
    const after = await sso.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log");
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it("lets the API refuse a subscriber the administration pages (403), not the portal", async () => {
    const { browser, html } = await portalLogin(sso.issuer, await sso.user(["subscriber"]));
    for (const path of [
      "/portal/admin/users",
      "/portal/admin/clients",
      "/portal/admin/ca",
      "/portal/admin",
      "/portal/audit",
    ]) {
      const response = await browser.request(`${sso.issuer}${path}`);
      expect(response.status, path).toBe(403);
      expect(await response.text(), path).toMatch(/permission/);
    }
    // A form post with a valid CSRF token still meets the API's refusal.
    const created = await browser.request(`${sso.issuer}/portal/admin/clients`, {
      form: { _csrf: csrfOf(html), name: "x", tokenEndpointAuthMethod: "client_secret_basic" },
    });
    expect(created.status).toBe(403);
    expect((await sso.context.sso.clients.list()).map((client) => client.name)).not.toContain("x");
  });

  it("shows an auditor the audit log and verifies its chain on demand", async () => {
    const { browser } = await portalLogin(sso.issuer, await sso.user(["auditor"]));
    const response = await browser.request(`${sso.issuer}/portal/audit?verify=1`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('id="chain-status" data-ok="true"');
    expect(text).toContain("portal"); // the portal client's registration is in the log
  });
});
