/**
 * fast-check over every portal form, posted by a logged-in security admin with a valid CSRF
 * token: whatever the fields, the answer is a page, a redirect or a file — never a 5xx — and a
 * refused form changes nothing (the audit log, which records every state change, does not grow).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registeredRoutes } from "../../src/app.js";
import { csrfOf, portalLogin } from "../helpers/portal.js";
import { type Browser, createSsoHarness, type SsoHarness } from "../helpers/sso.js";

const FIELDS = [
  "profile",
  "method",
  "algorithm",
  "csr",
  "passphrase",
  "passphrase2",
  "reason",
  "confirm",
  "name",
  "employeeNumber",
  "orgUnit",
  "email",
  "role-subscriber",
  "role-security-admin",
  "csv",
  "password",
  "tokenEndpointAuthMethod",
  "grant-authorization_code",
  "redirectUris",
  "jwks",
  "kind",
  "issuer",
  "id",
  "commonName",
  "validityYears",
] as const;

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "",
    "yes",
    "browser",
    "csr",
    "server-keygen",
    "user-signing",
    "ec:P-256",
    "gov",
    "{",
    "[]",
    "-----BEGIN",
  ),
  fc.string({ unit: "grapheme", maxLength: 20 }),
);

describe("portal forms under fast-check", () => {
  let sso: SsoHarness;
  let browser: Browser;
  let csrf: string;

  beforeAll(async () => {
    sso = await createSsoHarness("pglite");
    const login = await portalLogin(sso.issuer, await sso.user(["security-admin"]));
    browser = login.browser;
    csrf = csrfOf(login.html);
  });
  afterAll(async () => sso?.close());

  it("never answers a 5xx to any page's query string, repeated names and odd values included", async () => {
    // Once a 500: a repeated name reached the page as an array.
    for (const url of [
      "/portal/audit?actor=a&actor=b&since=x&since=y",
      "/portal/admin/certificates?subject=a&subject=b",
    ])
      expect((await browser.request(`${sso.issuer}${url}`)).status, url).toBe(200);
    const pages = registeredRoutes(sso.app).filter(
      (route) => route.permission === "portal" && route.method === "GET",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...pages),
        fc.array(
          fc.tuple(
            fc.constantFrom(
              "done",
              "subject",
              "status",
              "orgUnit",
              "cursor",
              "issuer",
              "verify",
              "after",
              "since",
              "actor",
              "profile",
              "return",
            ),
            text,
          ),
          { maxLength: 6 },
        ),
        async (route, pairs) => {
          const query = new URLSearchParams(pairs);
          const url = `${route.url.replace(":serial", "0a").replace(":id", "00000000-0000-0000-0000-000000000001")}?${query}`;
          const response = await browser.request(`${sso.issuer}${url}`);
          expect(response.status, url).toBeLessThan(500);
        },
      ),
      { numRuns: 120 },
    );
  }, 240_000);

  it("never answers a 5xx, and a refused form writes nothing", async () => {
    const posts = registeredRoutes(sso.app).filter(
      (route) => route.permission === "portal" && route.method === "POST" && route.url !== "/portal/logout",
    );
    expect(posts.length).toBeGreaterThan(15);
    const auditCount = async () =>
      (await sso.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log")).rows[0]!.n;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...posts),
        fc.dictionary(fc.constantFrom(...FIELDS), text, { maxKeys: 8 }),
        fc.constantFrom("0a", "00000000-0000-0000-0000-000000000001", "not-an-id", "%2e%2e", "tls-server"),
        async (route, form, id) => {
          const before = await auditCount();
          const url = route.url.replace(":serial", id).replace(":id", id).replace(":name", id);
          const response = await browser.request(`${sso.issuer}${url}`, { form: { ...form, _csrf: csrf } });
          expect(response.status, `${route.url} ${JSON.stringify(form)}`).toBeLessThan(500);
          if (response.status >= 400)
            expect(await auditCount(), `${route.url} ${JSON.stringify(form)}`).toBe(before);
        },
      ),
      { numRuns: 150 },
    );
  }, 240_000);
});
