/**
 * The aggregates of the operations dashboard: a few statements, each one pass over an index
 * (never a row per certificate to the service), so that they stay fast with millions of
 * certificates. tests/operations/dashboard.test.ts checks every figure on both engines.
 */
import type { Queryable } from "../database.js";

/** Certificates of one org unit (or of all), each counted once: revoked wins, then expired. */
export interface StatusCounts {
  good: number;
  on_hold: number;
  revoked: number;
  /** notAfter passed and not revoked (good or on hold when it expired). */
  expired: number;
  /** Good, not expired, notAfter within the notice window. */
  expiring: number;
  total: number;
}

export interface CertificateCounts {
  readonly all: StatusCounts;
  /** The units with the most certificates, most first (ties by unit path); null: no org unit. */
  readonly units: (StatusCounts & { org_unit: string | null })[];
}

/**
 * One index-only scan of certificates_dashboard (org_unit, status, not_after): certificates are
 * first counted per (unit, status, expired, expiring) — a few rows per unit — and those rows
 * then summed per unit and in total (GROUPING SETS), and the top `topUnits` kept.
 */
export async function certificateCounts(
  db: Queryable,
  now: Date,
  expiringUntil: Date,
  topUnits: number,
): Promise<CertificateCounts> {
  const { rows } = await db.query<StatusCounts & { org_unit: string | null; total_row: number }>(
    `WITH buckets AS (
       SELECT org_unit, status, not_after <= $1 AS expired, not_after <= $2 AS soon, count(*) AS n
       FROM certificates GROUP BY org_unit, status, not_after <= $1, not_after <= $2
     ), counted AS (
       SELECT org_unit, GROUPING(org_unit) AS total_row,
         coalesce(sum(n) FILTER (WHERE status = 'good' AND NOT expired), 0)::int8 AS good,
         coalesce(sum(n) FILTER (WHERE status = 'on-hold' AND NOT expired), 0)::int8 AS on_hold,
         coalesce(sum(n) FILTER (WHERE status = 'revoked'), 0)::int8 AS revoked,
         coalesce(sum(n) FILTER (WHERE status <> 'revoked' AND expired), 0)::int8 AS expired,
         coalesce(sum(n) FILTER (WHERE status = 'good' AND NOT expired AND soon), 0)::int8 AS expiring,
         coalesce(sum(n), 0)::int8 AS total
       FROM buckets GROUP BY GROUPING SETS ((org_unit), ())
     )
     (SELECT * FROM counted WHERE total_row = 1)
     UNION ALL
     (SELECT * FROM counted WHERE total_row = 0 ORDER BY total DESC, org_unit NULLS LAST LIMIT $3)`,
    [now, expiringUntil, topUnits],
  );
  const units = rows.filter((row) => row.total_row === 0).map(({ total_row: _, ...unit }) => unit);
  const all = rows.find((row) => row.total_row === 1);
  const {
    total_row: _,
    org_unit: __,
    ...totals
  } = all ?? {
    total_row: 1,
    org_unit: null,
    good: 0,
    on_hold: 0,
    revoked: 0,
    expired: 0,
    expiring: 0,
    total: 0,
  };
  return { all: totals, units };
}

export interface StatusChangeCounts {
  revocations: number;
  holds: number;
}

/**
 * Revocations and holds (successful `certificate.revoke` and `certificate.hold` audit records,
 * so a certificate held and then revoked counts once as each) since two instants: one range
 * scan of audit_log_at from the earlier one.
 */
export async function statusChangeCounts(
  db: Queryable,
  first: Date,
  second: Date,
): Promise<[StatusChangeCounts, StatusChangeCounts]> {
  const { rows } = await db.query<{ r1: number; h1: number; r2: number; h2: number }>(
    `SELECT count(*) FILTER (WHERE action = 'certificate.revoke' AND at >= $1)::int8 AS r1,
            count(*) FILTER (WHERE action = 'certificate.hold' AND at >= $1)::int8 AS h1,
            count(*) FILTER (WHERE action = 'certificate.revoke' AND at >= $2)::int8 AS r2,
            count(*) FILTER (WHERE action = 'certificate.hold' AND at >= $2)::int8 AS h2
     FROM audit_log
     WHERE at >= $3 AND action IN ('certificate.revoke', 'certificate.hold') AND outcome = 'success'`,
    [first, second, first < second ? first : second],
  );
  const row = rows[0]!;
  return [
    { revocations: row.r1, holds: row.h1 },
    { revocations: row.r2, holds: row.h2 },
  ];
}

export interface LatestCrlRow {
  issuer_id: string;
  kind: "full" | "delta";
  number: number;
  this_update: Date;
  next_update: Date;
  entries: number;
}

/** The newest complete and delta CRL of every issuer (crls_latest index; a few rows per issuer are kept). */
export async function latestCrls(db: Queryable): Promise<LatestCrlRow[]> {
  const { rows } = await db.query<LatestCrlRow>(
    `SELECT DISTINCT ON (issuer_id, kind) issuer_id, kind, number, this_update, next_update, entries
     FROM crls ORDER BY issuer_id, kind, number DESC`,
  );
  return rows;
}

export interface OcspResponseSummary {
  issuer_id: string;
  responses: number;
  earliest_next_update: Date | null;
  /** nextUpdate at or before `marginEnd`. */
  within_margin: number;
}

/** Per issuer, from the index (issuer_id, next_update) alone. */
export async function ocspResponseSummaries(db: Queryable, marginEnd: Date): Promise<OcspResponseSummary[]> {
  const { rows } = await db.query<OcspResponseSummary>(
    `SELECT issuer_id, count(*)::int8 AS responses, min(next_update) AS earliest_next_update,
       count(*) FILTER (WHERE next_update <= $1)::int8 AS within_margin
     FROM ocsp_responses GROUP BY issuer_id ORDER BY issuer_id`,
    [marginEnd],
  );
  return rows;
}
