/** SQL for enrolment requests; the workflow's rules live in src/ra. */
import type { Queryable } from "../database.js";
import { WhereClause } from "../where-clause.js";

export type EnrollmentMethod = "csr" | "browser" | "server-keygen";
export type EnrollmentStatus = "pending" | "approved" | "rejected" | "withdrawn" | "issued" | "expired";

export interface EnrollmentRow {
  id: string;
  requester_id: string;
  requester_org_unit: string | null;
  profile: string;
  issuer_id: string | null;
  method: EnrollmentMethod;
  csr_der: Buffer;
  subject_alt_names: { type: string; value: string }[] | null;
  status: EnrollmentStatus;
  decided_by: string | null;
  decided_at: Date | null;
  reason: string | null;
  issue_error: string | null;
  certificate_issuer: string | null;
  certificate_serial: string | null;
  created_at: Date;
  expires_at: Date;
  /** Whether a sealed server-generated key waits (the key itself is read only by `lockSealedKey`). */
  has_key: boolean;
  delivered_at: Date | null;
}

/** A row with the requester's directory data, for the RA queue. */
export interface EnrollmentListRow extends EnrollmentRow {
  requester_name: string;
  requester_employee_number: string | null;
  requester_email: string | null;
}

const COLUMNS = `e.id, e.requester_id, e.requester_org_unit, e.profile, e.issuer_id, e.method, e.csr_der,
  e.subject_alt_names, e.status, e.decided_by, e.decided_at, e.reason, e.issue_error, e.certificate_issuer,
  e.certificate_serial, e.created_at, e.expires_at, e.encrypted_key IS NOT NULL AS has_key, e.delivered_at`;

const LIST_COLUMNS = `${COLUMNS}, p.name AS requester_name, u.employee_number AS requester_employee_number,
  u.email AS requester_email`;
const LIST_FROM = `enrollments e JOIN principals p ON p.id = e.requester_id
  LEFT JOIN users u ON u.principal_id = e.requester_id`;

/** A new request: its row as listed, without the decision and delivery columns, plus its sealed key. */
export type NewEnrollment = Pick<
  EnrollmentRow,
  | "id"
  | "requester_id"
  | "requester_org_unit"
  | "profile"
  | "issuer_id"
  | "method"
  | "csr_der"
  | "subject_alt_names"
  | "certificate_issuer"
  | "certificate_serial"
  | "created_at"
  | "expires_at"
> & { status: "pending" | "issued"; encrypted_key: Buffer | null };

export async function insertEnrollment(tx: Queryable, row: NewEnrollment): Promise<void> {
  await tx.query(
    `INSERT INTO enrollments (id, requester_id, requester_org_unit, profile, issuer_id, method, csr_der,
       subject_alt_names, status, certificate_issuer, certificate_serial, created_at, expires_at, encrypted_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      row.id,
      row.requester_id,
      row.requester_org_unit,
      row.profile,
      row.issuer_id,
      row.method,
      row.csr_der,
      row.subject_alt_names === null ? null : JSON.stringify(row.subject_alt_names),
      row.status,
      row.certificate_issuer,
      row.certificate_serial,
      row.created_at,
      row.expires_at,
      row.encrypted_key,
    ],
  );
}

export async function getEnrollment(db: Queryable, id: string): Promise<EnrollmentListRow | undefined> {
  const { rows } = await db.query<EnrollmentListRow>(
    `SELECT ${LIST_COLUMNS} FROM ${LIST_FROM} WHERE e.id = $1`,
    [id],
  );
  return rows[0];
}

/** The request, locked for the rest of the transaction. */
export async function lockEnrollment(tx: Queryable, id: string): Promise<EnrollmentRow | undefined> {
  const { rows } = await tx.query<EnrollmentRow>(
    `SELECT ${COLUMNS} FROM enrollments e WHERE e.id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0];
}

/** The sealed key of a request (null when there is none); `lock`: for the rest of the transaction. */
export async function readSealedKey(db: Queryable, id: string, lock: boolean): Promise<Buffer | null> {
  const { rows } = await db.query<{ encrypted_key: Buffer | null }>(
    `SELECT encrypted_key FROM enrollments WHERE id = $1 ${lock ? "FOR UPDATE" : ""}`,
    [id],
  );
  return rows[0]?.encrypted_key ?? null;
}

