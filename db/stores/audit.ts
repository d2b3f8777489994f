/** SQL for the hash-chained audit log; the chain's rules live in src/audit. */
import type { Queryable } from "../database.js";

export interface AuditRow {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  target: string;
  outcome: "success" | "failure";
  request_id: string | null;
  details: Record<string, unknown>;
  prev_hash: Buffer;
  hash: Buffer;
}

/** Locks the chain head for the rest of the transaction and returns it. */
export async function lockHead(tx: Queryable): Promise<{ seq: number; hash: Buffer }> {
  const { rows } = await tx.query<{ seq: number; hash: Buffer }>(
    "SELECT seq, hash FROM audit_head WHERE singleton FOR UPDATE",
  );
  return rows[0]!;
}

export async function readHead(db: Queryable): Promise<{ seq: number; hash: Buffer }> {
  const { rows } = await db.query<{ seq: number; hash: Buffer }>(
    "SELECT seq, hash FROM audit_head WHERE singleton",
  );
  return rows[0]!;
}

const COLUMNS = 10;

/**
 * Inserts records (already chained) and moves the head to the last one, in one statement:
 * the caller holds the head's row lock, so every round trip saved shortens the time others wait.
 * (A data-modifying WITH clause runs exactly once whether or not it is read.)
 */
export async function insertRecords(tx: Queryable, records: readonly AuditRow[]): Promise<void> {
  if (records.length === 0) return;
  const last = records[records.length - 1]!;
  const params: unknown[] = [last.seq, last.hash];
  const values = records.map((record) => {
    const base = params.length;
    params.push(
      record.seq,
      record.at,
      record.actor,
      record.action,
      record.target,
      record.outcome,
      record.request_id,
      JSON.stringify(record.details),
      record.prev_hash,
      record.hash,
    );
    return `(${Array.from({ length: COLUMNS }, (_, i) => `$${base + i + 1}`).join(", ")})`;
  });
  await tx.query(
    `WITH inserted AS (
       INSERT INTO audit_log (seq, at, actor, action, target, outcome, request_id, details, prev_hash, hash)
       VALUES ${values.join(", ")} RETURNING seq)
     UPDATE audit_head SET seq = $1, hash = $2 WHERE singleton`,
    params,
  );
}

export interface AuditQuery {
  readonly afterSeq?: number | undefined;
  readonly limit: number;
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly target?: string | undefined;
  readonly since?: Date | undefined;
  readonly until?: Date | undefined;
}

/** Records in chain order, from `afterSeq` on; for paging and for verification. */
export async function listRecords(db: Queryable, query: AuditQuery): Promise<AuditRow[]> {
  const where = ["seq > $1"];
  const params: unknown[] = [query.afterSeq ?? 0];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace("?", `$${params.length}`));
  };
  if (query.actor) add("actor = ?", query.actor);
  if (query.action) add("action = ?", query.action);
  if (query.target) add("target = ?", query.target);
  if (query.since) add("at >= ?", query.since);
  if (query.until) add("at < ?", query.until);
  params.push(query.limit);
  const { rows } = await db.query<AuditRow>(
    `SELECT seq, at, actor, action, target, outcome, request_id, details, prev_hash, hash
     FROM audit_log WHERE ${where.join(" AND ")} ORDER BY seq LIMIT $${params.length}`,
    params,
  );
  return rows;
}
