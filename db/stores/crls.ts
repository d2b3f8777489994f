import type { Queryable } from "../database.js";

export interface CrlRow {
  issuer_id: string;
  number: number;
  kind: "full" | "delta";
  base_number: number | null;
  this_update: Date;
  next_update: Date;
  entries: number;
  /** The issuer's status-change count when this CRL's generation began. */
  changes: number;
  der: Buffer;
}

/** Takes a transaction-scoped advisory lock for CRL generation of one issuer, if free. */
export async function tryLockCrlGeneration(tx: Queryable, issuerId: string): Promise<boolean> {
  const { rows } = await tx.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock(7420002, hashtext($1)) AS locked",
    [issuerId],
  );
  return rows[0]!.locked;
}

/** The next CRL number of an issuer (RFC 5280 §5.2.3: monotonically increasing). */
export async function nextCrlNumber(tx: Queryable, issuerId: string): Promise<number> {
  const { rows } = await tx.query<{ last_number: number }>(
    `INSERT INTO crl_numbers (issuer_id, last_number) VALUES ($1, 1)
     ON CONFLICT (issuer_id) DO UPDATE SET last_number = crl_numbers.last_number + 1
     RETURNING last_number`,
    [issuerId],
  );
  return rows[0]!.last_number;
}

export async function insertCrl(tx: Queryable, crl: CrlRow): Promise<void> {
  await tx.query(
    `INSERT INTO crls (issuer_id, number, kind, base_number, this_update, next_update, entries, changes, der)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      crl.issuer_id,
      crl.number,
      crl.kind,
      crl.base_number,
      crl.this_update,
      crl.next_update,
      crl.entries,
      crl.changes,
      crl.der,
    ],
  );
  // Keep the last few of each kind; older ones are superseded.
  await tx.query(
    `DELETE FROM crls WHERE issuer_id = $1 AND kind = $2 AND number < (
       SELECT min(number) FROM (SELECT number FROM crls WHERE issuer_id = $1 AND kind = $2 ORDER BY number DESC LIMIT 3) AS kept)`,
    [crl.issuer_id, crl.kind],
  );
}

/** Number and dates of the newest CRL of a kind, without its bytes. */
export async function latestCrlInfo(
  db: Queryable,
  issuerId: string,
  kind: "full" | "delta",
): Promise<Omit<CrlRow, "der"> | undefined> {
  const { rows } = await db.query<Omit<CrlRow, "der">>(
    `SELECT issuer_id, number, kind, base_number, this_update, next_update, entries, changes FROM crls
     WHERE issuer_id = $1 AND kind = $2 ORDER BY number DESC LIMIT 1`,
    [issuerId, kind],
  );
  return rows[0];
}

export async function crlByNumber(
  db: Queryable,
  issuerId: string,
  number: number,
): Promise<CrlRow | undefined> {
  const { rows } = await db.query<CrlRow>(
    "SELECT issuer_id, number, kind, base_number, this_update, next_update, entries, changes, der FROM crls WHERE issuer_id = $1 AND number = $2",
    [issuerId, number],
  );
  return rows[0];
}

export interface RevokedRow {
  serial: string;
  status: "good" | "revoked" | "on-hold";
  revoked_at: Date | null;
  status_changed_at: Date | null;
  revocation_reason: number | null;
  invalidity_date: Date | null;
}

/** Revoked and held certificates still within their validity, in serial order, one page at a time. */
export async function revokedPage(
  db: Queryable,
  issuerId: string,
  validAt: Date,
  afterSerial: string,
  limit: number,
): Promise<RevokedRow[]> {
  const { rows } = await db.query<RevokedRow>(
    `SELECT serial, status, revoked_at, status_changed_at, revocation_reason, invalidity_date FROM certificates
     WHERE issuer_id = $1 AND status <> 'good' AND not_after > $2 AND serial > $3 ORDER BY serial LIMIT $4`,
    [issuerId, validAt, afterSerial, limit],
  );
  return rows;
}

/** Certificates whose status changed at or after `since` (for delta CRLs), still valid. */
export async function changedSince(
  db: Queryable,
  issuerId: string,
  since: Date,
  validAt: Date,
): Promise<RevokedRow[]> {
  const { rows } = await db.query<RevokedRow>(
    `SELECT serial, status, revoked_at, status_changed_at, revocation_reason, invalidity_date FROM certificates
     WHERE issuer_id = $1 AND status_changed_at >= $2 AND not_after > $3 ORDER BY serial`,
    [issuerId, since, validAt],
  );
  return rows;
}
