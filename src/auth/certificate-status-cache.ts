/**
 * Each node's short memory of client certificates' rows (status, owner, names), so that a
 * login or a token request with a certificate costs no database round trip. It is kept
 * honest the way the OCSP memory is: a status change on this node evicts at once
 * (Revocations.onChange), one on another node evicts through the same NOTIFY and
 * acknowledgement (CrossNodeInvalidation.attach) before that change's call returns, and while
 * those notifications cannot be heard the memory is off. The time limit is only a backstop.
 *
 * `epoch` counts evictions: a reader notes it before going to the database and keeps what it
 * read only if no eviction happened meanwhile, so a row read before a revocation can never be
 * remembered after that revocation's eviction.
 */
import type { CertificateState } from "../../db/stores/certificates.js";
import type { CertificateStatusMemory } from "../revocation/ocsp/invalidation.js";

interface Remembered {
  readonly state: CertificateState;
  readonly untilMs: number;
}

const keyOf = (issuerId: string, serial: string) => `${issuerId}/${serial}`;

export class CertificateStatusCache implements CertificateStatusMemory {
  private readonly remembered = new Map<string, Remembered>();
  private evictions = 0;
  enabled = true;

  constructor(
    private readonly ttlMs: number,
    private readonly capacity: number,
    /** Monotonic milliseconds (the time limit is not the certificate clock). */
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  get epoch(): number {
    return this.evictions;
  }

  get size(): number {
    return this.remembered.size;
  }

  get(issuerId: string, serial: string): CertificateState | undefined {
    if (!this.enabled) return undefined;
    const key = keyOf(issuerId, serial);
    const entry = this.remembered.get(key);
    if (!entry) return undefined;
    if (this.nowMs() >= entry.untilMs) {
      this.remembered.delete(key);
      return undefined;
    }
    return entry.state;
  }

  /** Remembers a row read since `epoch`, unless something was evicted meanwhile. */
  putIfUnchanged(state: CertificateState, epoch: number): void {
    if (!this.enabled || this.capacity === 0 || epoch !== this.evictions) return;
    const key = keyOf(state.issuer_id, state.serial);
    this.remembered.delete(key);
    this.remembered.set(key, { state, untilMs: this.nowMs() + this.ttlMs });
    // Oldest first out: Map iteration follows insertion order.
    while (this.remembered.size > this.capacity) this.remembered.delete(this.remembered.keys().next().value!);
  }

  evict(issuerId: string, serial: string): void {
    this.evictions++;
    this.remembered.delete(keyOf(issuerId, serial));
  }

  clear(): void {
    this.evictions++;
    this.remembered.clear();
  }
}
