/**
 * Sealing: chaining committed audit records off the hot path.
 *
 * `appendAudit` inserts records UNSEALED in the caller's transaction (an ordering id, no seq,
 * no hashes) and takes no lock, so audited transactions no longer queue on the chain head
 * until their COMMIT. A sealing transaction then chains the committed backlog in one go:
 *
 *   BEGIN; lock the head; read unsealed records in id order; give each seq = head.seq + n,
 *   prev_hash and hash; write them and the new head; COMMIT.
 *
 * Why each record is sealed exactly once, and why commit order does not matter:
 * - The head's row lock serializes sealers, on this node and on every other one.
 * - Under READ COMMITTED (PostgreSQL's default, which the service runs in) each statement
 *   takes a new snapshot, so the read that follows the lock sees every record committed
 *   before it, sealed ones included: a sealer that waited for the lock sees the previous
 *   sealer's work and continues from its head. (Under REPEATABLE READ the lock would fail
 *   with a serialization error instead: a failed pass, never a double seal.) The UPDATE
 *   also requires `seq IS NULL` and the pass rolls back unless it sealed every row it read.
 * - Uncommitted records are invisible to that read, whatever their id: a transaction that
 *   took id 5 and commits after the one that took id 6 is simply sealed in a later pass,
 *   after 6. The id orders the backlog only; `seq`, assigned here, is the chain's order, so
 *   a gap or inversion in ids can neither skip a record nor break a link.
 *
 * The trade-off, stated plainly: a record is tamper-evident once sealed, normally within
 * milliseconds of its commit. Between commit and sealing it is an ordinary row: whoever can
 * write to the database could change or delete it unseen (or add an unsealed row, which the
 * next pass would chain as if the service had written it).
 *
 * When sealing runs, per node: (1) after each commit that appended records (the database's
 * after-commit hook, see `Queryable.notifyOnCommit`), coalesced: at most one sealing pass in
 * flight and one follow-up queued, however many commits arrive meanwhile; (2) every
 * `intervalMs` while the server runs, a safety net for records whose node died between its
 * commit and its pass; (3) on demand, before the log is read or verified (`seal()`); and
 * (4) once more when the node closes.
 */
import type { Database } from "../../db/database.js";
import { listUnsealed, lockHead, sealRecords } from "../../db/stores/audit.js";
import { chainAfter } from "./chain.js";

/** The after-commit topic of transactions that appended audit records. */
export const AUDIT_COMMIT_TOPIC = "audit_log";

const DEFAULT_BATCH = 1000;

/**
 * One sealing transaction: chains up to `limit` committed unsealed records after the head.
 * Returns how many it sealed.
 */
export function sealBatch(db: Database, limit: number = DEFAULT_BATCH): Promise<number> {
  return db.transaction(async (tx) => {
    // Step 1: the head, locked until COMMIT: sealers on every node take turns here.
    const head = await lockHead(tx);
    // Step 2: the backlog this statement's snapshot sees (committed records only), oldest first.
    const backlog = await listUnsealed(tx, limit);
    if (backlog.length === 0) return 0;
    // Step 3: seq, prev_hash and hash continuing the chain (src/audit/chain.ts).
    const chained = chainAfter(head, backlog);
    // Step 4: the records and the head in one statement; all of them or none.
    const sealed = await sealRecords(tx, chained);
    if (sealed !== backlog.length)
      throw new Error(`audit sealing: ${backlog.length - sealed} record(s) were sealed by someone else`);
    return sealed;
  });
}

/** Seals the whole committed backlog, one batch per transaction; returns how many records. */
export async function sealCommitted(db: Database, batchSize: number = DEFAULT_BATCH): Promise<number> {
  let total = 0;
  for (;;) {
    const sealed = await sealBatch(db, batchSize);
    total += sealed;
    if (sealed < batchSize) return total;
  }
}

export interface AuditSealerOptions {
  /** The safety-net period of `start()`. */
  readonly intervalMs?: number;
  /** Records per sealing transaction. */
  readonly batchSize?: number;
  /** Where failures of background passes go (a failed pass leaves records for the next one). */
  readonly warn?: (message: string) => void;
}

/** This node's sealer: coalesced passes after commits, a periodic safety net, a final pass on close. */
export class AuditSealer {
  private current: Promise<number> | undefined;
  private next: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly unsubscribe: () => void;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly warn: (message: string) => void;

  constructor(
    private readonly db: Database,
    options: AuditSealerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH;
    this.warn = options.warn ?? ((message) => process.emitWarning(message));
    this.unsubscribe = db.onCommit(AUDIT_COMMIT_TOPIC, () => this.poke());
  }

  /**
   * Resolves once every record committed before this call is sealed. A pass already in flight
   * may have read the backlog before that commit, so this joins the follow-up pass instead
   * (queueing it if needed): one follow-up serves every caller that arrives meanwhile.
   */
  seal(): Promise<number> {
    if (this.next !== undefined) return this.next;
    if (this.current === undefined) return this.run();
    const next = this.current
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.next = undefined;
        return this.run();
      });
    this.next = next;
    return next;
  }

  /** Background sealing: failures are reported, and the records wait for the next pass. */
  poke(): void {
    if (this.closed) return;
    this.seal().catch((error: Error) => this.warn(`audit sealing failed: ${error.message}`));
  }

  /** The periodic safety net (records of nodes that died between commit and sealing). */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.poke(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops background sealing and seals what is pending; the database stays open. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe();
    await this.seal().catch((error: Error) =>
      this.warn(`audit sealing at shutdown failed: ${error.message}`),
    );
  }

  private run(): Promise<number> {
    const pass = sealCommitted(this.db, this.batchSize).finally(() => {
      this.current = undefined;
    });
    this.current = pass;
    return pass;
  }
}
