import type { Queryable } from "../database.js";

/** For each SPKI hash, whether it is on the blocklist (one query for the whole list). */
export async function blockedKeys(db: Queryable, spkiSha256: readonly Buffer[]): Promise<boolean[]> {
  const { rows } = await db.query<{ spki_sha256: Buffer }>(
    "SELECT spki_sha256 FROM key_blocklist WHERE spki_sha256 IN (SELECT decode(h, 'hex') FROM unnest($1::text[]) AS h)",
    [spkiSha256.map((hash) => hash.toString("hex"))],
  );
  const blocked = new Set(rows.map((row) => row.spki_sha256.toString("hex")));
  return spkiSha256.map((hash) => blocked.has(hash.toString("hex")));
}

export async function blockKey(tx: Queryable, spkiSha256: Buffer, reason: string): Promise<void> {
  await tx.query("INSERT INTO key_blocklist (spki_sha256, reason) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
    spkiSha256,
    reason,
  ]);
}
