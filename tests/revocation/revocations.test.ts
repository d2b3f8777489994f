/** Revoke, hold and release through the API: the state machine, who may do it, and precise errors. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "../../src/audit/log.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe.each(ENGINES)("revocation on %s", (engine) => {
  let harness: Harness;
  let raNorth: string;
  let holder: { id: string; token: string };

  const issue = async (orgUnit = "gov/north", token = harness.adminToken, key = generateTestKey("p256")) => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(token), accept: "application/json" },
      payload: {
        csr: buildCsrPem({
          key,
          names: token === holder?.token ? [{ type: "dns", value: "holder.gov.test" }] : [],
        }),
        profile: "tls-client",
        ...(token === holder?.token ? {} : { subject: { orgUnit, commonName: "svc" } }),
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().serial as string;
  };
  const act = (token: string, serial: string, operation: string, payload: object = {}) =>
    harness.app.inject({
      method: "POST",
      url: `/api/v1/certificates/${serial}/${operation}`,
      headers: bearer(token),
      payload,
    });

  beforeAll(async () => {
    harness = await createHarness(engine);
    await harness.orgUnit("gov/north", "region");
    await harness.orgUnit("gov/south", "region");
    raNorth = (await harness.account("ra-operator", "gov/north")).token;
    holder = await harness.account("subscriber", "gov/north", ["holder.gov.test"]);
  });
  afterAll(async () => harness?.close());

  it("revokes with a reason and invalidity date, audited, and refuses a second revocation with 409", async () => {
    const serial = await issue();
    const invalidityDate = new Date(Date.now() - 3600_000).toISOString();
    const revoked = await act(harness.adminToken, serial, "revoke", {
      reason: "affiliationChanged",
      invalidityDate,
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json()).toMatchObject({ status: "revoked", revocationReason: 3 });
    const again = await act(harness.adminToken, serial, "revoke", { reason: "superseded" });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: "certificate-revoked",
      detail: `certificate ${serial} is already revoked`,
    });
    const { rows } = await harness.context.db.query<{ details: Record<string, unknown> }>(
      "SELECT details FROM audit_log WHERE action = 'certificate.revoke' AND target LIKE $1",
      [`%/${serial}`],
    );
    expect(rows).toEqual([
      {
        details: {
          from: "good",
          to: "revoked",
          reason: "affiliationChanged",
          invalidityDate: invalidityDate.replace(/\.\d+Z$/, ".000Z"),
        },
      },
    ]);
    expect((await verifyAuditChain(harness.context.db)).ok).toBe(true);
  });

  it("holds and releases (certificateHold, reason 6), and revokes a held certificate", async () => {
    const serial = await issue();
    expect((await act(harness.adminToken, serial, "hold")).json()).toMatchObject({
      status: "on-hold",
      revocationReason: 6,
    });
    expect((await act(harness.adminToken, serial, "hold")).json().code).toBe("certificate-on-hold");
    expect((await act(harness.adminToken, serial, "release")).json()).toMatchObject({ status: "good" });
    const row = await harness.context.db.query<{ released_at: Date | null; revoked_at: Date | null }>(
      "SELECT released_at, revoked_at FROM certificates WHERE serial = $1",
      [serial],
    );
    expect(row.rows[0]!.released_at).toBeInstanceOf(Date);
    expect(row.rows[0]!.revoked_at).toBeNull();
    await act(harness.adminToken, serial, "hold");
    expect(
      (await act(harness.adminToken, serial, "revoke", { reason: "cessationOfOperation" })).json(),
    ).toMatchObject({
      status: "revoked",
      revocationReason: 5,
    });
  });

  it("gives precise 4xx errors for bad input and impossible transitions, changing nothing", async () => {
    const serial = await issue();
    await act(harness.adminToken, serial, "revoke", { reason: "superseded" });
    const good = await issue();
    const cases: [string, string, object, number, string][] = [
      ["0abc", "revoke", { reason: "superseded" }, 404, "not-found"],
      ["zz", "revoke", { reason: "superseded" }, 400, "serial-invalid"],
      [good, "revoke", { reason: "certificateHold" }, 400, "validation-failed"],
      [good, "revoke", { reason: "cACompromise" }, 400, "validation-failed"],
      [good, "revoke", {}, 400, "validation-failed"],
      [good, "revoke", { reason: "superseded", extra: 1 }, 400, "validation-failed"],
      [
        good,
        "revoke",
        { reason: "keyCompromise", invalidityDate: "2999-01-01T00:00:00Z" },
        400,
        "invalidity-date-future",
      ],
      [serial, "hold", {}, 409, "certificate-revoked"],
      [serial, "release", {}, 409, "certificate-not-on-hold"],
      [good, "release", {}, 409, "certificate-not-on-hold"],
    ];
    for (const [target, operation, payload, status, code] of cases) {
      const response = await act(harness.adminToken, target, operation, payload);
      expect(response.statusCode, `${operation} ${JSON.stringify(payload)}`).toBe(status);
      expect(response.json().code).toBe(code);
    }
    const state = await harness.context.db.query<{ status: string }>(
      "SELECT status FROM certificates WHERE serial = $1",
      [good],
    );
    expect(state.rows[0]!.status).toBe("good");
  });

  it("lets an RA operator act only in its subtree and a holder only on its own certificate", async () => {
    const north = await issue("gov/north");
    const south = await issue("gov/south");
    const own = await issue("gov/north", holder.token);
    expect((await act(raNorth, south, "revoke", { reason: "superseded" })).statusCode).toBe(404);
    expect((await act(raNorth, north, "hold")).statusCode).toBe(200);
    expect((await act(holder.token, north, "revoke", { reason: "keyCompromise" })).statusCode).toBe(404);
    expect((await act(holder.token, own, "revoke", { reason: "superseded" })).statusCode).toBe(200);
    const auditor = await harness.account("auditor");
    expect((await act(auditor.token, north, "release")).statusCode).toBe(403);
  });

  it("puts a key revoked for keyCompromise on the blocklist so it is never certified again", async () => {
    const key = generateTestKey("p256");
    const serial = await issue("gov/north", harness.adminToken, key);
    expect((await act(harness.adminToken, serial, "revoke", { reason: "keyCompromise" })).statusCode).toBe(
      200,
    );
    const again = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: bearer(harness.adminToken),
      payload: {
        csr: buildCsrPem({ key }),
        profile: "tls-client",
        subject: { orgUnit: "gov", commonName: "again" },
      },
    });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe("csr-key-blocklisted");
  });

  it("tells status listeners of every committed change", async () => {
    const heard: string[] = [];
    harness.context.revocations.onChange((change) => {
      heard.push(`${change.serial}:${change.status}:${change.reason}`);
    });
    const serial = await issue();
    await act(harness.adminToken, serial, "hold");
    await act(harness.adminToken, serial, "release");
    await act(harness.adminToken, serial, "revoke", { reason: "superseded" });
    await act(harness.adminToken, serial, "revoke", { reason: "superseded" }); // refused: no event
    expect(heard).toEqual([`${serial}:on-hold:6`, `${serial}:good:null`, `${serial}:revoked:4`]);
  });
});
