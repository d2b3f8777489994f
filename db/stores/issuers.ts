import type { Queryable } from "../database.js";

export interface IssuerRow {
  id: string;
  parent_id: string | null;
  kind: "root" | "issuing";
  key_label: string;
  key_algorithm: string;
  certificate: Buffer;
  subject_der: Buffer;
  key_id: Buffer;
  not_before: Date;
  not_after: Date;
  status: "active" | "retired";
  created_at: Date;
}

const COLUMNS =
  "id, parent_id, kind, key_label, key_algorithm, certificate, subject_der, key_id, not_before, not_after, status, created_at";

export async function insertIssuer(
  tx: Queryable,
  issuer: Omit<IssuerRow, "status" | "created_at">,
): Promise<void> {
  await tx.query(
    `INSERT INTO issuers (id, parent_id, kind, key_label, key_algorithm, certificate, subject_der, key_id, not_before, not_after)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      issuer.id,
      issuer.parent_id,
      issuer.kind,
      issuer.key_label,
      issuer.key_algorithm,
      issuer.certificate,
      issuer.subject_der,
      issuer.key_id,
      issuer.not_before,
      issuer.not_after,
    ],
  );
}

export async function listIssuers(db: Queryable): Promise<IssuerRow[]> {
  const { rows } = await db.query<IssuerRow>(`SELECT ${COLUMNS} FROM issuers ORDER BY created_at, id`);
  return rows;
}

export async function retireIssuer(tx: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    "UPDATE issuers SET status = 'retired' WHERE id = $1 AND status = 'active'",
    [id],
  );
  return rowCount === 1;
}
