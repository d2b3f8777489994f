import type { Queryable } from "../database.js";

export type Role = "security-admin" | "ra-operator" | "auditor" | "subscriber";

export interface PrincipalRow {
  id: string;
  kind: "service-account" | "user";
  name: string;
  /** Several for a directory user, exactly one for a service account. */
  roles: Role[];
  org_unit: string | null;
  dns_names: string[];
  disabled_at: Date | null;
  created_at: Date;
}

export const PRINCIPAL_COLUMNS = "id, kind, name, roles, org_unit, dns_names, disabled_at, created_at";

export async function insertPrincipal(
  tx: Queryable,
  principal: Pick<PrincipalRow, "id" | "kind" | "name" | "roles" | "org_unit" | "dns_names">,
): Promise<PrincipalRow> {
  const { rows } = await tx.query<PrincipalRow>(
    `INSERT INTO principals (id, kind, name, roles, org_unit, dns_names) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING ${PRINCIPAL_COLUMNS}`,
    [
      principal.id,
      principal.kind,
      principal.name,
      principal.roles,
      principal.org_unit,
      JSON.stringify(principal.dns_names),
    ],
  );
  return rows[0]!;
}

export async function getPrincipal(db: Queryable, id: string): Promise<PrincipalRow | undefined> {
  const { rows } = await db.query<PrincipalRow>(`SELECT ${PRINCIPAL_COLUMNS} FROM principals WHERE id = $1`, [
    id,
  ]);
  return rows[0];
}

export async function listPrincipals(db: Queryable, orgUnit?: string): Promise<PrincipalRow[]> {
  const { rows } = await db.query<PrincipalRow>(
    `SELECT ${PRINCIPAL_COLUMNS} FROM principals
     WHERE $1::text IS NULL OR org_unit = $1 OR org_unit LIKE $1 || '/%' ORDER BY created_at, id`,
    [orgUnit ?? null],
  );
  return rows;
}

export async function disablePrincipal(tx: Queryable, id: string, at: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    "UPDATE principals SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL",
    [id, at],
  );
  return rowCount === 1;
}

export interface ApiKeyRow {
  id: string;
  principal_id: string;
  secret_hash: Buffer;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

export async function insertApiKey(
  tx: Queryable,
  key: { id: string; principalId: string; secretHash: Buffer; expiresAt: Date | null },
): Promise<void> {
  await tx.query("INSERT INTO api_keys (id, principal_id, secret_hash, expires_at) VALUES ($1, $2, $3, $4)", [
    key.id,
    key.principalId,
    key.secretHash,
    key.expiresAt,
  ]);
}

/** The key and its principal in one round trip, for authenticating a request. */
export async function findApiKey(
  db: Queryable,
  id: string,
): Promise<{ key: ApiKeyRow; principal: PrincipalRow } | undefined> {
  const { rows } = await db.query<ApiKeyRow & { p: PrincipalRow }>(
    `SELECT k.id, k.principal_id, k.secret_hash, k.created_at, k.expires_at, k.revoked_at,
            json_build_object('id', p.id, 'kind', p.kind, 'name', p.name, 'roles', p.roles, 'org_unit', p.org_unit,
                              'dns_names', p.dns_names, 'disabled_at', p.disabled_at, 'created_at', p.created_at) AS p
     FROM api_keys k JOIN principals p ON p.id = k.principal_id WHERE k.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { p, ...key } = row;
  const principal: PrincipalRow = {
    ...p,
    disabled_at: p.disabled_at ? new Date(p.disabled_at) : null,
    created_at: new Date(p.created_at),
  };
  return { key, principal };
}

export async function revokeApiKey(tx: Queryable, id: string, at: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    [id, at],
  );
  return rowCount === 1;
}

export async function listApiKeys(
  db: Queryable,
  principalId: string,
): Promise<Omit<ApiKeyRow, "secret_hash">[]> {
  const { rows } = await db.query<Omit<ApiKeyRow, "secret_hash">>(
    "SELECT id, principal_id, created_at, expires_at, revoked_at FROM api_keys WHERE principal_id = $1 ORDER BY created_at",
    [principalId],
  );
  return rows;
}

export async function enablePrincipal(tx: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    "UPDATE principals SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL",
    [id],
  );
  return rowCount === 1;
}

/**
 * Serializes, across nodes, the changes that may take the security-admin role from someone
 * (transaction-scoped advisory lock), then answers the enabled principals holding it: two
 * admins demoting each other at once cannot both succeed.
 */
export async function lockSecurityAdmins(tx: Queryable): Promise<string[]> {
  await tx.query("SELECT pg_advisory_xact_lock(7420011, 0)");
  const { rows } = await tx.query<{ id: string }>(
    "SELECT id FROM principals WHERE disabled_at IS NULL AND 'security-admin' = ANY (roles) ORDER BY id",
  );
  return rows.map((row) => row.id);
}
