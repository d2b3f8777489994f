import type { Queryable } from "../database.js";

export interface SigningKeyRow {
  kid: string;
  key_label: string;
  alg: "ES256" | "RS256";
  public_jwk: Record<string, unknown>;
  created_at: Date;
  activates_at: Date;
}

export async function listSigningKeys(db: Queryable): Promise<SigningKeyRow[]> {
  const { rows } = await db.query<SigningKeyRow>(
    "SELECT kid, key_label, alg, public_jwk, created_at, activates_at FROM sso_signing_keys ORDER BY activates_at, kid",
  );
  return rows;
}

export async function insertSigningKey(tx: Queryable, row: SigningKeyRow): Promise<void> {
  await tx.query(
    `INSERT INTO sso_signing_keys (kid, key_label, alg, public_jwk, created_at, activates_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [row.kid, row.key_label, row.alg, JSON.stringify(row.public_jwk), row.created_at, row.activates_at],
  );
}
