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

const PART_BYTES = 4 * 1024 * 1024;

export async function insertCrl(tx: Queryable, crl: CrlRow): Promise<void> {
  await tx.query(
    `INSERT INTO crls (issuer_id, number, kind, base_number, this_update, next_update, entries, changes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      crl.issuer_id,
      crl.number,
      crl.kind,
      crl.base_number,
      crl.this_update,
      crl.next_update,
      crl.entries,
      crl.changes,
    ],
  );
  for (let offset = 0, part = 0; offset < crl.der.length; offset += PART_BYTES, part++)
    await tx.query("INSERT INTO crl_parts (issuer_id, number, part, bytes) VALUES ($1, $2, $3, $4)", [
      crl.issuer_id,
      crl.number,
      part,
      crl.der.subarray(offset, offset + PART_BYTES),
    ]);
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
  const { rows } = await db.query<Omit<CrlRow, "der">>(
    "SELECT issuer_id, number, kind, base_number, this_update, next_update, entries, changes FROM crls WHERE issuer_id = $1 AND number = $2",
    [issuerId, number],
  );
  if (!rows[0]) return undefined;
  const parts = await db.query<{ bytes: Buffer }>(
    "SELECT bytes FROM crl_parts WHERE issuer_id = $1 AND number = $2 ORDER BY part",
    [issuerId, number],
  );
  return { ...rows[0], der: Buffer.concat(parts.rows.map((row) => row.bytes)) };
}

export interface RevokedRow {
  serial: string;
  status: "good" | "revoked" | "on-hold";
  revoked_at: Date | null;
  status_changed_at: Date | null;
  revocation_reason: number | null;
  invalidity_date: Date | null;
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

/**
 * One page of complete-CRL entries with serials in (after, before), DER-encoded by PostgreSQL
 * itself (RFC 5280 §5.1.2.6; the order of entries is free, so the aggregate does not sort): the entries of a million-entry CRL are then built in C on the database's core,
 * and the service only appends each page's bytes. Every length here is below 128, so one
 * length octet each: serial ≤ 21 octets, time 15, extensions ≤ 40. src/revocation/crl/encoder.ts
 * is the reference; tests/revocation/crl-sql-encoding.test.ts holds the two to the same bytes.
 *
 *   entry      = 30 len (serial INTEGER) (revocationDate) [30 len reasonCode? invalidityDate?]
 *   reasonCode = 30 0a 06 03 55 1d 15 04 03 0a 01 <reason>                  (omitted for 0)
 *   invalidity = 30 18 06 03 55 1d 18 04 11 18 0f <YYYYMMDDHHMMSSZ>           (GeneralizedTime)
 *   time       = 17 0d <YYMMDDHHMMSSZ> before 2050, else 18 0f <YYYYMMDDHHMMSSZ> (RFC 5280 §4.1.2.5)
 */
export async function encodedRevokedPage(
  db: Queryable,
  issuerId: string,
  validAt: Date,
  range: { readonly after: string; readonly before: string },
  limit: number,
): Promise<{ der: Buffer; count: number; last: string | null }> {
  const { rows } = await db.query<{ der: Buffer | null; count: number; last: string | null }>(
    `SELECT coalesce(string_agg('\\x30'::bytea || set_byte('\\x00'::bytea, 0, length(body)) || body, ''::bytea), ''::bytea) AS der,
            count(*)::int8 AS count, max(serial) AS last
     FROM (
       SELECT serial,
              '\\x02'::bytea || set_byte('\\x00'::bytea, 0, length(v) + (get_byte(v, 0) >> 7))
                || CASE WHEN get_byte(v, 0) >= 128 THEN '\\x00'::bytea ELSE ''::bytea END || v
              || CASE WHEN revoked_at < '2050-01-01T00:00:00Z'
                      THEN '\\x170d'::bytea || convert_to(to_char(revoked_at AT TIME ZONE 'UTC', 'YYMMDDHH24MISS"Z"'), 'UTF8')
                      ELSE '\\x180f'::bytea || convert_to(to_char(revoked_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS"Z"'), 'UTF8') END
              || CASE WHEN has_reason OR has_invalidity THEN
                   '\\x30'::bytea || set_byte('\\x00'::bytea, 0, (CASE WHEN has_reason THEN 12 ELSE 0 END) + (CASE WHEN has_invalidity THEN 26 ELSE 0 END))
                   || CASE WHEN has_reason THEN '\\x300a0603551d1504030a01'::bytea || set_byte('\\x00'::bytea, 0, reason) ELSE ''::bytea END
                   || CASE WHEN has_invalidity THEN '\\x30180603551d180411180f'::bytea
                        || convert_to(to_char(invalidity_date AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS"Z"'), 'UTF8') ELSE ''::bytea END
                 ELSE ''::bytea END AS body
       FROM (
         SELECT serial, revoked_at, invalidity_date, revocation_reason AS reason,
                coalesce(revocation_reason, 0) > 0 AS has_reason, invalidity_date IS NOT NULL AS has_invalidity,
                CASE WHEN ltrim(decode(serial, 'hex'), '\\x00'::bytea) = ''::bytea THEN '\\x00'::bytea
                     ELSE ltrim(decode(serial, 'hex'), '\\x00'::bytea) END AS v
         FROM certificates
         WHERE issuer_id = $1 AND status <> 'good' AND not_after > $2 AND serial > $3 AND serial < $4
         ORDER BY serial LIMIT $5
       ) AS row
     ) AS page`,
    [issuerId, validAt, range.after, range.before, limit],
  );
  const row = rows[0]!;
  return { der: row.der ?? Buffer.alloc(0), count: row.count, last: row.last };
}

/** How many entries a complete CRL will have, to size its buffer exactly (an index-only count). */
export async function countRevoked(db: Queryable, issuerId: string, validAt: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int8 AS n FROM certificates WHERE issuer_id = $1 AND status <> 'good' AND not_after > $2",
    [issuerId, validAt],
  );
  return rows[0]!.n;
}
