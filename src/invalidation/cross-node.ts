/**
 * Keeping every node's memory consistent when one node changes what the others may hold
 * (PostgreSQL; PGlite is one node): OCSP responses and certificate statuses after a revoke,
 * hold or release; revoked SSO grants, sessions and tokens.
 *
 * The change commits with a NOTIFY on the `invalidate` channel in the same transaction;
 * PostgreSQL delivers it to every listening node only once committed, and each node updates
 * its memory. LISTEN/NOTIFY alone leaves a window, though: the changing node could answer its
 * caller before another node has processed the notification. So the changing node waits,
 * before it returns, until every other listening node has acknowledged (`ack` channel); the
 * set of nodes to wait for is read from pg_stat_activity, where each node's listening
 * connection carries its node id as application_name. The wait is bounded (a hung node cannot
 * block revocations for ever) and drops nodes whose connection has gone. A node that cannot
 * hear notifications (its connection failed, or has not connected yet) serves nothing from
 * memory until it can, and clears its memory whenever it (re)connects, since it may have
 * missed some. Every memory attached (`attach`) is treated alike.
 */
import { randomBytes } from "node:crypto";
import type { Database, NotificationListener, Queryable } from "../../db/database.js";
import { notify, sessionsNamed } from "../../db/stores/notifications.js";

/**
 * A node's memory that other nodes' changes must update: the OCSP responses and client
 * certificate statuses (keyed "<issuer> <serial>"), the SSO's revoked tokens. `enabled` is
 * false while invalidations cannot be heard: nothing may be served from it then; `clear` is
 * called whenever it (re)connects, since it may have missed some.
 */
export interface InvalidationTarget {
  enabled: boolean;
  /**
   * Another node changed what `key` names (the payload's text after origin and sequence). A
   * memory that must re-read answers a promise: the acknowledgement waits for it.
   */
  evict(key: string): void | Promise<void>;
  clear(): void;
}

/** One kind of invalidation: its NOTIFY channels and the application_name prefix of its listeners. */
export interface InvalidationChannels {
  readonly invalidate: string;
  readonly ack: string;
  /** pg_stat_activity.application_name prefix of the listening connections, e.g. "gov-ca-ocsp:". */
  readonly applicationPrefix: string;
  /** For warnings, e.g. "OCSP". */
  readonly name: string;
}
/** How long a status change waits for the other nodes' acknowledgements at most. */
const BARRIER_TIMEOUT_MS = 3000;
/** How often a waiting node re-reads which nodes are still connected. */
const BARRIER_RECHECK_MS = 200;
/** How often the listening connection is checked, and how long an answer may take. */
const PING_INTERVAL_MS = 5000;
const PING_TIMEOUT_MS = 3000;
const RECONNECT_DELAY_MS = 1000;

export interface Barrier {
  readonly seq: number;
  /** The NOTIFY payload for `key`: origin node, sequence, key. */
  payloadFor(key: string): string;
}

interface Waiter {
  readonly pending: Set<string>;
  readonly done: Promise<void>;
  resolve(): void;
}

export class CrossNodeInvalidation {
  readonly nodeId = randomBytes(6).toString("hex");
  private listener: NotificationListener | undefined;
  private connecting: Promise<boolean> | undefined;
  private seq = 0;
  private readonly waiters = new Map<number, Waiter>();
  private pingTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly targets: InvalidationTarget[] = [];

  constructor(
    private readonly db: Database,
    private readonly channels: InvalidationChannels,
    private readonly warn: (message: string) => void,
  ) {}

  /**
   * Another memory to keep consistent: evicted on other nodes' status changes (before they are
   * acknowledged), cleared and disabled while this node cannot hear them, like the OCSP cache.
   */
  attach(target: InvalidationTarget): void {
    this.targets.push(target);
    // Until this node listens, its memory cannot be trusted (PostgreSQL: several nodes).
    target.enabled = !this.db.listen || (this.listener !== undefined && !this.stopped);
  }

  /** Forgets everything held, and serves from memory again only when `enabled`. */
  private reset(enabled: boolean): void {
    for (const target of this.targets) {
      target.enabled = enabled;
      target.clear();
    }
  }

  /** Whether several nodes may share the database (only then is any of this needed). */
  get shared(): boolean {
    return this.db.listen !== undefined;
  }

  private get applicationName(): string {
    return `${this.channels.applicationPrefix}${this.nodeId}`;
  }

  /**
   * Connects the listening connection if it is not; resolves false when that failed. Unless
   * `now`, it leaves a failed connection to its scheduled retry (requests must not each try).
   */
  ensureListening(now = true): Promise<boolean> {
    if (!this.db.listen || this.stopped) return Promise.resolve(this.listener !== undefined);
    if (this.listener) return Promise.resolve(true);
    if (!now && this.reconnectTimer) return Promise.resolve(false);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<boolean> {
    try {
      const listener = await this.db.listen!({
        channels: [this.channels.invalidate, this.channels.ack],
        applicationName: this.applicationName,
        onNotification: (channel, payload) => this.received(channel, payload),
        onError: (error) => this.lost(error),
      });
      if (this.stopped) {
        await listener.close();
        return false;
      }
      this.listener = listener;
      this.reset(true); // anything held before now may have missed an invalidation
      this.pingTimer = setInterval(() => {
        void this.listener?.ping(PING_TIMEOUT_MS).catch(() => undefined); // a failure calls lost()
      }, PING_INTERVAL_MS);
      this.pingTimer.unref();
      return true;
    } catch (error) {
      this.warn(`${this.channels.name}: cannot listen for cache invalidations: ${(error as Error).message}`);
      this.scheduleReconnect();
      return false;
    }
  }

  private lost(error: Error): void {
    this.reset(false);
    this.listener = undefined;
    clearInterval(this.pingTimer);
    if (this.stopped) return;
    this.warn(
      `${this.channels.name}: the invalidation listener stopped (${error.message}); serving from the database until it is back`,
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.ensureListening();
    }, RECONNECT_DELAY_MS);
    this.reconnectTimer.unref();
  }

