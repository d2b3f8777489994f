/**
 * Sealing off the hot path: records appended unsealed in their own transactions end in one
 * valid chain, each exactly once, whatever the commit order, the number of sealers or nodes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { type Database, openDatabase, type Queryable } from "../../db/database.js";
import { migrate } from "../../db/migrate.js";
import { countUnsealed } from "../../db/stores/audit.js";
import { appendAudit, verifyAuditChain } from "../../src/audit/log.js";
import { AUDIT_COMMIT_TOPIC, AuditSealer, sealCommitted } from "../../src/audit/sealer.js";
import { systemClock } from "../../src/clock.js";
import { ENGINES, openTestDatabase, type TestDatabase } from "../helpers/databases.js";

/** One audited transaction; the random pause after the insert makes commit order differ from id order. */
const audited = (db: Database, target: string) =>
  db.transaction(async (tx) => {
    await appendAudit(tx, systemClock, [{ actor: "test", action: "t.write", target }]);
    await sleep(Math.random() * 20);
  });

/** Every record's target in chain order, and the seqs, as stored. */
async function chainContents(db: Queryable): Promise<{ targets: string[]; seqs: number[] }> {
  const { rows } = await db.query<{ seq: number; target: string }>(
    "SELECT seq, target FROM audit_log WHERE seq IS NOT NULL ORDER BY seq",
  );
  return { targets: rows.map((row) => row.target), seqs: rows.map((row) => row.seq) };
}

