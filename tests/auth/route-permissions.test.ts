/**
 * Every registered route declares who may call it, and refuses everyone else: an
 * anonymous caller gets 401, a caller whose role lacks the permission gets 403.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../db/stores/principals.js";
import { buildApp, registeredRoutes } from "../../src/app.js";
import { PERMISSIONS } from "../../src/auth/permissions.js";
import { ROLES } from "../../src/auth/principal.js";
import { buildCsrPem } from "../helpers/csr.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe("route permissions (RBAC)", () => {
  let harness: Harness;
  const tokens = new Map<Role, string>();
  let serial = "";
  let accountId = "";

  beforeAll(async () => {
    harness = await createHarness("pglite");
    for (const role of ROLES) tokens.set(role, (await harness.account(role, "gov")).token);
    const issued = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
      payload: {
        csr: buildCsrPem({ names: [{ type: "dns", value: "rbac.gov.test" }] }),
        profile: "tls-server",
        subject: { orgUnit: "gov" },
      },
    });
    serial = issued.json().serial;
    accountId = (await harness.account("subscriber")).id;
  });
  afterAll(async () => harness?.close());

  const concrete = (url: string) =>
    url
      .replace(":serial", serial)
      .replace(":id", accountId)
      .replace(":keyId", "aaaaaaaaaaaaaaaa")
      .replace(":name", "tls-server")
      .replace(":file", "root-1.crt")
      .replace("*", "index.html");

  it("registers only routes that declare a permission or public: true", async () => {
    const routes = registeredRoutes(harness.app);
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) expect(route.permission).toBeTruthy();
    const fresh = await buildApp(harness.context);
    expect(() => fresh.get("/undeclared", async () => "x")).toThrow(
      /declares neither a permission, portal: true nor public: true/,
    );
    await fresh.close();
  });

  it("lists the public routes explicitly", () => {
    const publicRoutes = registeredRoutes(harness.app)
      .filter((route) => route.permission === "public" && !route.url.startsWith("/docs"))
      .map((route) => `${route.method} ${route.url}`);
    expect(publicRoutes.sort()).toEqual([
      "GET /",
      "GET /.well-known/openid-configuration",
      "GET /api/v1/me/certificate", // authenticated by the TLS client certificate (tests/http/mtls-listener.test.ts)
      "GET /assets/*",
      "GET /ca/:file",
      "GET /consent",
      "GET /crl/:file",
      "GET /healthz",
      "GET /login",
      "GET /login/certificate",
      "GET /oauth/authorize",
      "GET /oauth/authorize/resume",
      "GET /oauth/jwks",
      "GET /oauth/logout",
      "GET /oauth/userinfo",
      "GET /ocsp/:issuer/*",
      "GET /openapi.json",
      "GET /portal/callback",
      "GET /portal/language",
      "GET /portal/logged-out",
      "GET /portal/login",
      "GET /readyz",
      "POST /consent",
      "POST /login/password",
      "POST /oauth/authorize",
      "POST /oauth/introspect",
      "POST /oauth/logout",
      "POST /oauth/revoke",
      "POST /oauth/token",
      "POST /oauth/userinfo",
      "POST /ocsp/:issuer",
    ]);
  });

  it("declares the directory routes: user:read to read users, user:manage to change them", () => {
    const directoryRoutes = registeredRoutes(harness.app)
      .filter((route) => route.url.startsWith("/api/v1/users"))
      .map((route) => `${route.method} ${route.url} ${route.permission}`);
    expect(directoryRoutes.sort()).toEqual([
      "DELETE /api/v1/users/:id/totp user:manage",
      "GET /api/v1/users user:read",
      "GET /api/v1/users/:id user:read",
      "PATCH /api/v1/users/:id user:manage",
      "POST /api/v1/users user:manage",
      "POST /api/v1/users/:id/disable user:manage",
      "POST /api/v1/users/:id/enable user:manage",
      "POST /api/v1/users/:id/totp user:manage",
      "POST /api/v1/users/import user:manage",
      "PUT /api/v1/users/:id/password user:manage",
    ]);
    expect(PERMISSIONS["user:read"]).toEqual(["security-admin", "ra-operator", "auditor"]);
    expect(PERMISSIONS["user:manage"]).toEqual(["security-admin", "ra-operator"]);
  });

  it("declares the profile routes: profile:read to read, profile:manage (security admins) to create and replace", () => {
    const profileRoutes = registeredRoutes(harness.app)
      .filter((route) => route.url.startsWith("/api/v1/profiles"))
      .map((route) => `${route.method} ${route.url} ${route.permission}`);
    expect(profileRoutes.sort()).toEqual([
      "GET /api/v1/profiles profile:read",
      "GET /api/v1/profiles/:name profile:read",
      "POST /api/v1/profiles profile:manage",
      "PUT /api/v1/profiles/:name profile:manage",
    ]);
    expect(PERMISSIONS["profile:manage"]).toEqual(["security-admin"]);
  });

  it("declares the enrolment routes: enrollment:request to ask, enrollment:read to read, enrollment:decide to decide", () => {
    const enrollmentRoutes = registeredRoutes(harness.app)
      .filter(
        (route) =>
          route.url.startsWith("/api/v1/enrollments") || route.url.startsWith("/api/v1/me/notifications"),
      )
      .map((route) => `${route.method} ${route.url} ${route.permission}`);
    expect(enrollmentRoutes.sort()).toEqual([
      "GET /api/v1/enrollments enrollment:read",
      "GET /api/v1/enrollments/:id enrollment:read",
      "GET /api/v1/me/notifications self:read",
      "POST /api/v1/enrollments enrollment:request",
      "POST /api/v1/enrollments/:id/approve enrollment:decide",
      "POST /api/v1/enrollments/:id/pkcs12 enrollment:request",
      "POST /api/v1/enrollments/:id/reject enrollment:decide",
      "POST /api/v1/enrollments/:id/withdraw enrollment:request",
      "POST /api/v1/me/notifications/:id/read self:read",
    ]);
    expect(PERMISSIONS["enrollment:request"]).toEqual(["security-admin", "ra-operator", "subscriber"]);
    expect(PERMISSIONS["enrollment:decide"]).toEqual(["security-admin", "ra-operator"]);
  });

  it("refuses anonymous callers and bad tokens on every protected route with 401", async () => {
    for (const route of registeredRoutes(harness.app).filter(
      (r) => r.permission !== "public" && r.permission !== "portal",
    )) {
      const url = concrete(route.url);
      for (const headers of [{}, bearer("gca_notakeyatall"), { authorization: "Basic YWRtaW46YWRtaW4=" }]) {
        const response = await harness.app.inject({
          method: route.method as "GET",
          url,
          headers,
          payload: route.method === "GET" || route.method === "DELETE" ? undefined : {},
        });
        expect(response.statusCode, `${route.method} ${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers["content-type"]).toContain("application/problem+json");
        expect(response.json().code).toBe("unauthenticated");
      }
    }
  });

  it("refuses every role that lacks the route's permission with 403", async () => {
    let checked = 0;
    for (const route of registeredRoutes(harness.app).filter(
      (r) => r.permission !== "public" && r.permission !== "portal",
    )) {
      const allowed = PERMISSIONS[route.permission as keyof typeof PERMISSIONS] as readonly Role[];
      for (const role of ROLES.filter((r) => !allowed.includes(r))) {
        const response = await harness.app.inject({
          method: route.method as "GET",
          url: concrete(route.url),
          headers: bearer(tokens.get(role)!),
          payload: route.method === "GET" || route.method === "DELETE" ? undefined : {},
        });
        expect(response.statusCode, `${role} → ${route.method} ${route.url}`).toBe(403);
        expect(response.json().code).toBe("forbidden");
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("lets each role that holds the permission past the permission check", async () => {
    for (const route of registeredRoutes(harness.app).filter(
      (r) => r.permission !== "public" && r.permission !== "portal" && r.method === "GET",
    )) {
      const allowed = PERMISSIONS[route.permission as keyof typeof PERMISSIONS] as readonly Role[];
      for (const role of allowed) {
        const response = await harness.app.inject({
          method: "GET",
          url: concrete(route.url),
          headers: bearer(tokens.get(role)!),
        });
        expect([401, 403], `${role} → GET ${route.url}: ${response.body}`).not.toContain(response.statusCode);
      }
    }
  });
});
