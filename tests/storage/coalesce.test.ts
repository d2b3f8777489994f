import { describe, expect, it } from "vitest";
import { CoalescedLookup } from "../../db/coalesce.js";
import { migrate } from "../../db/migrate.js";
import { blockedKeys, blockKey } from "../../db/stores/blocklist.js";
import { ENGINES, openTestDatabase } from "../helpers/databases.js";

describe("coalesced lookups", () => {
  it("answers concurrent keys with few fetches and each caller its own value", async () => {
    const fetched: number[][] = [];
    const lookup = new CoalescedLookup<number, number>(async (keys) => {
      fetched.push([...keys]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return keys.map((key) => key * 10);
    });
    const values = await Promise.all(Array.from({ length: 50 }, (_, i) => lookup.get(i)));
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i * 10));
    expect(fetched.length).toBeLessThanOrEqual(2);
    expect(fetched.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("fails the callers of a failed fetch and recovers for the next", async () => {
    let fail = true;
    const lookup = new CoalescedLookup<string, string>(async (keys) => {
      if (fail) throw new Error("database down");
      return keys;
    });
    await expect(lookup.get("a")).rejects.toThrow("database down");
    fail = false;
    await expect(lookup.get("b")).resolves.toBe("b");
  });
});

describe.each(ENGINES)("key blocklist on %s", (engine) => {
  it("reports each hash of a batch, one query for all", async () => {
    const database = await openTestDatabase(engine);
    try {
      await migrate(database.db);
      const blocked = Buffer.alloc(32, 1);
      await blockKey(database.db, blocked, "keyCompromise");
      expect(await blockedKeys(database.db, [Buffer.alloc(32, 2), blocked, Buffer.alloc(32, 3)])).toEqual([
        false,
        true,
        false,
      ]);
      expect(await blockedKeys(database.db, [])).toEqual([]);
    } finally {
      await database.dispose();
    }
  });
});
