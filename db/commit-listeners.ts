/**
 * After-commit hooks by topic: a unit of work says which topics it wrote to
 * (`Queryable.notifyOnCommit`), and once its COMMIT has returned, the database calls the
 * listeners of those topics, once per topic per transaction. A rolled-back transaction calls
 * nobody. The audit sealer uses it to chain records soon after they commit, without every
 * caller of `appendAudit` having to know about the sealer.
 */
export type CommitListener = () => void;

export class CommitListeners {
  private readonly byTopic = new Map<string, Set<CommitListener>>();

  /** Calls `listener` after each commit that wrote to `topic`; returns the unsubscribe function. */
  add(topic: string, listener: CommitListener): () => void {
    let listeners = this.byTopic.get(topic);
    if (!listeners) {
      listeners = new Set();
      this.byTopic.set(topic, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  /** Runs the listeners of `topics`; a listener that throws cannot fail the committed work. */
  emit(topics: Iterable<string>): void {
    for (const topic of topics)
      for (const listener of this.byTopic.get(topic) ?? [])
        try {
          listener();
        } catch (error) {
          process.emitWarning(`after-commit listener for "${topic}" failed: ${(error as Error).message}`);
        }
  }
}
