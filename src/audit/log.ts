/**
 * Appending to and verifying the hash-chained audit log. `appendAudit` runs inside the
 * caller's transaction, so a state change and its audit record commit or fail together; the
 * record is chained (sealed) after that commit, off the hot path: see ./sealer.ts.
 */
import type { Database, Queryable } from "../../db/database.js";
import { countUnsealed, insertUnsealed, listRecords, readHead } from "../../db/stores/audit.js";
import type { Clock } from "../clock.js";
import { GENESIS_HASH, recordHash } from "./chain.js";
import { AUDIT_COMMIT_TOPIC, type AuditSealer, sealCommitted } from "./sealer.js";

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

/**
 * Writes `events` unsealed in the caller's transaction (no lock: audited transactions do not
 * wait for each other here) and asks for a sealing pass once that transaction has committed.
 */
export async function appendAudit(tx: Queryable, clock: Clock, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const at = clock.now();
  await insertUnsealed(
    tx,
    events.map((event) => ({
      at,
      actor: event.actor,
      action: event.action,
      target: event.target,
      outcome: event.outcome ?? "success",
      request_id: event.requestId ?? null,
      details: event.details ?? {},
    })),
  );
  tx.notifyOnCommit(AUDIT_COMMIT_TOPIC);
}

export type VerifyProgress = (checked: number, total: number) => void;

export type AuditVerification =
  /** `unsealed`: records committed after the seal that preceded the walk, not chained yet. */
  | { ok: true; records: number; headHash: string; unsealed: number }
  | { ok: false; records: number; seq: number; problem: string };

export interface VerifyOptions {
  /** This node's sealer, to seal through (else a one-off pass seals the backlog). */
  readonly sealer?: Pick<AuditSealer, "seal"> | undefined;
  readonly onProgress?: VerifyProgress | undefined;
}

/**
 * Seals every committed record first, so that an action taken just before is verified too;
 * then walks the chain in one snapshot (sealing goes on meanwhile: the head and the records
 * must be read as of one moment), see `walkChain`.
 */
export async function verifyAuditChain(
  db: Database,
  options: VerifyOptions = {},
): Promise<AuditVerification> {
  await (options.sealer ? options.sealer.seal() : sealCommitted(db));
  return db.transaction(async (tx) => {
    await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    return walkChain(tx, options.onProgress);
  });
}

/**
 * Walks the whole chain in order and checks sequence continuity, every link and every
 * hash, then that the head matches the last record (which catches a deleted tail).
 */
async function walkChain(db: Queryable, onProgress?: VerifyProgress): Promise<AuditVerification> {
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
  return { ok: true, records: checked, headHash: prev.toString("hex"), unsealed: await countUnsealed(db) };
}
