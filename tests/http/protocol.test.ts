/** HTTP-level behaviour shared by every route: problem+json errors, limits, negotiation, docs, health. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCsrPem } from "../helpers/csr.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe("HTTP protocol", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness("pglite", { env: { CA_BODY_LIMIT: "4096" } });
  });
  afterAll(async () => harness?.close());

  const expectProblem = (
    response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
    status: number,
    code: string,
  ) => {
    expect(response.statusCode).toBe(status);
    expect(response.headers["content-type"]).toContain("application/problem+json");
    const problem = response.json() as Record<string, unknown>;
    expect(problem).toMatchObject({ status, code, type: `urn:gov-ca:problem:${code}` });
    expect(typeof problem.detail).toBe("string");
    expect(typeof problem.requestId).toBe("string");
    return problem;
  };

  it("answers an unknown route with a 404 problem naming it", async () => {
    const problem = expectProblem(await harness.app.inject({ url: "/api/v1/nothing" }), 404, "not-found");
    expect(problem.detail).toBe("there is no route GET /api/v1/nothing");
  });

  it("refuses a body over the limit with 413, an unknown media type with 415, broken JSON with 400", async () => {
    const headers = { ...bearer(harness.adminToken), "content-type": "application/json" };
    const big = JSON.stringify({ path: "gov/x", name: "x".repeat(5000), level: "region" });
    expectProblem(
      await harness.app.inject({ method: "POST", url: "/api/v1/org-units", headers, payload: big }),
      413,
      "body-too-large",
    );
    expectProblem(
      await harness.app.inject({
        method: "POST",
        url: "/api/v1/org-units",
        headers: { ...headers, "content-type": "application/xml" },
        payload: "<x/>",
      }),
      415,
      "unsupported-media-type",
    );
    expectProblem(
      await harness.app.inject({ method: "POST", url: "/api/v1/org-units", headers, payload: "{not json" }),
      400,
      "body-not-json",
    );
    const units = await harness.context.db.query("SELECT path FROM org_units WHERE path = 'gov/x'");
    expect(units.rows).toHaveLength(0);
  });

  it("refuses unknown fields, wrong types and prototype pollution instead of ignoring them", async () => {
    const post = (payload: string) =>
      harness.app.inject({
        method: "POST",
        url: "/api/v1/org-units",
        headers: { ...bearer(harness.adminToken), "content-type": "application/json" },
        payload,
      });
    const unknown = expectProblem(
      await post('{"path":"gov/y","name":"y","level":"region","admin":true}'),
      400,
      "validation-failed",
    );
    expect(unknown.detail).toContain('unknown field "admin"');
    const wrongType = expectProblem(
      await post('{"path":"gov/y","name":7,"level":"region"}'),
      400,
      "validation-failed",
    );
    expect(wrongType.detail).toBe("body/name must be string");
    expect((await post('{"path":"gov/y","name":"y","level":"region","__proto__":{"x":1}}')).statusCode).toBe(
      400,
    );
  });

  it("answers 406 when Accept allows no representation of a certificate", async () => {
    const issued = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
      payload: { csr: buildCsrPem(), profile: "tls-client", subject: { orgUnit: "gov", commonName: "erp" } },
    });
    expect(issued.statusCode).toBe(201);
    const url = `/api/v1/certificates/${issued.json().serial}`;
    const refused = expectProblem(
      await harness.app.inject({ url, headers: { ...bearer(harness.adminToken), accept: "image/png" } }),
      406,
      "not-acceptable",
    );
    expect(refused.detail).toContain("application/pem-certificate-chain");
    const json = await harness.app.inject({
      url,
      headers: { ...bearer(harness.adminToken), accept: "text/html;q=0.9, application/json" },
    });
    expect(json.json().serial).toBe(issued.json().serial);
  });

  it("serves CA certificates publicly at the caIssuers URL, DER and PEM chain", async () => {
    const der = await harness.app.inject({ url: "/ca/issuing-1.crt" });
    expect(der.statusCode).toBe(200);
    expect(der.headers["content-type"]).toBe("application/pkix-cert");
    expect(der.rawPayload[0]).toBe(0x30);
    const pem = await harness.app.inject({ url: "/ca/issuing-1.pem" });
    expect(pem.body.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expectProblem(await harness.app.inject({ url: "/ca/nope-9.crt" }), 404, "not-found");
    expectProblem(await harness.app.inject({ url: "/ca/..%2fetc%2fpasswd" }), 400, "validation-failed");
  });

  it("reports liveness and readiness", async () => {
    expect((await harness.app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await harness.app.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: "ready",
      checks: { database: "ok", keyStore: "ok", issuingCa: "ok", ocspMemory: "ok" },
    });
  });

  it("publishes OpenAPI 3.1 with the permission of each protected operation, and docs that load nothing from a CDN", async () => {
    const spec = (await harness.app.inject({ url: "/openapi.json" })).json();
    expect(spec.openapi).toBe("3.1.0");
    const issue = spec.paths["/api/v1/certificates"].post;
    expect(issue.security).toEqual([{ apiKey: [] }]);
    expect(issue.description).toContain("certificate:issue");
    const docs = await harness.app.inject({ url: "/docs/" });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain("swagger");
    expect(docs.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.(com|net|org|io)/i);
  });

  it("sends no secrets back: API keys are shown once and with no-store", async () => {
    const created = await harness.app.inject({
      method: "POST",
      url: "/api/v1/service-accounts",
      headers: bearer(harness.adminToken),
      payload: { name: "erp-system", role: "subscriber", orgUnit: "gov", dnsNames: ["erp.gov.test"] },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers["cache-control"]).toBe("no-store");
    const token = created.json().apiKey.token as string;
    // gca_<id>_<secret>: the secret is base64url and may itself contain "_".
    const secret = /^gca_[a-z2-7]{16}_(.+)$/.exec(token)![1]!;
    const shown = await harness.app.inject({
      url: `/api/v1/service-accounts/${created.json().account.id}`,
      headers: bearer(harness.adminToken),
    });
    expect(shown.body).not.toContain(secret);
    const stored = await harness.context.db.query("SELECT * FROM api_keys");
    expect(JSON.stringify(stored.rows)).not.toContain(secret);
    const me = await harness.app.inject({ url: "/api/v1/me", headers: bearer(token) });
    expect(me.json()).toMatchObject({ name: "erp-system", roles: ["subscriber"] });
    const revoke = await harness.app.inject({
      method: "DELETE",
      url: `/api/v1/service-accounts/${created.json().account.id}/api-keys/${created.json().apiKey.id}`,
      headers: bearer(harness.adminToken),
    });
    expect(revoke.statusCode).toBe(204);
    expectProblem(
      await harness.app.inject({ url: "/api/v1/me", headers: bearer(token) }),
      401,
      "unauthenticated",
    );
  });
});

describe("text that becomes part of a certificate name", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness("pglite");
  });
  afterAll(async () => harness?.close());

  it.each([
    [
      "/api/v1/org-units",
      { path: "gov/spoof", name: "Finance\u202eecnaniF", level: "region" },
      "org-unit-name-invalid",
    ],
    [
      "/api/v1/service-accounts",
      { name: "erp\u200bsystem", role: "subscriber", orgUnit: "gov" },
      "name-invalid",
    ],
    ["/api/v1/service-accounts", { name: "erp\u0007", role: "subscriber", orgUnit: "gov" }, "name-invalid"],
  ])("refuses control and invisible formatting characters at %s", async (url, payload, code) => {
    const response = await harness.app.inject({
      method: "POST",
      url,
      headers: bearer(harness.adminToken),
      payload,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe(code);
  });

  it("accepts Chinese names", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/org-units",
      headers: bearer(harness.adminToken),
      payload: { path: "gov/gz", name: "广州市人民政府", level: "city" },
    });
    expect(response.statusCode).toBe(201);
  });
});
