import { afterEach, describe, expect, it } from "vitest";
import { GroupCommitter } from "../../db/group-commit.js";
import { ENGINES, openTestDatabase, type TestDatabase } from "../helpers/databases.js";

describe.each(ENGINES)("group commit on %s", (engine) => {
  let database: TestDatabase;
  afterEach(async () => database?.dispose());

  it("commits concurrent items in shared transactions and isolates a failing item", async () => {
    database = await openTestDatabase(engine);
    await database.db.query("CREATE TABLE items (n integer PRIMARY KEY)");
    const batches: number[] = [];
    const committer = new GroupCommitter<number>(
      database.db,
      async (tx, items) => {
        batches.push(items.length);
        for (const n of items) {
          if (n === 13) throw new Error("item 13 is refused");
          await tx.query("INSERT INTO items (n) VALUES ($1)", [n]);
        }
      },
      { maxBatch: 16, maxInFlight: 1 },
    );
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, n) => committer.submit(n)));
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect((results[13] as PromiseRejectedResult).reason.message).toBe("item 13 is refused");
    const { rows } = await database.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM items");
    expect(rows[0]!.n).toBe(39);
    expect(Math.max(...batches)).toBeGreaterThan(1); // items really were grouped
  });
});
