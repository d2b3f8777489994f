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
