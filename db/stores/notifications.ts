/** NOTIFY and who listens: what several nodes on one PostgreSQL use to keep their memories consistent. */
import type { Queryable } from "../database.js";

/** Sends a notification; inside a transaction it is delivered only if, and when, that commits. */
export async function notify(db: Queryable, channel: string, payload: string): Promise<void> {
  await db.query("SELECT pg_notify($1, $2)", [channel, payload]);
}

/** The application names of the sessions of this database whose name starts with `prefix`. */
export async function sessionsNamed(db: Queryable, prefix: string): Promise<string[]> {
  const { rows } = await db.query<{ application_name: string }>(
    `SELECT application_name FROM pg_stat_activity
     WHERE datname = current_database() AND starts_with(application_name, $1)`,
    [prefix],
  );
  return rows.map((row) => row.application_name);
}