  private received(channel: string, payload: string): void {
    const parts = payload.split(" ");
    if (channel === this.channels.invalidate && parts.length >= 3) {
      const [origin, seq] = parts as [string, string];
      if (origin === this.nodeId) return; // this node updated its memory itself
      const key = payload.slice(origin.length + seq.length + 2);
      void this.evictHere([key])
        .then(() => notify(this.db, this.channels.ack, `${origin} ${seq} ${this.nodeId}`))
        .catch((error: Error) =>
          this.warn(`${this.channels.name}: cannot acknowledge an invalidation: ${error.message}`),
        );
    } else if (channel === this.channels.ack && parts.length === 3) {
      const [origin, seq, from] = parts as [string, string, string];
      if (origin !== this.nodeId) return;
      const waiter = this.waiters.get(Number(seq));
      waiter?.pending.delete(from);
      if (waiter && waiter.pending.size === 0) waiter.resolve();
    }
  }

  /**
   * Before the transaction that stores a changed status: the payload to NOTIFY in it, and the
   * nodes that must acknowledge it (read now, so a node that connects later, with an empty
   * memory, is not waited for). Undefined on a single node. `db`: where to read them, e.g.
   * the transaction that will NOTIFY (a second pooled connection could wait for ever when every
   * pooled connection is held by such a transaction).
   */
  async prepare(db: Queryable = this.db): Promise<Barrier | undefined> {
    if (!this.db.listen) return undefined;
    const listening = await this.ensureListening(); // acknowledgements arrive on this connection
    const seq = ++this.seq;
    const payloadFor = (key: string) => `${this.nodeId} ${seq} ${key}`;
    if (!listening) return { seq, payloadFor };
    const others = await this.otherNodes(db);
    let resolve = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    this.waiters.set(seq, { pending: new Set(others), resolve, done });
    return { seq, payloadFor };
  }

  /** After the commit: waits until the other nodes have evicted (or are gone, or the time is up). */
  async wait(barrier: Barrier | undefined): Promise<void> {
    if (!barrier) return;
    const waiter = this.waiters.get(barrier.seq);
    if (!waiter) return;
    const deadline = Date.now() + BARRIER_TIMEOUT_MS;
    try {
      while (waiter.pending.size > 0) {
        const left = deadline - Date.now();
        if (left <= 0) {
          this.warn(
            `${this.channels.name}: nodes ${[...waiter.pending].join(", ")} did not confirm invalidation ${barrier.seq} within ${BARRIER_TIMEOUT_MS} ms`,
          );
          return;
        }
        await Promise.race([
          waiter.done,
          new Promise((r) => setTimeout(r, Math.min(left, BARRIER_RECHECK_MS))),
        ]);
        if (waiter.pending.size === 0) return;
        const alive = new Set(await this.otherNodes());
        for (const node of waiter.pending) if (!alive.has(node)) waiter.pending.delete(node);
      }
    } finally {
      this.waiters.delete(barrier.seq);
    }
  }

  /** Evicts `keys` from this node's memories (a target's failure is its own to handle). */
  async evictHere(keys: readonly string[]): Promise<void> {
    await Promise.allSettled(keys.flatMap((key) => this.targets.map((target) => target.evict(key))));
  }

  /**
   * One change that other nodes' memories must see: `write` runs in a transaction that also
   * NOTIFYs `keys`; once committed, this node evicts them itself and waits (bounded) until
   * every other listening node has acknowledged, so that the next call on any node sees it.
   */
  async change<T>(keys: readonly string[], write: (tx: Queryable) => Promise<T>): Promise<T> {
    const barrier = await this.prepare();
    let result: T;
    try {
      result = await this.db.transaction(async (tx) => {
        const written = await write(tx);
        if (barrier)
          for (const key of keys) await notify(tx, this.channels.invalidate, barrier.payloadFor(key));
        return written;
      });
    } catch (error) {
      this.cancel(barrier);
      throw error;
    }
    await this.evictHere(keys);
    await this.wait(barrier);
    return result;
  }

  /** Forgets a barrier whose transaction failed. */
  cancel(barrier: Barrier | undefined): void {
    if (barrier) this.waiters.delete(barrier.seq);
  }

  private async otherNodes(db: Queryable = this.db): Promise<string[]> {
    const prefix = this.channels.applicationPrefix;
    return (await sessionsNamed(db, prefix))
      .map((name) => name.slice(prefix.length))
      .filter((node) => node !== this.nodeId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.db.listen) this.reset(false); // deaf from now on: memory can no longer be trusted
    clearInterval(this.pingTimer);
    clearTimeout(this.reconnectTimer);
    await this.connecting?.catch(() => undefined);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
    for (const waiter of this.waiters.values()) waiter.resolve();
  }
}
