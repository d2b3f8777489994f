import type { Queryable } from "../database.js";

export interface GrantRow {
  id: string;
  client_id: string;
  principal_id: string;
  session_id: string | null;
  scope: string;
  cnf_x5t: string | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoke_reason: string | null;
}

const GRANT_COLUMNS =
  "id, client_id, principal_id, session_id, scope, cnf_x5t, created_at, expires_at, revoked_at, revoke_reason";

export async function insertGrant(
  tx: Queryable,
  row: Omit<GrantRow, "revoked_at" | "revoke_reason">,
): Promise<void> {
  await tx.query(
    `INSERT INTO oauth_grants (id, client_id, principal_id, session_id, scope, cnf_x5t, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      row.id,
      row.client_id,
      row.principal_id,
      row.session_id,
      row.scope,
      row.cnf_x5t,
      row.created_at,
      row.expires_at,
    ],
  );
}

export async function getGrant(db: Queryable, id: string): Promise<GrantRow | undefined> {
  const { rows } = await db.query<GrantRow>(`SELECT ${GRANT_COLUMNS} FROM oauth_grants WHERE id = $1`, [id]);
  return rows[0];
}

export type GrantSelector = { readonly ids: readonly string[] } | { readonly sessionIds: readonly string[] };

/** Revokes the live grants selected; returns their ids and expiry. */
export async function revokeGrants(
  tx: Queryable,
  selector: GrantSelector,
  at: Date,
  reason: string,
): Promise<{ id: string; expires_at: Date }[]> {
  const { rows } = await tx.query<{ id: string; expires_at: Date }>(
    `UPDATE oauth_grants SET revoked_at = $1, revoke_reason = $2
     WHERE ${"ids" in selector ? "id" : "session_id"} = ANY($3::text[]) AND revoked_at IS NULL
     RETURNING id, expires_at`,
    [at, reason, "ids" in selector ? selector.ids : selector.sessionIds],
  );
  return rows;
}

export async function revokedGrantIds(db: Queryable, now: Date): Promise<{ id: string; expires_at: Date }[]> {
  const { rows } = await db.query<{ id: string; expires_at: Date }>(
    "SELECT id, expires_at FROM oauth_grants WHERE revoked_at IS NOT NULL AND expires_at > $1",
    [now],
  );
  return rows;
}

export interface CodeRow {
  hash: Buffer;
  client_id: string;
  session_id: string;
  redirect_uri: string;
  scope: string;
  nonce: string | null;
  code_challenge: string;
  expires_at: Date;
  redeemed_at: Date | null;
  grant_id: string | null;
}

export async function insertCode(
  tx: Queryable,
  row: Omit<CodeRow, "redeemed_at" | "grant_id">,
): Promise<void> {
  await tx.query(
    `INSERT INTO oauth_codes (hash, client_id, session_id, redirect_uri, scope, nonce, code_challenge, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      row.hash,
      row.client_id,
      row.session_id,
      row.redirect_uri,
      row.scope,
      row.nonce,
      row.code_challenge,
      row.expires_at,
    ],
  );
}

/** The code, locked for this transaction (two redemptions serialize on it). */
export async function lockCode(tx: Queryable, hash: Buffer): Promise<CodeRow | undefined> {
  const { rows } = await tx.query<CodeRow>(
    `SELECT hash, client_id, session_id, redirect_uri, scope, nonce, code_challenge, expires_at, redeemed_at, grant_id
     FROM oauth_codes WHERE hash = $1 FOR UPDATE`,
    [hash],
  );
  return rows[0];
}

export async function redeemCode(
  tx: Queryable,
  hash: Buffer,
  at: Date,
  grantId: string | null,
): Promise<void> {
  await tx.query("UPDATE oauth_codes SET redeemed_at = $2, grant_id = $3 WHERE hash = $1", [
    hash,
    at,
    grantId,
  ]);
}

export interface RefreshTokenRow {
  hash: Buffer;
  grant_id: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export async function insertRefreshToken(
  tx: Queryable,
  row: Omit<RefreshTokenRow, "used_at">,
): Promise<void> {
  await tx.query(
    "INSERT INTO oauth_refresh_tokens (hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    [row.hash, row.grant_id, row.created_at, row.expires_at],
  );
}

/** The refresh token and its grant; `lock` (in a transaction) serializes concurrent refreshes with one token. */
async function refreshTokenWithGrant(
  db: Queryable,
  hash: Buffer,
  lock: boolean,
): Promise<(RefreshTokenRow & { grant: GrantRow }) | undefined> {
  const { rows } = await db.query<RefreshTokenRow & { g: GrantRow }>(
    `SELECT r.hash, r.grant_id, r.created_at, r.expires_at, r.used_at, row_to_json(g) AS g
     FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id WHERE r.hash = $1${lock ? " FOR UPDATE OF r" : ""}`,
    [hash],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { g, ...token } = row;
  const grant: GrantRow = {
    ...g,
    created_at: new Date(g.created_at),
    expires_at: new Date(g.expires_at),
    revoked_at: g.revoked_at ? new Date(g.revoked_at) : null,
  };
  return { ...token, grant };
}

export const lockRefreshToken = (tx: Queryable, hash: Buffer) => refreshTokenWithGrant(tx, hash, true);
export const findRefreshToken = (db: Queryable, hash: Buffer) => refreshTokenWithGrant(db, hash, false);

export async function useRefreshToken(tx: Queryable, hash: Buffer, at: Date): Promise<void> {
  await tx.query("UPDATE oauth_refresh_tokens SET used_at = $2 WHERE hash = $1", [hash, at]);
}

export async function insertRevokedToken(tx: Queryable, jti: string, expiresAt: Date): Promise<void> {
  await tx.query(
    "INSERT INTO oauth_revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    [jti, expiresAt],
  );
}

export async function revokedTokenIds(
  db: Queryable,
  now: Date,
): Promise<{ jti: string; expires_at: Date }[]> {
  const { rows } = await db.query<{ jti: string; expires_at: Date }>(
    "SELECT jti, expires_at FROM oauth_revoked_tokens WHERE expires_at > $1",
    [now],
  );
  return rows;
}

/** RFC 7523 §3 item 7: false when this client already used this jti. */
export async function recordAssertionJti(
  db: Queryable,
  clientId: string,
  jti: string,
  expiresAt: Date,
): Promise<boolean> {
  const { rowCount } = await db.query(
    "INSERT INTO oauth_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    [clientId, jti, expiresAt],
  );
  return rowCount === 1;
}
