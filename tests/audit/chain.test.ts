/** The hash-chained audit log detects every kind of tampering, and concurrent writers keep it intact. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/audit/chain.js";
import { appendAudit, verifyAuditChain } from "../../src/audit/log.js";
import { systemClock } from "../../src/clock.js";
import { buildCsrPem } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth so jsonb's key order cannot change a hash", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe.each(ENGINES)("audit chain on %s", (engine) => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await createHarness(engine);
    await appendAudit(harness.context.db, systemClock, [
      { actor: "test", action: "a.one", target: "t:1", details: { n: 1 } },
      { actor: "test", action: "a.two", target: "t:2", details: { nested: { b: 2, a: 1 } } },
      { actor: "test", action: "a.three", target: "t:3" },
    ]);
    // Chained (given a seq) off the hot path: sealed now, so the tampering below hits sealed records.
    await harness.context.auditSealer.seal();
  });
  afterEach(async () => harness?.close());

  const db = () => harness.context.db;
  const count = async () =>
    (await db().query<{ n: number }>("SELECT count(*)::int8 AS n FROM audit_log")).rows[0]!.n;

  it("verifies an untouched chain and records who did what for setup", async () => {
    const result = await verifyAuditChain(db());
    expect(result).toMatchObject({ ok: true, records: await count() });
    const actions = (
      await db().query<{ action: string }>("SELECT action FROM audit_log ORDER BY seq")
    ).rows.map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        "ca.create-root",
        "ca.create-issuing",
        "service-account.create",
        "profile.create",
      ]),
    );
  });

  it("detects a changed record", async () => {
    const { rows } = await db().query<{ seq: number }>("SELECT seq FROM audit_log WHERE action = 'a.two'");
    await db().query("UPDATE audit_log SET target = 't:forged' WHERE seq = $1", [rows[0]!.seq]);
    expect(await verifyAuditChain(db())).toMatchObject({
      ok: false,
      seq: rows[0]!.seq,
      problem: expect.stringContaining("changed"),
    });
  });

  it("detects a changed detail value even when the hash column is left alone", async () => {
    const { rows } = await db().query<{ seq: number }>("SELECT seq FROM audit_log WHERE action = 'a.one'");
    await db().query(`UPDATE audit_log SET details = '{"n": 2}' WHERE seq = $1`, [rows[0]!.seq]);
    expect(await verifyAuditChain(db())).toMatchObject({ ok: false, seq: rows[0]!.seq });
  });

  it("detects a deleted record in the middle", async () => {
    const { rows } = await db().query<{ seq: number }>("SELECT seq FROM audit_log WHERE action = 'a.two'");
    await db().query("DELETE FROM audit_log WHERE seq = $1", [rows[0]!.seq]);
    expect(await verifyAuditChain(db())).toMatchObject({
      ok: false,
      seq: rows[0]!.seq,
      problem: expect.stringContaining("missing"),
    });
  });

  it("detects reordered records", async () => {
    const { rows } = await db().query<{ seq: number }>(
      "SELECT seq FROM audit_log WHERE action IN ('a.one', 'a.two') ORDER BY seq",
    );
    const [first, second] = rows.map((row) => row.seq);
    await db().query("UPDATE audit_log SET seq = -1 WHERE seq = $1", [first]);
    await db().query("UPDATE audit_log SET seq = $1 WHERE seq = $2", [first, second]);
    await db().query("UPDATE audit_log SET seq = $1 WHERE seq = -1", [second]);
    expect(await verifyAuditChain(db())).toMatchObject({
      ok: false,
      seq: first,
      problem: expect.stringContaining("does not link"),
    });
  });

  it("detects records removed from the end", async () => {
    await db().query("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)");
    expect(await verifyAuditChain(db())).toMatchObject({
      ok: false,
      problem: expect.stringContaining("removed from the end"),
    });
  });

  it("stays a single unbroken chain under concurrent issuance and administration", async () => {
    const before = await count();
    const csr = buildCsrPem({ names: [{ type: "dns", value: "concurrent.gov.test" }] });
    const issuances = Array.from({ length: 60 }, () =>
      harness.app.inject({
        method: "POST",
        url: "/api/v1/certificates",
        headers: bearer(harness.adminToken),
        payload: { csr, profile: "tls-server", subject: { orgUnit: "gov" } },
      }),
    );
    const units = Array.from({ length: 10 }, (_, i) =>
      harness.app.inject({
        method: "POST",
        url: "/api/v1/org-units",
        headers: bearer(harness.adminToken),
        payload: { path: `gov/r${i}`, name: `Region ${i}`, level: "region" },
      }),
    );
    const responses = await Promise.all([...issuances, ...units]);
    expect(responses.map((r) => r.statusCode)).toEqual([...Array(60).fill(201), ...Array(10).fill(201)]);
    expect(await count()).toBe(before + 70);
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true, records: before + 70 });
    const certificates = await db().query<{ n: number }>("SELECT count(*)::int8 AS n FROM certificates");
    expect(certificates.rows[0]!.n).toBe(60);
  });
});
