import type { Queryable } from "../database.js";

export async function isKeyBlocked(db: Queryable, spkiSha256: Buffer): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM key_blocklist WHERE spki_sha256 = $1", [spkiSha256]);
  return rows.length > 0;
}

export async function blockKey(tx: Queryable, spkiSha256: Buffer, reason: string): Promise<void> {
  await tx.query("INSERT INTO key_blocklist (spki_sha256, reason) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
    spkiSha256,
    reason,
  ]);
}
