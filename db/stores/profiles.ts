import type { Queryable } from "../database.js";

export interface ProfileRow {
  name: string;
  definition: unknown;
  updated_at: Date;
}

/** Inserts the profile unless one of that name exists (seeding keeps local edits). */
export async function insertProfileIfAbsent(
  tx: Queryable,
  name: string,
  definition: unknown,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    "INSERT INTO profiles (name, definition) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    [name, JSON.stringify(definition)],
  );
  return rowCount === 1;
}

export async function listProfiles(db: Queryable): Promise<ProfileRow[]> {
  const { rows } = await db.query<ProfileRow>(
    "SELECT name, definition, updated_at FROM profiles ORDER BY name",
  );
  return rows;
}

/** The stored definition, locked until the transaction ends; undefined when there is none. */
export async function lockProfile(tx: Queryable, name: string): Promise<ProfileRow | undefined> {
  const { rows } = await tx.query<ProfileRow>(
    "SELECT name, definition, updated_at FROM profiles WHERE name = $1 FOR UPDATE",
    [name],
  );
  return rows[0];
}

export async function replaceProfile(
  tx: Queryable,
  name: string,
  definition: unknown,
  at: Date,
): Promise<void> {
  await tx.query("UPDATE profiles SET definition = $2, updated_at = $3 WHERE name = $1", [
    name,
    JSON.stringify(definition),
    at,
  ]);
}
