import type { Queryable } from "../database.js";

export interface InteractionRow {
  id: string;
  binding_hash: Buffer;
  client_id: string;
  request: Record<string, unknown>;
  session_id: string | null;
  expires_at: Date;
}

export async function insertInteraction(
  tx: Queryable,
  row: Omit<InteractionRow, "session_id">,
): Promise<void> {
  await tx.query(
    "INSERT INTO sso_interactions (id, binding_hash, client_id, request, expires_at) VALUES ($1, $2, $3, $4, $5)",
    [row.id, row.binding_hash, row.client_id, JSON.stringify(row.request), row.expires_at],
  );
}

export async function getInteraction(db: Queryable, id: string): Promise<InteractionRow | undefined> {
  const { rows } = await db.query<InteractionRow>(
    "SELECT id, binding_hash, client_id, request, session_id, expires_at FROM sso_interactions WHERE id = $1",
    [id],
  );
  return rows[0];
}

/** Attaches the session a login produced; false when the interaction is gone or already has one. */
export async function attachSession(
  db: Queryable,
  id: string,
  sessionId: string,
  now: Date,
): Promise<boolean> {
  const { rowCount } = await db.query(
    "UPDATE sso_interactions SET session_id = $2 WHERE id = $1 AND session_id IS NULL AND expires_at > $3",
    [id, sessionId, now],
  );
  return rowCount === 1;
}

export async function deleteInteraction(db: Queryable, id: string): Promise<void> {
  await db.query("DELETE FROM sso_interactions WHERE id = $1", [id]);
}

export async function getConsent(
  db: Queryable,
  principalId: string,
  clientId: string,
): Promise<string[] | undefined> {
  const { rows } = await db.query<{ scopes: string[] }>(
    "SELECT scopes FROM sso_consents WHERE principal_id = $1 AND client_id = $2",
    [principalId, clientId],
  );
  return rows[0]?.scopes;
}

export async function upsertConsent(
  tx: Queryable,
  principalId: string,
  clientId: string,
  scopes: readonly string[],
  at: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO sso_consents (principal_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (principal_id, client_id) DO UPDATE SET scopes = EXCLUDED.scopes, granted_at = EXCLUDED.granted_at`,
    [principalId, clientId, JSON.stringify(scopes), at],
  );
}

/** Deletes what has expired and can never be used again; returns how many rows went. */
export async function purgeExpired(db: Queryable, now: Date): Promise<number> {
  let deleted = 0;
  for (const table of ["sso_interactions", "oauth_codes", "oauth_assertion_jtis", "oauth_revoked_tokens"])
    deleted += (await db.query(`DELETE FROM ${table} WHERE expires_at <= $1`, [now])).rowCount;
  return deleted;
}
