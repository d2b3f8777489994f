/** Expiry notices: which good certificates entered the notice window and were not announced yet. */
import type { Queryable } from "../database.js";

/** One node at a time sends expiry notices; the others skip their run (does not wait). */
export async function tryLockExpiryNotices(tx: Queryable): Promise<boolean> {
  const { rows } = await tx.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock(7420005, 0) AS locked",
  );
  return rows[0]!.locked;
}

export interface ExpiringCertificateRow {
  issuer_id: string;
  serial: string;
  subject: string;
  org_unit: string | null;
  owner_id: string | null;
  profile: string;
  not_after: Date;
}

/**
 * Good certificates with now < notAfter ≤ until that no notice announced yet, soonest first: a
 * range scan of certificates_not_after over the window, and a primary-key probe of
 * expiry_notices for each.
 */
export async function unannouncedExpiring(
  tx: Queryable,
  now: Date,
  until: Date,
  limit: number,
): Promise<ExpiringCertificateRow[]> {
  const { rows } = await tx.query<ExpiringCertificateRow>(
    `SELECT c.issuer_id, c.serial, c.subject, c.org_unit, c.owner_id, c.profile, c.not_after
     FROM certificates c
     WHERE c.not_after > $1 AND c.not_after <= $2 AND c.status = 'good'
       AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.issuer_id = c.issuer_id AND n.serial = c.serial)
     ORDER BY c.not_after, c.issuer_id, c.serial
     LIMIT $3`,
    [now, until, limit],
  );
  return rows;
}

/** Records the certificates of one delivered batch (one multi-row INSERT). */
export async function recordExpiryNotices(
  tx: Queryable,
  certificates: readonly { issuer_id: string; serial: string; not_after: Date }[],
  windowDays: number,
  sentAt: Date,
): Promise<void> {
  if (certificates.length === 0) return;
  await tx.query(
    `INSERT INTO expiry_notices (issuer_id, serial, not_after, window_days, sent_at)
     SELECT issuer_id, serial, not_after, $4, $5
     FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS n (issuer_id, serial, not_after)`,
    [
      certificates.map((row) => row.issuer_id),
      certificates.map((row) => row.serial),
      certificates.map((row) => row.not_after),
      windowDays,
      sentAt,
    ],
  );
}
