/**
 * The PostgreSQL adapter prepares each parameterized statement once per connection and then
 * only binds and executes it (db/database.ts StatementNames); PGlite runs the same statements.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ENGINES, openTestDatabase, type TestDatabase } from "../helpers/databases.js";

const LOOKUP = "SELECT n, label FROM items WHERE n = $1";

describe.each(ENGINES)("statements on %s", (engine) => {
  let database: TestDatabase;
  afterEach(async () => database?.dispose());

  it("answers a repeated parameterized statement correctly, inside and outside transactions", async () => {
    database = await openTestDatabase(engine);
    const { db } = database;
    await db.query("CREATE TABLE items (n integer PRIMARY KEY, label text NOT NULL)");
    for (let n = 0; n < 20; n++)
      await db.query("INSERT INTO items (n, label) VALUES ($1, $2)", [n, `item ${n}`]);
    for (let n = 0; n < 20; n++) {
      const { rows } = await db.query<{ n: number; label: string }>(LOOKUP, [n]);
      expect(rows).toEqual([{ n, label: `item ${n}` }]);
    }
    const inside = await db.transaction(async (tx) => {
      const labels: string[] = [];
      for (const n of [3, 7, 3]) labels.push((await tx.query<{ label: string }>(LOOKUP, [n])).rows[0]!.label);
      return labels;
    });
    expect(inside).toEqual(["item 3", "item 7", "item 3"]);
    // A failing execution of a prepared statement leaves it usable.
    await expect(db.query("INSERT INTO items (n, label) VALUES ($1, $2)", [1, "again"])).rejects.toThrow();
    await db.query("INSERT INTO items (n, label) VALUES ($1, $2)", [20, "item 20"]);
    expect((await db.query<{ label: string }>(LOOKUP, [20])).rows[0]!.label).toBe("item 20");
  });
});

describe("the PostgreSQL adapter", () => {
  let database: TestDatabase;
  afterEach(async () => database?.dispose());

  it("parses a parameterized statement once per connection, and statements without parameters not at all", async () => {
    database = await openTestDatabase("postgres");
    const { db } = database;
    await db.query("CREATE TABLE items (n integer PRIMARY KEY, label text NOT NULL)");
    const prepared = await db.transaction(async (tx) => {
      for (let n = 0; n < 5; n++) await tx.query(LOOKUP, [n]);
      await tx.query("SELECT count(*) FROM items");
      return (
        await tx.query<{ statement: string }>(
          "SELECT statement FROM pg_prepared_statements WHERE statement IN ($1, $2)",
          [LOOKUP, "SELECT count(*) FROM items"],
        )
      ).rows.map((row) => row.statement);
    });
    expect(prepared).toEqual([LOOKUP]);
  });
});
