/**
 * The two database engines every storage suite runs against: embedded PGlite, and a real
 * PostgreSQL server (DATABASE_URL; default postgres://postgres@127.0.0.1:5432/postgres).
 * Each PostgreSQL test file gets a database of its own, dropped afterwards. When no server
 * answers, the PostgreSQL suites fail: they never skip.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { type Database, openDatabase } from "../../db/database.js";

export type Engine = "pglite" | "postgres";
export const ENGINES: readonly Engine[] = ["pglite", "postgres"];

export const postgresUrl = (): string =>
  process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** Creates an empty PostgreSQL database and returns its URL and a function that drops it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `ca_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(postgresUrl(), name),
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestDatabase {
  readonly db: Database;
  /** For PostgreSQL: the URL, so a test can open a second "node" on the same database. */
  readonly url?: string;
  dispose(): Promise<void>;
}

export async function openTestDatabase(engine: Engine): Promise<TestDatabase> {
  if (engine === "pglite") {
    const db = await openDatabase({});
    return { db, dispose: () => db.close() };
  }
  const created = await createPostgresDatabase();
  const db = await openDatabase({ url: created.url, poolSize: 8 });
  return {
    db,
    url: created.url,
    async dispose() {
      await db.close();
      await created.drop();
    },
  };
}
