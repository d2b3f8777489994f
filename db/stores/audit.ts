/** SQL for the hash-chained audit log; the chain's rules live in src/audit. */
import type { Queryable } from "../database.js";
import { WhereClause } from "../where-clause.js";

/** What a caller records; `at` is set at append time, the chain fields at sealing time. */
export interface AuditEntry {
  at: Date;
  actor: string;
  action: string;
  target: string;
  outcome: "success" | "failure";
  request_id: string | null;
  details: Record<string, unknown>;
}

/** A committed record not chained yet; `id` orders the backlog, nothing else. */
export interface UnsealedRow extends AuditEntry {
  id: number;
}

/** A sealed record: its place in the chain (`seq`), the link to the one before and its hash. */
export interface AuditRow extends AuditEntry {
  seq: number;
  prev_hash: Buffer;
  hash: Buffer;
}

export interface ChainHead {
  seq: number;
  hash: Buffer;
}

const ENTRY_COLUMNS = ["at", "actor", "action", "target", "outcome", "request_id", "details"] as const;
const ENTRY_LIST = ENTRY_COLUMNS.join(", ");

/** Inserts records unsealed (id from the sequence; seq, prev_hash and hash null): no lock taken. */
export async function insertUnsealed(tx: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const params: unknown[] = [];
  const values = entries.map((entry) => {
    const base = params.length;
    params.push(
      entry.at,
      entry.actor,
      entry.action,
      entry.target,
      entry.outcome,
      entry.request_id,
      JSON.stringify(entry.details),
    );
    return `(${ENTRY_COLUMNS.map((_, i) => `$${base + i + 1}`).join(", ")})`;
  });
  await tx.query(`INSERT INTO audit_log (${ENTRY_LIST}) VALUES ${values.join(", ")}`, params);
}

/** Locks the chain head for the rest of the transaction and returns it. */
export async function lockHead(tx: Queryable): Promise<ChainHead> {
  const { rows } = await tx.query<ChainHead>("SELECT seq, hash FROM audit_head WHERE singleton FOR UPDATE");
  return rows[0]!;
}

export async function readHead(db: Queryable): Promise<ChainHead> {
  const { rows } = await db.query<ChainHead>("SELECT seq, hash FROM audit_head WHERE singleton");
  return rows[0]!;
}

/** The oldest unsealed records visible to this statement's snapshot, in id order. */
export async function listUnsealed(tx: Queryable, limit: number): Promise<UnsealedRow[]> {
  const { rows } = await tx.query<UnsealedRow>(
    `SELECT id, ${ENTRY_LIST} FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows;
}

export async function countUnsealed(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int8 AS n FROM audit_log WHERE seq IS NULL",
  );
  return rows[0]!.n;
}

export interface SealedFields {
  id: number;
  seq: number;
  prev_hash: Buffer;
  hash: Buffer;
}

/**
 * Writes the chain fields of unsealed records and moves the head to the last one, in one
 * statement (a data-modifying WITH clause runs exactly once whether or not it is read).
 * Returns how many records it sealed: fewer than given means one was sealed already.
 */
export async function sealRecords(tx: Queryable, records: readonly SealedFields[]): Promise<number> {
  if (records.length === 0) return 0;
  const last = records[records.length - 1]!;
  const params: unknown[] = [last.seq, last.hash];
  const values = records.map((record) => {
    const base = params.length;
    params.push(record.id, record.seq, record.prev_hash, record.hash);
    return `($${base + 1}::int8, $${base + 2}::int8, $${base + 3}::bytea, $${base + 4}::bytea)`;
  });
  const { rows } = await tx.query<{ sealed: number }>(
    `WITH sealed AS (
       UPDATE audit_log SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash
       FROM (VALUES ${values.join(", ")}) AS v (id, seq, prev_hash, hash)
       WHERE audit_log.id = v.id AND audit_log.seq IS NULL
       RETURNING 1)
     UPDATE audit_head SET seq = $1, hash = $2 WHERE singleton
     RETURNING (SELECT count(*) FROM sealed)::int8 AS sealed`,
    params,
  );
  return rows[0]!.sealed;
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

/** Sealed records in chain order, from `afterSeq` on; for paging and for verification. */
export async function listRecords(db: Queryable, query: AuditQuery): Promise<AuditRow[]> {
  const where = new WhereClause();
  where.add("seq > ?", query.afterSeq ?? 0);
  if (query.actor) where.add("actor = ?", query.actor);
  if (query.action) where.add("action = ?", query.action);
  if (query.target) where.add("target = ?", query.target);
  if (query.since) where.add("at >= ?", query.since);
  if (query.until) where.add("at < ?", query.until);
  const limit = where.param(query.limit);
  const { rows } = await db.query<AuditRow>(
    `SELECT seq, ${ENTRY_LIST}, prev_hash, hash
     FROM audit_log ${where} ORDER BY seq LIMIT ${limit}`,
    where.params,
  );
  return rows;
}
