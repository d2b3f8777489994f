/**
 * Directory users: a principal of kind 'user' plus its `users` row. Reads for views never
 * select the password hash or the sealed TOTP secret; only `findLogin` does.
 */
import type { Queryable } from "../database.js";
import type { PrincipalRow, Role } from "./principals.js";

export interface UserRow {
  id: string;
  name: string;
  roles: Role[];
  org_unit: string | null;
  disabled_at: Date | null;
  created_at: Date;
  employee_number: string;
  email: string | null;
  has_password: boolean;
  has_totp: boolean;
  locked_until: Date | null;
  last_login_at: Date | null;
}

export interface NewUser {
  id: string;
  name: string;
  roles: Role[];
  org_unit: string | null;
  employee_number: string;
  email: string | null;
  created_at: Date;
}

const USER_SELECT = `SELECT p.id, p.name, p.roles, p.org_unit, p.disabled_at, p.created_at,
       u.employee_number, u.email, u.password_hash IS NOT NULL AS has_password,
       u.totp_secret IS NOT NULL AS has_totp, u.locked_until, u.last_login_at
  FROM users u JOIN principals p ON p.id = u.principal_id`;

/**
 * Inserts principals and their users rows in one statement per call. Answers the ids inserted:
 * fewer than given when an employee number was taken meanwhile (the caller then rolls back).
 */
export async function insertUsers(tx: Queryable, users: readonly NewUser[]): Promise<string[]> {
  if (users.length === 0) return [];
  const { rows } = await tx.query<{ principal_id: string }>(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS r(id uuid, name text, roles text[], org_unit text, employee_number text, email text,
               created_at timestamptz)),
     principal AS (
       INSERT INTO principals (id, kind, name, roles, org_unit, created_at)
       SELECT id, 'user', name, roles, org_unit, created_at FROM input RETURNING id)
     INSERT INTO users (principal_id, employee_number, email)
     SELECT id, employee_number, email FROM input
     ON CONFLICT ((lower(employee_number))) DO NOTHING
     RETURNING principal_id`,
    [JSON.stringify(users)],
  );
  return rows.map((row) => row.principal_id);
}

export async function getUser(db: Queryable, id: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`${USER_SELECT} WHERE p.id = $1`, [id]);
  return rows[0];
}

/** The user with its principal row locked until the transaction ends (FOR UPDATE). */
export async function lockUser(tx: Queryable, id: string): Promise<UserRow | undefined> {
  const { rows } = await tx.query<UserRow>(`${USER_SELECT} WHERE p.id = $1 FOR UPDATE OF p, u`, [id]);
  return rows[0];
}

/** Writes the changeable fields of a directory user: name, roles and org unit (principal), email. */
export async function updateUser(
  tx: Queryable,
  id: string,
  fields: { name: string; roles: readonly Role[]; org_unit: string | null; email: string | null },
): Promise<void> {
  await tx.query(
    "UPDATE principals SET name = $2, roles = $3, org_unit = $4 WHERE id = $1 AND kind = 'user'",
    [id, fields.name, fields.roles, fields.org_unit],
  );
  await tx.query("UPDATE users SET email = $2 WHERE principal_id = $1", [id, fields.email]);
}

export async function getUsers(db: Queryable, ids: readonly string[]): Promise<UserRow[]> {
  const { rows } = await db.query<UserRow>(
    `${USER_SELECT} WHERE p.id = ANY($1::uuid[]) ORDER BY lower(u.employee_number)`,
    [ids],
  );
  return rows;
}

export async function findUserByEmployeeNumber(db: Queryable, number: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>(`${USER_SELECT} WHERE lower(u.employee_number) = lower($1)`, [
    number,
  ]);
  return rows[0];
}

/** Which of `numbers` (compared in lower case) are taken; answers them in lower case. */
export async function takenEmployeeNumbers(db: Queryable, numbers: readonly string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ number: string }>(
    "SELECT lower(employee_number) AS number FROM users WHERE lower(employee_number) = ANY($1::text[])",
    [numbers.map((number) => number.toLowerCase())],
  );
  return new Set(rows.map((row) => row.number));
}

/** A page in employee-number order (case-insensitive), after `after` (the previous page's last, lower case). */
export async function listUsers(
  db: Queryable,
  query: { orgUnit?: string | undefined; after?: string | undefined; limit: number },
): Promise<UserRow[]> {
  const { rows } = await db.query<UserRow>(
    `${USER_SELECT}
     WHERE ($1::text IS NULL OR p.org_unit = $1 OR p.org_unit LIKE $1 || '/%')
       AND ($2::text IS NULL OR lower(u.employee_number) > $2)
     ORDER BY lower(u.employee_number) LIMIT $3`,
    [query.orgUnit ?? null, query.after ?? null, query.limit],
  );
  return rows;
}

export async function setPasswordHash(tx: Queryable, id: string, hash: string): Promise<void> {
  // A new password (set by an administrator) also lifts a lockout.
  await tx.query(
    "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE principal_id = $1",
    [id, hash],
  );
}

/** Stores (or with null removes) the sealed TOTP secret; either way codes start afresh. */
export async function setTotpSecret(tx: Queryable, id: string, sealed: Buffer | null): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE users SET totp_secret = $2, totp_last_step = NULL
     WHERE principal_id = $1 AND (totp_secret IS NULL) = ($2::bytea IS NOT NULL)`,
    [id, sealed],
  );
  return rowCount === 1;
}