export interface EnrollmentChange {
  status?: EnrollmentStatus;
  decidedBy?: string;
  decidedAt?: Date;
  reason?: string;
  /** Sets (string) or clears (null) the last issuance failure. */
  issueError?: string | null;
  certificate?: { issuer: string; serial: string };
  eraseKey?: boolean;
  deliveredAt?: Date;
}

/**
 * Applies a change when the row is still in one of `from` (a guard against a concurrent
 * transition); answers whether it was.
 */
export async function updateEnrollment(
  tx: Queryable,
  id: string,
  from: readonly EnrollmentStatus[],
  change: EnrollmentChange,
): Promise<boolean> {
  const sets: string[] = [];
  const params: unknown[] = [id, from];
  const set = (column: string, value: unknown) => {
    params.push(value);
    sets.push(`${column} = $${params.length}`);
  };
  if (change.status) set("status", change.status);
  if (change.decidedBy !== undefined) set("decided_by", change.decidedBy);
  if (change.decidedAt) set("decided_at", change.decidedAt);
  if (change.reason !== undefined) set("reason", change.reason);
  if (change.issueError !== undefined) set("issue_error", change.issueError);
  if (change.certificate) {
    set("certificate_issuer", change.certificate.issuer);
    set("certificate_serial", change.certificate.serial);
  }
  if (change.eraseKey) sets.push("encrypted_key = NULL");
  if (change.deliveredAt) set("delivered_at", change.deliveredAt);
  const { rowCount } = await tx.query(
    `UPDATE enrollments SET ${sets.join(", ")} WHERE id = $1 AND status = ANY ($2::text[])`,
    params,
  );
  return rowCount === 1;
}

/** Which requests a caller may see: all, an org subtree (plus its own), or its own. */
export type EnrollmentScope =
  | { all: true }
  | { orgUnit: string; requesterId: string }
  | { requesterId: string };

export interface EnrollmentSearch {
  readonly scope: EnrollmentScope;
  readonly status?: EnrollmentStatus | undefined;
  readonly profile?: string | undefined;
  readonly requesterId?: string | undefined;
  /** Keyset cursor: the (created_at, id) of the last row of the previous page. */
  readonly after?: { createdAt: Date; id: string } | undefined;
  readonly limit: number;
}

/** Newest first, keyset-paginated. */
export async function searchEnrollments(
  db: Queryable,
  search: EnrollmentSearch,
): Promise<EnrollmentListRow[]> {
  const where = new WhereClause();
  const add = where.add.bind(where);
  const { scope } = search;
  if ("orgUnit" in scope)
    add(
      "(e.requester_id = ? OR e.requester_org_unit = ? OR e.requester_org_unit LIKE ? || '/%')",
      scope.requesterId,
      scope.orgUnit,
      scope.orgUnit,
    );
  else if ("requesterId" in scope) add("e.requester_id = ?", scope.requesterId);
  if (search.status) add("e.status = ?", search.status);
  if (search.profile) add("e.profile = ?", search.profile);
  if (search.requesterId) add("e.requester_id = ?", search.requesterId);
  if (search.after) add("(e.created_at, e.id) < (?, ?)", search.after.createdAt, search.after.id);
  const limit = where.param(search.limit);
  const { rows } = await db.query<EnrollmentListRow>(
    `SELECT ${LIST_COLUMNS} FROM ${LIST_FROM} ${where}
     ORDER BY e.created_at DESC, e.id DESC LIMIT ${limit}`,
    where.params,
  );
  return rows;
}

/** Pending requests past their expiry, locked and skipped by another node's run (SKIP LOCKED). */
export async function lockExpiredPending(tx: Queryable, now: Date, limit: number): Promise<EnrollmentRow[]> {
  const { rows } = await tx.query<EnrollmentRow>(
    `SELECT ${COLUMNS} FROM enrollments e WHERE e.status = 'pending' AND e.expires_at <= $1
     ORDER BY e.expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows;
}

/** One node at a time runs the expiry job; the others skip their run (does not wait). */
export async function tryLockExpiry(tx: Queryable): Promise<boolean> {
  const { rows } = await tx.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock(7420005, 0) AS locked",
  );
  return rows[0]!.locked;
}
