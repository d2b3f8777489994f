import type { Queryable } from "../database.js";
import { WhereClause } from "../where-clause.js";

export type CertificateStatus = "good" | "revoked" | "on-hold";

export interface CertificateRow {
  issuer_id: string;
  serial: string;
  profile: string;
  subject: string;
  org_unit: string | null;
  owner_id: string | null;
  spki_sha256: Buffer;
  sans: { type: string; value: string }[];
  not_before: Date;
  not_after: Date;
  status: CertificateStatus;
  revoked_at: Date | null;
  revocation_reason: number | null;
  invalidity_date: Date | null;
  der: Buffer;
  issued_at: Date;
  request_id: string | null;
}

export type NewCertificate = Omit<
  CertificateRow,
  "status" | "revoked_at" | "revocation_reason" | "invalidity_date"
>;

const INSERT_COLUMNS = [
  "issuer_id",
  "serial",
  "profile",
  "subject",
  "org_unit",
  "owner_id",
  "spki_sha256",
  "sans",
  "not_before",
  "not_after",
  "der",
  "issued_at",
  "request_id",
] as const;

/** One multi-row INSERT for a batch of newly issued certificates. */
export async function insertCertificates(
  tx: Queryable,
  certificates: readonly NewCertificate[],
): Promise<void> {
  if (certificates.length === 0) return;
  const params: unknown[] = [];
  const values = certificates.map((certificate) => {
    const placeholders = INSERT_COLUMNS.map((column) => {
      params.push(column === "sans" ? JSON.stringify(certificate.sans) : certificate[column]);
      return `$${params.length}`;
    });
    return `(${placeholders.join(", ")})`;
  });
  await tx.query(
    `INSERT INTO certificates (${INSERT_COLUMNS.join(", ")}) VALUES ${values.join(", ")}`,
    params,
  );
}

const SELECT_COLUMNS = `issuer_id, serial, profile, subject, org_unit, owner_id, spki_sha256, sans, not_before, not_after,
  status, revoked_at, revocation_reason, invalidity_date, der, issued_at, request_id`;

export async function findBySerial(
  db: Queryable,
  serial: string,
  issuerId?: string,
): Promise<CertificateRow[]> {
  const { rows } = await db.query<CertificateRow>(
    `SELECT ${SELECT_COLUMNS} FROM certificates WHERE serial = $1 AND ($2::text IS NULL OR issuer_id = $2)`,
    [serial, issuerId ?? null],
  );
  return rows;
}

/** Which certificates a caller may see: all, an org-unit subtree, or its own. */
export type CertificateScope = { all: true } | { orgUnit: string } | { ownerId: string };

export interface CertificateSearch {
  readonly scope: CertificateScope;
  readonly subject?: string | undefined;
  readonly status?: CertificateStatus | undefined;
  readonly profile?: string | undefined;
  readonly issuerId?: string | undefined;
  readonly orgUnit?: string | undefined;
  readonly expiresAfter?: Date | undefined;
  readonly expiresBefore?: Date | undefined;
  /** Keyset cursor: the (issued_at, serial) of the last row of the previous page. */
  readonly after?: { issuedAt: Date; serial: string } | undefined;
  readonly limit: number;
}

/** Newest first, keyset-paginated. */
export async function searchCertificates(
  db: Queryable,
  search: CertificateSearch,
): Promise<CertificateRow[]> {
  const where = new WhereClause();
  const add = where.add.bind(where);
  const { scope } = search;
  if ("orgUnit" in scope) add("(org_unit = ? OR org_unit LIKE ? || '/%')", scope.orgUnit, scope.orgUnit);
  if ("ownerId" in scope) add("owner_id = ?", scope.ownerId);
  if (search.orgUnit) add("(org_unit = ? OR org_unit LIKE ? || '/%')", search.orgUnit, search.orgUnit);
  if (search.subject) add("subject ILIKE ?", `%${search.subject.replace(/[\\%_]/g, "\\$&")}%`);
  if (search.status) add("status = ?", search.status);
  if (search.profile) add("profile = ?", search.profile);
  if (search.issuerId) add("issuer_id = ?", search.issuerId);
  if (search.expiresAfter) add("not_after >= ?", search.expiresAfter);
  if (search.expiresBefore) add("not_after < ?", search.expiresBefore);
  if (search.after) add("(issued_at, serial) < (?, ?)", search.after.issuedAt, search.after.serial);
  const limit = where.param(search.limit);
  const { rows } = await db.query<CertificateRow>(
    `SELECT ${SELECT_COLUMNS} FROM certificates ${where}
     ORDER BY issued_at DESC, serial DESC LIMIT ${limit}`,
    where.params,
  );
  return rows;
}

export async function countCertificates(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM certificates");
  return rows[0]!.n;
}

/** What a client-certificate check needs of a certificate row: its status, owner and names, not its DER. */
export type CertificateState = Omit<
  CertificateRow,
  "der" | "invalidity_date" | "issued_at" | "request_id"
> & {
  /** SHA-256 of the stored DER: a presented certificate is this one only if its digest is the same. */
  der_sha256: Buffer;
};

/** The states of many certificates in one query (one value per reference, in order; undefined when absent). */
export async function findCertificateStates(
  db: Queryable,
  refs: readonly { issuerId: string; serial: string }[],
): Promise<(CertificateState | undefined)[]> {
  const { rows } = await db.query<CertificateState>(
    `SELECT c.issuer_id, c.serial, c.profile, c.subject, c.org_unit, c.owner_id, c.sans, c.not_before,
       c.not_after, c.status, c.revoked_at, c.revocation_reason, c.spki_sha256, sha256(c.der) AS der_sha256
     FROM unnest($1::text[], $2::text[]) AS k (issuer_id, serial)
     JOIN certificates c USING (issuer_id, serial)`,
    [refs.map((ref) => ref.issuerId), refs.map((ref) => ref.serial)],
  );
  const found = new Map(rows.map((row) => [`${row.issuer_id}/${row.serial}`, row]));
  return refs.map((ref) => found.get(`${ref.issuerId}/${ref.serial}`));
}
