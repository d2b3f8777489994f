import type { Queryable } from "../database.js";
import type { CertificateRow, CertificateStatus } from "./certificates.js";

/** The certificate, locked for the rest of the transaction. */
export async function lockCertificate(
  tx: Queryable,
  issuerId: string,
  serial: string,
): Promise<CertificateRow | undefined> {
  const { rows } = await tx.query<CertificateRow>(
    `SELECT issuer_id, serial, profile, subject, org_unit, owner_id, spki_sha256, sans, not_before, not_after, status,
            revoked_at, revocation_reason, invalidity_date, der, issued_at, request_id
     FROM certificates WHERE issuer_id = $1 AND serial = $2 FOR UPDATE`,
    [issuerId, serial],
  );
  return rows[0];
}

export interface StatusChange {
  readonly status: CertificateStatus;
  readonly at: Date;
  /** RFC 5280 §5.3.1 reason code; null for "good". */
  readonly reason: number | null;
  readonly invalidityDate: Date | null;
}

export async function setStatus(
  tx: Queryable,
  issuerId: string,
  serial: string,
  change: StatusChange,
): Promise<void> {
  await tx.query(
    `UPDATE certificates SET status = $3::text, status_changed_at = $4::timestamptz,
       revoked_at = CASE WHEN $3::text = 'good' THEN NULL ELSE $4::timestamptz END,
       revocation_reason = $5::smallint, invalidity_date = $6::timestamptz,
       released_at = CASE WHEN $3::text = 'good' THEN $4::timestamptz ELSE released_at END
     WHERE issuer_id = $1 AND serial = $2`,
    [issuerId, serial, change.status, change.at, change.reason, change.invalidityDate],
  );
}

/** Counts a status change of one of the issuer's certificates (in the change's transaction). */
export async function countChange(tx: Queryable, issuerId: string): Promise<void> {
  await tx.query(
    `INSERT INTO revocation_changes (issuer_id, count) VALUES ($1, 1)
     ON CONFLICT (issuer_id) DO UPDATE SET count = revocation_changes.count + 1`,
    [issuerId],
  );
}

export async function changeCount(db: Queryable, issuerId: string): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    "SELECT count FROM revocation_changes WHERE issuer_id = $1",
    [issuerId],
  );
  return rows[0]?.count ?? 0;
}
