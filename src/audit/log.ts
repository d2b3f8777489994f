/**
 * Appending to and verifying the hash-chained audit log. `appendAudit` runs inside the
 * caller's transaction, so a state change and its audit record commit or fail together.
 */
import type { Queryable } from "../../db/database.js";
import { type AuditRow, insertRecords, listRecords, lockHead, readHead } from "../../db/stores/audit.js";
import type { Clock } from "../clock.js";
import { GENESIS_HASH, recordHash } from "./chain.js";

export interface AuditEvent {
  /** Who: "service-account:<id>", "user:<id>", "cli:<os user>", "system". */
  readonly actor: string;
  /** What, as noun.verb: "certificate.issue", "apikey.create". */
  readonly action: string;
  /** On what: "certificate:<issuer>/<serial>", "principal:<id>". */
  readonly target: string;
  readonly outcome?: "success" | "failure";
  readonly requestId?: string | undefined;
  readonly details?: Record<string, unknown>;
}

/** Chains `events` after the current head and writes them, holding the head's row lock. */
export async function appendAudit(tx: Queryable, clock: Clock, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const head = await lockHead(tx);
  let prev = head.hash;
  let seq = head.seq;
  const at = clock.now();
  const rows: AuditRow[] = events.map((event) => {
    seq += 1;
    const fields = {
      seq,
      at,
      actor: event.actor,
      action: event.action,
      target: event.target,
      outcome: event.outcome ?? ("success" as const),
      request_id: event.requestId ?? null,
      details: event.details ?? {},
      prev_hash: prev,
    };
    const hash = recordHash(fields);
    prev = hash;
    return { ...fields, hash };
  });
  await insertRecords(tx, rows);
}

export type VerifyProgress = (checked: number, total: number) => void;

export type AuditVerification =
  | { ok: true; records: number; headHash: string }
  | { ok: false; records: number; seq: number; problem: string };

/**
 * Walks the whole chain in order and checks sequence continuity, every link and every
 * hash, then that the head matches the last record (which catches a deleted tail).
 */
export async function verifyAuditChain(
  db: Queryable,
  onProgress?: VerifyProgress,
): Promise<AuditVerification> {
  const head = await readHead(db);
  let expectedSeq = 1;
  let prev: Buffer = GENESIS_HASH;
  let checked = 0;
  const pageSize = 5000;
  for (;;) {
    const page = await listRecords(db, { afterSeq: expectedSeq - 1, limit: pageSize });
    for (const row of page) {
      if (row.seq !== expectedSeq)
        return { ok: false, records: checked, seq: expectedSeq, problem: `record ${expectedSeq} is missing` };
      if (!row.prev_hash.equals(prev))
        return {
          ok: false,
          records: checked,
          seq: row.seq,
          problem: `record ${row.seq} does not link to record ${row.seq - 1} (deleted, inserted or reordered records)`,
        };
      const hash = recordHash(row);
      if (!hash.equals(row.hash))
        return {
          ok: false,
          records: checked,
          seq: row.seq,
          problem: `record ${row.seq} was changed after it was written`,
        };
      prev = row.hash;
      expectedSeq += 1;
      checked += 1;
    }
    onProgress?.(checked, head.seq);
    if (page.length < pageSize) break;
  }
  if (head.seq !== checked || !head.hash.equals(prev))
    return {
      ok: false,
      records: checked,
      seq: head.seq,
      problem: `the chain head names record ${head.seq} but the log ends at record ${checked} (records removed from the end)`,
    };
  return { ok: true, records: checked, headHash: prev.toString("hex") };
}