const targets = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}:${i}`);

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe.each(ENGINES)("audit sealing on %s", (engine) => {
  let database: TestDatabase;
  const sealers: AuditSealer[] = [];
  const extraHandles: Database[] = [];
  const open = async () => {
    database = await openTestDatabase(engine);
    await migrate(database.db);
    return database.db;
  };
  const sealer = (db: Database, options: ConstructorParameters<typeof AuditSealer>[1] = {}) => {
    const created = new AuditSealer(db, { warn: (message) => expect.fail(message), ...options });
    sealers.push(created);
    return created;
  };
  afterEach(async () => {
    for (const created of sealers.splice(0)) await created.close();
    for (const handle of extraHandles.splice(0)) await handle.close();
    await database?.dispose();
  });

  it("chains 200 concurrent audited transactions into one valid chain, every record exactly once", async () => {
    const db = await open();
    const node = sealer(db);
    const expected = targets("t", 200);
    await Promise.all(expected.map((target) => audited(db, target)));
    await node.seal();
    const { targets: chained, seqs } = await chainContents(db);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect([...chained].sort()).toEqual([...expected].sort());
    expect(await countUnsealed(db)).toBe(0);
    expect(await verifyAuditChain(db, { sealer: node })).toMatchObject({
      ok: true,
      records: 200,
      unsealed: 0,
    });
  });

  it("leaves no record of a rolled-back transaction, and does not ask for a sealing pass", async () => {
    const db = await open();
    let commits = 0;
    db.onCommit(AUDIT_COMMIT_TOPIC, () => {
      commits += 1;
    });
    await expect(
      db.transaction(async (tx) => {
        await appendAudit(tx, systemClock, [{ actor: "test", action: "t.write", target: "t:rolled-back" }]);
        throw new Error("the state change failed");
      }),
    ).rejects.toThrow("the state change failed");
    expect(commits).toBe(0);
    await audited(db, "t:committed");
    expect(commits).toBe(1);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, records: 1, unsealed: 0 });
    expect((await chainContents(db)).targets).toEqual(["t:committed"]);
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM audit_log");
    expect(rows[0]!.n).toBe(1);
  });

  it("runs at most one sealing pass at a time per node, with one follow-up for everything asked meanwhile", async () => {
    const db = await open();
    await Promise.all(targets("t", 5).map((target) => audited(db, target))); // before any sealer listens
    let inFlight = 0;
    let most = 0;
    let transactions = 0;
    // The sealer's transactions, counted (each pass here is one: fewer records than a batch).
    const counted = Object.assign(Object.create(db) as Database, {
      transaction: async <T>(work: (tx: Queryable) => Promise<T>) => {
        inFlight += 1;
        transactions += 1;
        most = Math.max(most, inFlight);
        try {
          return await db.transaction(work);
        } finally {
          inFlight -= 1;
        }
      },
    });
    const node = sealer(counted);
    const sealed = await Promise.all(Array.from({ length: 50 }, () => node.seal()));
    expect(most).toBe(1);
    // The first pass, and one follow-up shared by the 49 callers who came while it ran.
    expect(transactions).toBe(2);
    expect(sealed).toEqual([5, ...Array(49).fill(0)]);
    expect(await countUnsealed(db)).toBe(0);
  });

  it("seals records a dead node committed without sealing them: the periodic safety net of another sealer", async () => {
    const db = await open();
    // The "dead node": its transactions committed, but nobody listened for their commits.
    await Promise.all(targets("dead", 30).map((target) => audited(db, target)));
    expect(await countUnsealed(db)).toBe(30);
    // A surviving node: a second handle on PostgreSQL, a new sealer on the same handle on PGlite.
    const survivor = database.url ? await openDatabase({ url: database.url, poolSize: 2 }) : db;
    if (survivor !== db) extraHandles.push(survivor);
    sealer(survivor, { intervalMs: 50 }).start();
    await waitFor(async () => (await countUnsealed(db)) === 0, 5000);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, records: 30, unsealed: 0 });
  });

  it("seals in batches, each batch continuing the chain of the one before", async () => {
    const db = await open();
    await Promise.all(targets("t", 25).map((target) => audited(db, target)));
    const node = sealer(db, { batchSize: 4 });
    expect(await node.seal()).toBe(25);
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, records: 25, unsealed: 0 });
  });

  it("keeps one valid chain when two nodes append and seal at the same time", async () => {
    const db = await open();
    // Two nodes: two handles on the same PostgreSQL (PGlite: two sealers on its one handle).
    const other = database.url ? await openDatabase({ url: database.url, poolSize: 4 }) : db;
    if (other !== db) extraHandles.push(other);
    const nodes = [
      { db, sealer: sealer(db, { intervalMs: 5 }) },
      { db: other, sealer: sealer(other, { intervalMs: 5 }) },
    ];
    for (const node of nodes) node.sealer.start();
    const expected: string[] = [];
    await Promise.all(
      nodes.map(async (node, index) => {
        const mine = targets(`node${index}`, 100);
        expected.push(...mine);
        await Promise.all(
          mine.map(async (target, i) => {
            await audited(node.db, target);
            if (i % 10 === 0) await node.sealer.seal(); // on-demand passes racing the others
          }),
        );
      }),
    );
    await Promise.all(nodes.map((node) => node.sealer.seal()));
    const { targets: chained, seqs } = await chainContents(db);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect([...chained].sort()).toEqual([...expected].sort());
    expect(await verifyAuditChain(other)).toMatchObject({ ok: true, records: 200, unsealed: 0 });
  });

  it("reports a record committed after the seal as unsealed; the next verification seals and checks it", async () => {
    const db = await open();
    await Promise.all(targets("t", 3).map((target) => audited(db, target)));
    await db.query(
      "INSERT INTO audit_log (at, actor, action, target, outcome) VALUES (now(), 'late', 'l.write', 't:late', 'success')",
    );
    expect(await sealCommitted(db)).toBe(4);
    await db.query(
      "INSERT INTO audit_log (at, actor, action, target, outcome) VALUES (now(), 'late', 'l.write', 't:later', 'success')",
    );
    // A sealer whose pass read the backlog just before that commit.
    const passBeforeTheCommit = { seal: async () => 0 };
    expect(await verifyAuditChain(db, { sealer: passBeforeTheCommit })).toMatchObject({
      ok: true,
      records: 4,
      unsealed: 1,
    });
    expect(await verifyAuditChain(db)).toMatchObject({ ok: true, records: 5, unsealed: 0 });
    expect((await chainContents(db)).targets.slice(-2)).toEqual(["t:late", "t:later"]);
  });

  it("finds a row inserted with chain fields of its own (nobody seals it): a broken link", async () => {
    const db = await open();
    await Promise.all(targets("t", 3).map((target) => audited(db, target)));
    await db.query(
      `INSERT INTO audit_log (seq, at, actor, action, target, outcome, prev_hash, hash)
       VALUES (4, now(), 'forger', 'f.write', 't:forged', 'success', '\\x00', '\\x00')`,
    );
    expect(await verifyAuditChain(db)).toMatchObject({
      ok: false,
      seq: 4,
      problem: expect.stringContaining("does not link"),
    });
  });
});
