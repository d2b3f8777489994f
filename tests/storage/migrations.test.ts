import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/database.js";
import { MigrationError, migrate } from "../../db/migrate.js";
import { ENGINES, openTestDatabase, type TestDatabase } from "../helpers/databases.js";

describe.each(ENGINES)("migrations on %s", (engine) => {
  let database: TestDatabase;
  afterEach(async () => database?.dispose());

  it("applies every migration once and is idempotent", async () => {
    database = await openTestDatabase(engine);
    const first = await migrate(database.db);
    expect(first.map((m) => m.version)).toEqual([1]);
    expect(await migrate(database.db)).toEqual([]);
    const { rows } = await database.db.query<{ version: number }>("SELECT version FROM schema_migrations");
    expect(rows).toEqual([{ version: 1 }]);
  });

  it("refuses to run when an applied migration was edited", async () => {
    database = await openTestDatabase(engine);
    await migrate(database.db);
    await database.db.query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
    await expect(migrate(database.db)).rejects.toThrow(MigrationError);
  });

  it("enforces unique serial numbers per issuer", async () => {
    database = await openTestDatabase(engine);
    await migrate(database.db);
    await database.db.query(
      `INSERT INTO issuers (id, kind, key_label, key_algorithm, certificate, subject_der, key_id, not_before, not_after)
       VALUES ('i', 'issuing', 'l', 'ecdsa-p256', '\\x30', '\\x30', '\\x01', now(), now() + interval '1 day')`,
    );
    const insert = () =>
      database.db.query(
        `INSERT INTO certificates (issuer_id, serial, profile, subject, spki_sha256, not_before, not_after, der, issued_at)
         VALUES ('i', '0a', 'p', 'CN=x', '\\x00', now(), now(), '\\x30', now())`,
      );
    await insert();
    await expect(insert()).rejects.toThrow(/duplicate key|unique/i);
  });
});

describe("migrations on postgres from two nodes at once", () => {
  let database: TestDatabase;
  afterEach(async () => database?.dispose());

  it("serializes on the advisory lock: both succeed, each migration is applied once", async () => {
    database = await openTestDatabase("postgres");
    const second = await openDatabase({ url: database.url!, poolSize: 2 });
    try {
      const [a, b] = await Promise.all([migrate(database.db), migrate(second)]);
      expect([...a, ...b].map((m) => m.version)).toEqual([1]);
      const { rows } = await database.db.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM schema_migrations",
      );
      expect(rows[0]!.n).toBe(1);
    } finally {
      await second.close();
    }
  });
});