export interface LoginRow {
  principal: PrincipalRow;
  password_hash: string | null;
  totp_secret: Buffer | null;
  totp_last_step: number | null;
  locked_until: Date | null;
}

/** What a password login needs, found by employee number (case-insensitive). */
export async function findLogin(db: Queryable, employeeNumber: string): Promise<LoginRow | undefined> {
  const { rows } = await db.query<PrincipalRow & Omit<LoginRow, "principal">>(
    `SELECT p.id, p.kind, p.name, p.roles, p.org_unit, p.dns_names, p.disabled_at, p.created_at,
            u.password_hash, u.totp_secret, u.totp_last_step, u.locked_until
       FROM users u JOIN principals p ON p.id = u.principal_id
      WHERE lower(u.employee_number) = lower($1)`,
    [employeeNumber],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { password_hash, totp_secret, totp_last_step, locked_until, ...principal } = row;
  return { principal, password_hash, totp_secret, totp_last_step, locked_until };
}

/**
 * Counts a failed login; the `maxFailures`-th consecutive one locks the account until
 * `lockUntil` and starts the count afresh. Answers whether this failure locked it.
 */
export async function recordLoginFailure(
  tx: Queryable,
  id: string,
  maxFailures: number,
  lockUntil: Date,
): Promise<{ locked: boolean }> {
  const { rows } = await tx.query<{ locked: boolean }>(
    `UPDATE users SET
       failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
       locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3::timestamptz ELSE locked_until END
     WHERE principal_id = $1
     RETURNING failed_logins = 0 AS locked`,
    [id, maxFailures, lockUntil],
  );
  return { locked: rows[0]?.locked ?? false };
}

/**
 * Records a successful login that used TOTP step `step`: only if that step is later than the
 * last one used (RFC 6238 §5.2) and the account is not locked, checked in the same statement,
 * so that two logins racing with one code cannot both succeed. Answers whether it was recorded.
 */
export async function recordLoginSuccess(
  tx: Queryable,
  id: string,
  at: Date,
  step: number,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $2, totp_last_step = $3
     WHERE principal_id = $1
       AND (totp_last_step IS NULL OR totp_last_step < $3)
       AND (locked_until IS NULL OR locked_until <= $2)`,
    [id, at, step],
  );
  return rowCount === 1;
}
