/**
 * A fixed set of logged-in sessions, each lent to one operation at a time: a PKCS#11 session
 * runs one cryptographic operation at a time (CKR_OPERATION_ACTIVE otherwise), so concurrent
 * signers queue for a free session instead of sharing one.
 */

import { KeyStoreError } from "../key-store.js";
import type { Handle } from "./native.js";

export class SessionPool {
  private readonly idle: Handle[];
  private readonly waiters: { resolve: (session: Handle) => void; reject: (error: Error) => void }[] = [];
  private closed = false;
  /** Operations holding or waiting for a session (each acquire() until its release or rejection). */
  inUse = 0;

  constructor(readonly sessions: readonly Handle[]) {
    this.idle = [...sessions];
  }

  acquire(): Promise<Handle> {
    if (this.closed)
      return Promise.reject(new KeyStoreError("unavailable", "the token connection is being re-established"));
    const session = this.idle.pop();
    this.inUse += 1;
    if (session) return Promise.resolve(session);
    return new Promise((resolve, reject) =>
      this.waiters.push({
        resolve,
        reject: (error) => {
          this.inUse -= 1;
          reject(error);
        },
      }),
    );
  }

  /** An idle session without waiting (for the health probe), or undefined when all are busy. */
  tryAcquire(): Handle | undefined {
    const session = this.closed ? undefined : this.idle.pop();
    if (session) this.inUse += 1;
    return session;
  }

  release(session: Handle): void {
    this.inUse -= 1;
    const waiter = this.waiters.shift();
    if (waiter && !this.closed) waiter.resolve(session);
    else this.idle.push(session);
  }

  /** Stops lending sessions; queued operations fail fast with `unavailable`. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0))
      waiter.reject(new KeyStoreError("unavailable", "the token connection was lost"));
  }

  /** Resolves when every lent session has come back. */
  async drained(timeoutMilliseconds: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMilliseconds;
    while (this.inUse > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    return this.inUse === 0;
  }
}
