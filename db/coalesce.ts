/**
 * Coalesced lookups, the read-side twin of group commit: keys asked for while a query is in
 * flight are answered together by the next query, so N concurrent requests cost about one
 * round trip per burst instead of N, with no added latency when the system is idle.
 */
export class CoalescedLookup<Key, Value> {
  private pending: { key: Key; resolve: (value: Value) => void; reject: (error: unknown) => void }[] = [];
  private running = false;

  constructor(
    /** Answers many keys at once; must return one value per key, in order. */
    private readonly fetch: (keys: readonly Key[]) => Promise<readonly Value[]>,
    private readonly maxBatch = 256,
  ) {}

  get(key: Key): Promise<Value> {
    return new Promise((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        const values = await this.fetch(batch.map((item) => item.key));
        for (const [index, item] of batch.entries()) item.resolve(values[index]!);
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.running = false;
  }
}
