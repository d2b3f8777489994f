/**
 * GET /api/v1/dashboard on both engines: certificates seeded in several states, org units and
 * expiry dates, status changes before and after midnight, CRLs and OCSP responses at known
 * times; every figure is checked exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyStoreError } from "../../hsm-adapters/key-store.js";
import { FixedClock } from "../../src/clock.js";
import { Dashboard, type DashboardDocument } from "../../src/operations/dashboard.js";
import { startOfLocalDay } from "../../src/operations/local-day.js";
import { buildCsrPem, sharedTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

const at = (iso: string) => new Date(iso);
const NOW = at("2026-06-10T10:00:00Z");

describe.each(ENGINES)("operations dashboard on %s", (engine) => {
  let harness: Harness;
  const clock = new FixedClock(at("2025-01-01T00:00:00Z"));
  const moveTo = (iso: string) => clock.advance(at(iso).getTime() - clock.now().getTime());
  const serials: Record<string, string> = {};

  const issue = async (name: string, profile: "tls-client" | "user-signing", orgUnit: string) => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
      payload: {
        csr: buildCsrPem({ key: sharedTestKey("p256") }),
        profile,
        subject: { orgUnit, commonName: name },
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    serials[name] = response.json().serial;
  };
  const change = async (name: string, operation: "revoke" | "hold" | "release") => {
    const response = await harness.app.inject({
      method: "POST",
      url: `/api/v1/certificates/${serials[name]}/${operation}`,
      headers: bearer(harness.adminToken),
      payload: operation === "revoke" ? { reason: "superseded" } : {},
    });
    expect(response.statusCode, response.body).toBe(200);
  };
  const dashboard = async (token = harness.adminToken) => {
    const response = await harness.app.inject({ url: "/api/v1/dashboard", headers: bearer(token) });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    return response.json() as DashboardDocument;
  };

  beforeAll(async () => {
    harness = await createHarness(engine, { clock });
    await harness.orgUnit("gov/east", "region");
    await harness.orgUnit("gov/west", "region");
    // tls-client lives 397 days, user-signing 730: at NOW (2026-06-10T10:00Z) a tls-client
    // issued 2025-01-01 has expired, one of 2025-05-20 expires on 2026-06-21 and one of
    // 2025-06-01 on 2026-07-03 (both within 30 days), one of 2025-08-01 on 2026-09-02 (beyond).
    for (const name of ["e1", "e2", "e3"]) await issue(name, "tls-client", "gov/east");
    await issue("w1", "user-signing", "gov/west");
    moveTo("2025-03-01T00:00:00Z");
    await change("e2", "hold"); // on hold when it expires: counted as expired
    await change("e3", "revoke"); // revoked, then expired: counted as revoked
    moveTo("2025-05-20T00:00:00Z");
    await issue("e4", "tls-client", "gov/east");
    await issue("e5", "tls-client", "gov/east");
    moveTo("2025-06-01T00:00:00Z");
    await issue("e6", "tls-client", "gov/east");
    await issue("w2", "tls-client", "gov/west");
    moveTo("2025-08-01T00:00:00Z");
    await issue("w3", "tls-client", "gov/west");
    await issue("g1", "tls-client", "gov");
    moveTo("2026-06-09T12:00:00Z");
    await change("e5", "revoke"); // within the last 24 hours, before midnight
    moveTo("2026-06-10T08:00:00Z");
    await change("e6", "hold"); // today
    moveTo("2026-06-10T09:00:00Z");
    await change("g1", "revoke"); // today
    moveTo("2026-06-10T09:30:00Z");
    await change("w3", "hold"); // today, released 10 minutes later: still a hold today
    moveTo("2026-06-10T09:40:00Z");
    await change("w3", "release");
    moveTo(NOW.toISOString());
    await harness.context.crls.publishDue(); // complete #3 and delta #4 of each issuer (init made #1, #2)
    await harness.context.ocsp.refreshDue(); // responses of the 7 unexpired certificates, 2 digests each
  });
  afterAll(async () => harness?.close());

  it("counts certificates by status, each once: revoked, else expired, else on hold or good", async () => {
    const document = await dashboard();
    expect(document.generatedAt).toBe(NOW.toISOString());
    expect(document.certificates.byStatus).toEqual({ total: 10, good: 4, onHold: 1, revoked: 3, expired: 2 });
    expect(document.certificates.byOrgUnit).toEqual([
      { orgUnit: "gov/east", total: 6, good: 1, onHold: 1, revoked: 2, expired: 2 },
      { orgUnit: "gov/west", total: 3, good: 3, onHold: 0, revoked: 0, expired: 0 },
      { orgUnit: "gov", total: 1, good: 0, onHold: 0, revoked: 1, expired: 0 },
    ]);
  });

  it("counts the good certificates expiring within CA_EXPIRY_NOTICE_DAYS", async () => {
    expect((await dashboard()).expiringSoon).toEqual({
      count: 2, // e4 and w2; e6 is on hold, e5 revoked, w3 beyond the window
      windowDays: 30,
      from: NOW.toISOString(),
      until: "2026-07-10T10:00:00.000Z",
    });
  });

  it("counts revocations and holds since midnight (UTC) and in the last 24 hours", async () => {
    expect((await dashboard()).revocationsToday).toEqual({
      timeZone: "UTC",
      since: "2026-06-10T00:00:00.000Z",
      revocations: 1,
      holds: 2,
      last24Hours: { since: "2026-06-09T10:00:00.000Z", revocations: 2, holds: 2 },
    });
  });

  it("shows each issuer's latest complete and delta CRL and whether it is fresh", async () => {
    const fresh = (number: number, entries: number, validity: number) => ({
      number,
      thisUpdate: NOW.toISOString(),
      nextUpdate: new Date(NOW.getTime() + validity).toISOString(),
      entries,
      fresh: true,
    });
    expect((await dashboard()).crl).toEqual([
      // e5, e6 and g1; e3 has expired and left the CRL (RFC 5280 §3.3)
      { issuer: "issuing-1", full: fresh(3, 3, 24 * 3600_000), delta: fresh(4, 0, 3600_000) },
      { issuer: "root-1", full: fresh(3, 0, 24 * 3600_000), delta: fresh(4, 0, 3600_000) },
    ]);
  });

  it("shows the pre-signed OCSP responses and the delegated responder of each issuer", async () => {
    const { ocsp } = await dashboard();
    expect(ocsp).toHaveLength(2);
    const [issuing, root] = ocsp;
    expect(issuing).toMatchObject({
      issuer: "issuing-1",
      responses: 14,
      earliestNextUpdate: "2026-06-11T08:00:00.000Z", // e6's, signed at its hold
      expiringWithinMargin: 0,
      refreshMarginSeconds: 12 * 3600,
      signer: { valid: true },
    });
    expect(new Date(issuing!.signer!.notAfter).getTime()).toBeGreaterThan(NOW.getTime());
    expect(issuing!.signer!.serial).toMatch(/^[0-9a-f]+$/);
    expect(root).toMatchObject({
      issuer: "root-1",
      responses: 0,
      earliestNextUpdate: null,
      expiringWithinMargin: 0,
    });
    expect(root!.signer!.valid).toBe(new Date(root!.signer!.notAfter) > NOW);
  });

  it("reports the key store's kind and health without secrets", async () => {
    const response = await harness.app.inject({
      url: "/api/v1/dashboard",
      headers: bearer(harness.adminToken),
    });
    const { keyStore } = response.json() as DashboardDocument;
    expect(keyStore).toEqual({ kind: "software", ok: true, latencyMs: expect.any(Number) });
    expect(keyStore.latencyMs).toBeGreaterThanOrEqual(0);
    expect(response.body).not.toContain(harness.directory); // no key directory, KEK path or PIN
  });

  it("lets the auditor read it; refuses subscribers and RA operators with 403, anonymous callers with 401", async () => {
    const auditor = await harness.account("auditor");
    expect((await dashboard(auditor.token)).certificates.byStatus.total).toBe(10);
    for (const role of ["subscriber", "ra-operator"] as const) {
      const { token } = await harness.account(role, "gov");
      const response = await harness.app.inject({ url: "/api/v1/dashboard", headers: bearer(token) });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({
        code: "forbidden",
        detail: `the ${role} role does not have the dashboard:read permission`,
      });
    }
    const anonymous = await harness.app.inject({ url: "/api/v1/dashboard" });
    expect(anonymous.statusCode).toBe(401);
  });

  it("refuses unknown query parameters with 400", async () => {
    const response = await harness.app.inject({
      url: "/api/v1/dashboard?units=50",
      headers: bearer(harness.adminToken),
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers["content-type"]).toContain("application/problem+json");
    expect(response.json()).toMatchObject({
      code: "validation-failed",
      detail: 'querystring must NOT have additional properties (unknown field "units")',
    });
  });

  it("counts OCSP responses within the refresh margin and stale CRLs as time passes", async () => {
    moveTo("2026-06-10T20:30:00Z"); // margin end 2026-06-11T08:30Z: e6's two responses
    const later = await dashboard();
    expect(later.ocsp[0]).toMatchObject({ issuer: "issuing-1", responses: 14, expiringWithinMargin: 2 });
    expect(later.crl[0]!.full!.fresh).toBe(true);
    expect(later.crl[0]!.delta!.fresh).toBe(false); // its nextUpdate was 11:00
    expect(later.revocationsToday).toMatchObject({ revocations: 1, holds: 2 });
    expect(later.revocationsToday.last24Hours).toMatchObject({ revocations: 1, holds: 2 }); // e5's is 32 h old
    moveTo(NOW.toISOString());
  });

  it("lists at most 20 org units, most certificates first, ties by path", async () => {
    for (let i = 0; i < 21; i++) {
      const unit = `gov/u${String(i).padStart(2, "0")}`;
      await harness.orgUnit(unit, "region");
      await issue(`u${i}`, "user-signing", unit);
    }
    const { certificates } = await dashboard();
    expect(certificates.byStatus).toEqual({ total: 31, good: 25, onHold: 1, revoked: 3, expired: 2 });
    expect(certificates.byOrgUnit.map((unit) => `${unit.orgUnit}:${unit.total}`)).toEqual([
      "gov/east:6",
      "gov/west:3",
      "gov:1",
      ...Array.from({ length: 17 }, (_, i) => `gov/u${String(i).padStart(2, "0")}:1`),
    ]);
  });
});

describe("operations dashboard: key store health", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness("pglite");
  });
  afterAll(async () => harness?.close());

  const withProbe = (probe: () => Promise<void>) =>
    new Dashboard(
      harness.context.db,
      harness.context.clock,
      { ...harness.context.keyStore, kind: "pkcs11", probe },
      harness.context.issuers,
      { noticeDays: 30, timeZone: "UTC", ocspRefreshMarginMs: 12 * 3600_000, probeTimeoutMs: 100 },
    );

  it("reports a failed probe by its error code only", async () => {
    const document = await withProbe(async () => {
      throw new KeyStoreError("unavailable", "token at /secret/module.so with pin 1234 is gone");
    }).compute();
    expect(document.keyStore).toEqual({
      kind: "pkcs11",
      ok: false,
      latencyMs: expect.any(Number),
      error: "unavailable",
    });
    expect(JSON.stringify(document)).not.toContain("secret");
  });

  it("reports a probe that hangs as unavailable after the timeout", async () => {
    const document = await withProbe(() => new Promise(() => undefined)).compute();
    expect(document.keyStore).toMatchObject({ ok: false, error: "unavailable" });
    expect(document.keyStore.latencyMs).toBeGreaterThanOrEqual(99);
  });
});

describe("start of the local day (CA_TIME_ZONE)", () => {
  it("is midnight in the zone, also across a DST change", () => {
    expect(startOfLocalDay(at("2026-06-10T10:00:00Z"), "UTC").toISOString()).toBe("2026-06-10T00:00:00.000Z");
    // Asia/Shanghai is UTC+8: 01:00 local on 11 June is 17:00Z on 10 June.
    expect(startOfLocalDay(at("2026-06-10T17:00:00Z"), "Asia/Shanghai").toISOString()).toBe(
      "2026-06-10T16:00:00.000Z",
    );
    expect(startOfLocalDay(at("2026-06-10T15:59:59Z"), "Asia/Shanghai").toISOString()).toBe(
      "2026-06-09T16:00:00.000Z",
    );
    // Europe/Berlin switched to summer time at 01:00Z on 29 March 2026: midnight was still UTC+1.
    expect(startOfLocalDay(at("2026-03-29T12:00:00Z"), "Europe/Berlin").toISOString()).toBe(
      "2026-03-28T23:00:00.000Z",
    );
  });
});
