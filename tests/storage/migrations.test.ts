import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/database.js";
import { MigrationError, migrate } from "../../db/migrate.js";
import { ENGINES, openTestDatabase, type TestDatabase } from "../helpers/databases.js";

/** The versions of the migration files in db/migrations, in order. */
const VERSIONS = readdirSync(new URL("../../db/migrations/", import.meta.url))
  .filter((file) => file.endsWith(".sql"))
  .map((file) => Number(file.slice(0, 3)))
  .sort((a, b) => a - b);

describe.each(ENGINES)("migrations on %s", (engine) => {
  let database: TestDatabase;
  afterEach(async () => database?.dispose());

  it("applies every migration once and is idempotent", async () => {
    database = await openTestDatabase(engine);
    const first = await migrate(database.db);
    expect(VERSIONS.length).toBeGreaterThanOrEqual(2);
    expect(first.map((m) => m.version)).toEqual(VERSIONS);
    expect(await migrate(database.db)).toEqual([]);
    const { rows } = await database.db.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    expect(rows.map((row) => row.version)).toEqual(VERSIONS);
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
      expect([...a, ...b].map((m) => m.version).sort((x, y) => x - y)).toEqual(VERSIONS);
      const { rows } = await database.db.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM schema_migrations",
      );
      expect(rows[0]!.n).toBe(VERSIONS.length);
    } finally {
      await second.close();
    }
  });
});
