/**
 * Throttling of failed password logins by remote address, next to the per-account lockout:
 * one address that tries passwords across many accounts (password spraying) is stopped before
 * any account locks, and before the argon2id work of its next attempt. Kept in each node's
 * memory: with N nodes an address gets at most N times the limit.
 */

export class LoginThrottle {
  /** Times (ms) of recent failures, oldest first, per address. */
  private readonly failures = new Map<string, number[]>();

  constructor(
    /** Failures an address may have within the window; 0 turns the throttle off. */
    private readonly limit: number,
    private readonly windowMs: number,
    /** Addresses remembered at most (the oldest are forgotten first). */
    private readonly capacity = 100_000,
  ) {}

  /** When `address` may try again, or undefined when it may now. */
  blockedUntil(address: string, now: number): number | undefined {
    if (this.limit === 0) return undefined;
    const recent = this.recent(address, now);
    return recent.length >= this.limit ? recent[recent.length - this.limit]! + this.windowMs : undefined;
  }

  recordFailure(address: string, now: number): void {
    if (this.limit === 0) return;
    const recent = this.recent(address, now);
    recent.push(now);
    this.failures.delete(address); // re-inserted last: Map order is then least recently failed first
    this.failures.set(address, recent.slice(-this.limit));
    if (this.failures.size > this.capacity) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(address: string, now: number): number[] {
    return (this.failures.get(address) ?? []).filter((at) => at > now - this.windowMs);
  }
}
