/**
 * Group commit: writes submitted while a transaction is in flight are gathered and
 * committed together in the next one. Each item still gets all of its rows (for issuance:
 * the certificate and its audit record) in one transaction with them, but a burst of N
 * issuances costs one commit (one fsync) instead of N.
 *
 * If a batch fails, its items are retried one by one, so one bad item cannot fail the
 * others; each caller sees the outcome of its own item.
 */
import type { Database, Queryable } from "./database.js";

export interface GroupCommitOptions {
  /** Largest number of items in one transaction. */
  readonly maxBatch: number;
  /** Transactions in flight at once (PGlite has one connection: 1). */
  readonly maxInFlight: number;
}

interface Pending<Item> {
  item: Item;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupCommitter<Item> {
  private queue: Pending<Item>[] = [];
  private inFlight = 0;

  constructor(
    private readonly db: Database,
    private readonly write: (tx: Queryable, items: readonly Item[]) => Promise<void>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(item: Item): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.commit(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
      });
    }
  }

  private async commit(batch: Pending<Item>[]): Promise<void> {
    try {
      await this.db.transaction((tx) =>
        this.write(
          tx,
          batch.map((pending) => pending.item),
        ),
      );
      for (const pending of batch) pending.resolve();
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      for (const pending of batch) await this.commit([pending]);
    }
  }
}
