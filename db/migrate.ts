/**
 * Applies db/migrations/NNN_name.sql in order, each once, recorded in schema_migrations.
 * All of it runs in one transaction under a transaction-scoped advisory lock, so two nodes
 * starting at once apply each migration exactly once (the second waits, then finds them done).
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "./database.js";

const MIGRATIONS_DIRECTORY = fileURLToPath(new URL("./migrations/", import.meta.url));
const LOCK_KEY = 7_420_001; // advisory lock id for migrations

export interface AppliedMigration {
  version: number;
  name: string;
}

export class MigrationError extends Error {
  override readonly name = "MigrationError";
}

async function listMigrations(): Promise<{ version: number; name: string; sql: string; checksum: string }[]> {
  const files = (await readdir(MIGRATIONS_DIRECTORY))
    .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
    .sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(join(MIGRATIONS_DIRECTORY, file), "utf8");
      return {
        version: Number(file.slice(0, 3)),
        name: file.slice(4, -4),
        sql,
        checksum: createHash("sha256").update(sql).digest("hex"),
      };
    }),
  );
}

/** Brings the schema up to date; returns the migrations this call applied. */
export async function migrate(db: Database): Promise<AppliedMigration[]> {
  const migrations = await listMigrations();
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: number; checksum: string }>(
      "SELECT version, checksum FROM schema_migrations",
    );
    const done = new Map(rows.map((row) => [row.version, row.checksum]));
    const applied: AppliedMigration[] = [];
    for (const migration of migrations) {
      const checksum = done.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum)
          throw new MigrationError(
            `migration ${migration.version} (${migration.name}) was changed after it was applied`,
          );
        continue;
      }
      // Statements are separated by ";\n"; migrations contain no procedural bodies.
      for (const statement of migration.sql.split(/;\s*\n/)) {
        if (statement.replace(/--.*$/gm, "").trim()) await tx.query(statement);
      }
      await tx.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      applied.push({ version: migration.version, name: migration.name });
    }
    return applied;
  });
}
