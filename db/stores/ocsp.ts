/** OCSP storage: delegated signer certificates, pre-signed responses, and the cross-node signals. */
import type { Queryable } from "../database.js";

export interface OcspSignerRow {
  issuer_id: string;
  serial: string;
  key_label: string;
  key_algorithm: string;
  certificate: Buffer;
  not_before: Date;
  not_after: Date;
  created_at: Date;
}

const SIGNER_COLUMNS =
  "issuer_id, serial, key_label, key_algorithm, certificate, not_before, not_after, created_at";

export async function insertSigner(tx: Queryable, row: OcspSignerRow): Promise<void> {
  await tx.query(`INSERT INTO ocsp_signers (${SIGNER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
    row.issuer_id,
    row.serial,
    row.key_label,
    row.key_algorithm,
    row.certificate,
    row.not_before,
    row.not_after,
    row.created_at,
  ]);
}

/** The signer of each issuer that is valid longest. */
export async function newestSigners(db: Queryable): Promise<OcspSignerRow[]> {
  const { rows } = await db.query<OcspSignerRow>(
    `SELECT DISTINCT ON (issuer_id) ${SIGNER_COLUMNS} FROM ocsp_signers ORDER BY issuer_id, not_after DESC, created_at DESC`,
  );
  return rows;
}

export async function newestSigner(db: Queryable, issuerId: string): Promise<OcspSignerRow | undefined> {
  const { rows } = await db.query<OcspSignerRow>(
    `SELECT ${SIGNER_COLUMNS} FROM ocsp_signers WHERE issuer_id = $1 ORDER BY not_after DESC, created_at DESC LIMIT 1`,
    [issuerId],
  );
  return rows[0];
}

/** Serializes signer issuance per issuer across nodes, for the rest of the transaction (waits). */
export async function lockSignerIssuance(tx: Queryable, issuerId: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(7420003, hashtext($1))", [issuerId]);
}

/** One node at a time runs the refresh job; the others skip their run (does not wait). */
export async function tryLockRefresh(tx: Queryable): Promise<boolean> {
  const { rows } = await tx.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock(7420004, 0) AS locked",
  );
  return rows[0]!.locked;
}

export type HashAlg = "sha1" | "sha256";

export interface OcspResponseRow {
  issuer_id: string;
  serial: string;
  hash_alg: HashAlg;
  status: "good" | "revoked";
  revoked_at: Date | null;
  revocation_reason: number | null;
  this_update: Date;
  next_update: Date;
  refresh_at: Date;
  der: Buffer;
}

const RESPONSE_COLUMNS = [
  "issuer_id",
  "serial",
  "hash_alg",
  "status",
  "revoked_at",
  "revocation_reason",
  "this_update",
  "next_update",
  "refresh_at",
  "der",
] as const;

/** Inserts or replaces responses (one multi-row statement). */
export async function upsertResponses(tx: Queryable, rows: readonly OcspResponseRow[]): Promise<void> {
  if (rows.length === 0) return;
  const params: unknown[] = [];
  const values = rows.map((row) => {
    const placeholders = RESPONSE_COLUMNS.map((column) => {
      params.push(row[column]);
      return `$${params.length}`;
    });
    return `(${placeholders.join(", ")})`;
  });
  await tx.query(
    `INSERT INTO ocsp_responses (${RESPONSE_COLUMNS.join(", ")}) VALUES ${values.join(", ")}
     ON CONFLICT (issuer_id, serial, hash_alg) DO UPDATE SET
       status = excluded.status, revoked_at = excluded.revoked_at, revocation_reason = excluded.revocation_reason,
       this_update = excluded.this_update, next_update = excluded.next_update, refresh_at = excluded.refresh_at,
       der = excluded.der`,
    params,
  );
}

export async function deleteResponses(tx: Queryable, issuerId: string, serial: string): Promise<void> {
  await tx.query("DELETE FROM ocsp_responses WHERE issuer_id = $1 AND serial = $2", [issuerId, serial]);
}

export interface ResponseKey {
  readonly issuerId: string;
  readonly serial: string;
  readonly hash: HashAlg;
}

/** The stored responses for many keys in one query (one value per key, in order). */
export async function findResponses(
  db: Queryable,
  keys: readonly ResponseKey[],
): Promise<(OcspResponseRow | undefined)[]> {
  const { rows } = await db.query<OcspResponseRow>(
    `SELECT r.${RESPONSE_COLUMNS.join(", r.")}
     FROM unnest($1::text[], $2::text[], $3::text[]) AS k (issuer_id, serial, hash_alg)
     JOIN ocsp_responses r USING (issuer_id, serial, hash_alg)`,
    [keys.map((key) => key.issuerId), keys.map((key) => key.serial), keys.map((key) => key.hash)],
  );
  const found = new Map(rows.map((row) => [`${row.issuer_id}/${row.serial}/${row.hash_alg}`, row]));
  return keys.map((key) => found.get(`${key.issuerId}/${key.serial}/${key.hash}`));
}

/**
 * Stored responses of one CertID digest not yet due for re-signing, in key order after
 * `after` (a keyset scan of the primary key: each batch continues where the last stopped).
 */
export async function freshResponses(
  db: Queryable,
  hash: HashAlg,
  now: Date,
  limit: number,
  after: CertificateRef = { issuerId: "", serial: "" },
): Promise<OcspResponseRow[]> {
  const { rows } = await db.query<OcspResponseRow>(
    `SELECT ${RESPONSE_COLUMNS.join(", ")} FROM ocsp_responses
     WHERE (issuer_id, serial) > ($3, $4) AND hash_alg = $1 AND refresh_at > $2
     ORDER BY issuer_id, serial
     LIMIT $5`,
    [hash, now, after.issuerId, after.serial, limit],
  );
  return rows;
}

export interface CertificateStatusRow {
  issuer_id: string;
  serial: string;
  status: "good" | "revoked" | "on-hold";
  revoked_at: Date | null;
  revocation_reason: number | null;
  not_after: Date;
}

/**
 * The current status of certificates, share-locked until the transaction ends: a revocation
 * (which takes the row FOR UPDATE) waits for responses being signed from the status read here,
 * and the re-signing it triggers comes after them. So a response signed from an older status
 * can never be stored after the one signed from the newer status.
 */
export async function lockCertificateStatuses(
  tx: Queryable,
  refs: readonly { issuerId: string; serial: string }[],
): Promise<CertificateStatusRow[]> {
  if (refs.length === 0) return [];
  const { rows } = await tx.query<CertificateStatusRow>(
    `SELECT c.issuer_id, c.serial, c.status, c.revoked_at, c.revocation_reason, c.not_after
     FROM certificates c
     JOIN unnest($1::text[], $2::text[]) AS k (issuer_id, serial) USING (issuer_id, serial)
     ORDER BY c.issuer_id, c.serial
     FOR SHARE OF c`,
    [refs.map((ref) => ref.issuerId), refs.map((ref) => ref.serial)],
  );
  return rows;
}

/** The status of one certificate without locking (live answers). */
export async function certificateStatus(
  db: Queryable,
  issuerId: string,
  serial: string,
): Promise<CertificateStatusRow | undefined> {
  const { rows } = await db.query<CertificateStatusRow>(
    `SELECT issuer_id, serial, status, revoked_at, revocation_reason, not_after
     FROM certificates WHERE issuer_id = $1 AND serial = $2`,
    [issuerId, serial],
  );
  return rows[0];
}

/** Whether an OCSP signer certificate of this issuer has this serial (they are certificates it issued too). */
export async function isSignerSerial(db: Queryable, issuerId: string, serial: string): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM ocsp_signers WHERE issuer_id = $1 AND serial = $2", [
    issuerId,
    serial,
  ]);
  return rows.length > 0;
}

export interface CertificateRef {
  readonly issuerId: string;
  readonly serial: string;
}

/**
 * Certificates whose responses are due for re-signing, oldest first: a range scan of the
 * refresh_at index that stops after `limit` certificates (both digests of one certificate
 * share refresh_at), so a batch costs the same however many are due.
 */
export async function dueForRefresh(tx: Queryable, now: Date, limit: number): Promise<CertificateRef[]> {
  const { rows } = await tx.query<{ issuer_id: string; serial: string }>(
    "SELECT issuer_id, serial FROM ocsp_responses WHERE refresh_at <= $1 ORDER BY refresh_at LIMIT $2",
    [now, limit * 2],
  );
  const seen = new Map<string, CertificateRef>();
  for (const row of rows)
    if (seen.size < limit)
      seen.set(`${row.issuer_id} ${row.serial}`, { issuerId: row.issuer_id, serial: row.serial });
  return [...seen.values()];
}

/** Deletes the due responses of expired certificates: they are not re-signed (one run, not per batch). */
export async function deleteExpiredDue(tx: Queryable, now: Date): Promise<number> {
  const { rowCount } = await tx.query(
    `DELETE FROM ocsp_responses r USING certificates c
     WHERE r.refresh_at <= $1 AND c.issuer_id = r.issuer_id AND c.serial = r.serial AND c.not_after <= $1`,
    [now],
  );
  return rowCount;
}

/**
 * Unexpired certificates without a stored response (imported, issued before OCSP, or whose
 * pre-signing failed), in key order after `after`: each batch continues where the last one
 * stopped instead of scanning the certificates it has already signed.
 */
export async function missingResponses(
  tx: Queryable,
  now: Date,
  limit: number,
  after: CertificateRef = { issuerId: "", serial: "" },
): Promise<CertificateRef[]> {
  const { rows } = await tx.query<{ issuer_id: string; serial: string }>(
    `SELECT c.issuer_id, c.serial FROM certificates c
     WHERE (c.issuer_id, c.serial) > ($3, $4) AND c.not_after > $1
       AND NOT EXISTS (SELECT 1 FROM ocsp_responses r WHERE r.issuer_id = c.issuer_id AND r.serial = c.serial)
     ORDER BY c.issuer_id, c.serial
     LIMIT $2`,
    [now, limit, after.issuerId, after.serial],
  );
  return rows.map((row) => ({ issuerId: row.issuer_id, serial: row.serial }));
}

/** Channels of the cross-node cache invalidation (PostgreSQL LISTEN/NOTIFY). */
