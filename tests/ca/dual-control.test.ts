/** CA key operations under dual control: one security admin requests, another approves. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixedClock } from "../../src/clock.js";
import { buildCsrPem } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe.each(ENGINES)("dual control of CA key operations on %s", (engine) => {
  let harness: Harness;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  const clock = new FixedClock(new Date());

  beforeAll(async () => {
    harness = await createHarness(engine, { clock });
    alice = await harness.account("security-admin");
    bob = await harness.account("security-admin");
  });
  afterAll(async () => harness?.close());

  const request = (token: string, payload: object) =>
    harness.app.inject({ method: "POST", url: "/api/v1/ca-operations", headers: bearer(token), payload });
  const decide = (token: string, id: string, verb: "approve" | "reject", payload?: object) =>
    harness.app.inject({
      method: "POST",
      url: `/api/v1/ca-operations/${id}/${verb}`,
      headers: bearer(token),
      ...(payload ? { payload } : {}),
    });
  const createIssuing = (id: string) => ({
    kind: "create-issuing-ca",
    parameters: {
      id,
      commonName: `Issuing CA ${id}`,
      parent: "root-1",
      algorithm: "ecdsa-p384",
      validityYears: 5,
    },
  });

  it("does nothing until a second security admin approves, then records both", async () => {
    const requested = await request(alice.token, createIssuing("issuing-2"));
    expect(requested.statusCode, requested.body).toBe(202);
    expect(requested.json()).toMatchObject({ status: "pending", requestedBy: alice.id });
    expect(harness.context.issuers.find("issuing-2")).toBeUndefined();

    const self = await decide(alice.token, requested.json().id, "approve");
    expect(self.statusCode).toBe(403);
    expect(self.json().detail).toContain("other than the one who requested it");
    expect(harness.context.issuers.find("issuing-2")).toBeUndefined();

    const approved = await decide(bob.token, requested.json().id, "approve");
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({
      status: "executed",
      decidedBy: bob.id,
      result: { issuer: "issuing-2" },
    });
    const issuer = harness.context.issuers.get("issuing-2");
    expect(issuer.row).toMatchObject({ kind: "issuing", parent_id: "root-1", key_algorithm: "ecdsa-p384" });

    const { rows } = await harness.context.db.query<{ actor: string; details: Record<string, unknown> }>(
      "SELECT actor, details FROM audit_log WHERE action = 'ca.create-issuing' AND target = 'issuer:issuing-2'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.actor).toBe(`service-account:${bob.id}`);
    expect(rows[0]!.details).toMatchObject({
      requestedBy: alice.id,
      approvedBy: bob.id,
      operation: requested.json().id,
    });
    expect(rows[0]!.details.publicKeySha256).toMatch(/^[0-9a-f]{64}$/);

    const again = await decide(bob.token, requested.json().id, "approve");
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe("operation-decided");
  });

  it("rolls an issuing CA over: new issuance uses the new key, the old issuer is retired", async () => {
    const requested = await request(alice.token, {
      kind: "rollover-issuing-ca",
      parameters: { issuer: "issuing-1", newId: "issuing-3", commonName: "Issuing CA 3" },
    });
    expect(requested.statusCode, requested.body).toBe(202);
    expect((await decide(bob.token, requested.json().id, "approve")).json()).toMatchObject({
      status: "executed",
      result: { issuer: "issuing-3", retired: "issuing-1" },
    });
    expect(harness.context.issuers.get("issuing-1").row.status).toBe("retired");
    const issued = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
      payload: {
        csr: buildCsrPem(),
        profile: "tls-client",
        subject: { orgUnit: "gov", commonName: "after rollover" },
      },
    });
    expect(issued.json().issuer).toBe("issuing-3");
    const retired = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: bearer(harness.adminToken),
      payload: {
        csr: buildCsrPem(),
        profile: "tls-client",
        issuer: "issuing-1",
        subject: { orgUnit: "gov", commonName: "x" },
      },
    });
    expect(retired.statusCode).toBe(400);
    expect(retired.json().code).toBe("issuer-not-issuing");
  });

  it("records a rejection with its reason, and runs nothing", async () => {
    const requested = await request(bob.token, createIssuing("issuing-9"));
    const rejected = await decide(alice.token, requested.json().id, "reject", {
      reason: "not in the ceremony plan",
    });
    expect(rejected.json()).toMatchObject({
      status: "rejected",
      decidedBy: alice.id,
      reason: "not in the ceremony plan",
    });
    expect(harness.context.issuers.find("issuing-9")).toBeUndefined();
    expect((await decide(alice.token, requested.json().id, "approve")).statusCode).toBe(409);
  });

  it("lets a request expire after 24 hours", async () => {
    const requested = await request(alice.token, createIssuing("issuing-8"));
    clock.advance(24 * 3600 * 1000 + 1000);
    const late = await decide(bob.token, requested.json().id, "approve");
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe("operation-expired");
  });

  it("refuses impossible requests at once with a precise reason", async () => {
    const cases: [object, number, string][] = [
      [createIssuing("issuing-2"), 409, "issuer-exists"],
      [
        {
          kind: "create-issuing-ca",
          parameters: {
            id: "x1",
            commonName: "x",
            parent: "issuing-3",
            algorithm: "ecdsa-p256",
            validityYears: 1,
          },
        },
        400,
        "parameters-invalid",
      ],
      [{ kind: "retire-issuer", parameters: { issuer: "issuing-1" } }, 409, "issuer-retired"],
      [{ kind: "retire-issuer", parameters: { issuer: "nope" } }, 400, "issuer-unknown"],
      [
        {
          kind: "create-issuing-ca",
          parameters: { id: "x2", commonName: "x", parent: "root-1", algorithm: "dsa", validityYears: 1 },
        },
        400,
        "validation-failed",
      ],
      [{ kind: "format-the-hsm", parameters: {} }, 400, "validation-failed"],
    ];
    for (const [payload, status, code] of cases) {
      const response = await request(alice.token, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(status);
      expect(response.json().code).toBe(code);
    }
  });

  it("keeps RA operators and auditors out of CA operations", async () => {
    const ra = await harness.account("ra-operator", "gov");
    const auditor = await harness.account("auditor");
    expect((await request(ra.token, createIssuing("issuing-7"))).statusCode).toBe(403);
    expect((await request(auditor.token, createIssuing("issuing-7"))).statusCode).toBe(403);
    const list = await harness.app.inject({ url: "/api/v1/ca-operations", headers: bearer(auditor.token) });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.length).toBeGreaterThan(3);
  });
});
