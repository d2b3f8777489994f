/**
 * The per-node memory of pre-signed responses: a bounded map (CLOCK, see ResponseCache)
 * keyed by issuer, CertID digest and serial, holding the DER and the HTTP caching headers
 * computed once (RFC 5019 §6.2), so the hot path is one Map lookup and a send. The database holds the same responses for
 * every node (db/stores/ocsp.ts); this is only a copy, which invalidation keeps honest:
 *
 * - `epoch` counts invalidations (status changes, here or on another node). A reader that
 *   went to the database or signed from a status it read notes the epoch first and keeps the
 *   result only if the epoch has not moved (`putIfUnchanged`), so a response made from the
 *   status before a change can never be cached after that change's eviction. Stores do not
 *   move the epoch: two responses of the same status may replace each other harmlessly.
 * - `enabled` is false while this node cannot hear other nodes' invalidations (PostgreSQL
 *   LISTEN connection down): then nothing is served from memory at all.
 */
import { createHash } from "node:crypto";
import type { HashAlg } from "../../../db/stores/ocsp.js";
import type { CertStatus } from "./response.js";

export interface CachedResponse {
  readonly issuerId: string;
  readonly serial: string;
  readonly hash: HashAlg;
  readonly der: Buffer;
  readonly status: CertStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** When it is re-signed (half-way to nextUpdate); past this, the database is asked again. */
  readonly refreshAtMs: number;
  readonly etag: string;
  readonly lastModified: string;
  readonly expires: string;
}

export const cacheKey = (issuerId: string, hash: HashAlg, serial: string): string =>
  `${issuerId} ${hash} ${serial}`;

/** Builds a cache entry, with the header values computed once. */
export function cachedResponse(
  fields: Omit<CachedResponse, "etag" | "lastModified" | "expires">,
): CachedResponse {
  return {
    ...fields,
    // RFC 5019 §6.2 ETag: strong, from the exact bytes (two nodes may sign the same status differently).
    etag: `"${createHash("sha256").update(fields.der).digest("base64url").slice(0, 27)}"`,
    lastModified: fields.thisUpdate.toUTCString(),
    expires: fields.nextUpdate.toUTCString(),
  };
}

/**
 * A held response and whether it was asked for since the eviction sweep last passed it. A
 * slot is `live` while it is in the cache: whoever keeps a reference to one (the responder's
 * memo of GET URLs) reads it through `read`, which refuses one that was replaced or evicted.
 */
export interface CacheSlot {
  readonly entry: CachedResponse;
  used: boolean;
  live: boolean;
}

/**
 * Bounded by CLOCK (second chance) rather than strict LRU: a hit only marks its slot, and the
 * eviction sweep moves a marked slot to the young end instead of evicting it. Strict LRU moved
 * the entry on every hit (a Map delete and set), and at 100,000 entries that Map churn was an
 * eighth of the OCSP hot path's CPU (measured with perf).
 */
export class ResponseCache {
  private readonly slots = new Map<string, CacheSlot>();
  private epochValue = 0;
  /** False while invalidations from other nodes cannot be heard. */
  enabled = true;

  constructor(private readonly capacity: number) {}

  get epoch(): number {
    return this.epochValue;
  }

  get size(): number {
    return this.slots.size;
  }

  /** A live entry (before its refresh time). */
  get(key: string, nowMs: number): CachedResponse | undefined {
    return this.getSlot(key, nowMs)?.entry;
  }

  /** The slot of a live entry, to be read again later with `read`. */
  getSlot(key: string, nowMs: number): CacheSlot | undefined {
    const slot = this.slots.get(key);
    return slot && this.read(slot, nowMs) ? slot : undefined;
  }

  /** The entry of a slot obtained earlier, while it is still held and before its refresh time. */
  read(slot: CacheSlot, nowMs: number): CachedResponse | undefined {
    if (!slot.live || !this.enabled || nowMs >= slot.entry.refreshAtMs) return undefined;
    slot.used = true;
    return slot.entry;
  }

  private remove(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.live = false;
    this.slots.delete(key);
  }

  /** Stores a response signed from a status read after the last invalidation of its certificate. */
  put(entry: CachedResponse): void {
    if (this.capacity === 0 || !this.enabled) return;
    const key = cacheKey(entry.issuerId, entry.hash, entry.serial);
    this.remove(key);
    this.slots.set(key, { entry, used: false, live: true });
    while (this.slots.size > this.capacity) this.evictOne();
  }

  /** The oldest slot not asked for since the sweep last passed it goes; the others get a second chance. */
  private evictOne(): void {
    for (const [key, slot] of this.slots) {
      this.slots.delete(key);
      if (!slot.used) {
        slot.live = false;
        return;
      }
      slot.used = false;
      this.slots.set(key, slot);
    }
  }

  /** Stores a response read or signed since `epoch`, unless an invalidation happened meanwhile. */
  putIfUnchanged(entry: CachedResponse, epoch: number): void {
    if (epoch === this.epochValue) this.put(entry);
  }

  /** Like putIfUnchanged, but keeps an entry already held (it may be newer); true when stored. */
  putIfAbsent(entry: CachedResponse, epoch: number): boolean {
    if (epoch !== this.epochValue || !this.enabled || this.capacity === 0) return false;
    if (this.slots.has(cacheKey(entry.issuerId, entry.hash, entry.serial))) return false;
    this.put(entry);
    return true;
  }

  /** Like putIfUnchanged, but only replaces an entry this node holds already (re-signing runs). */
  replaceIfPresent(entry: CachedResponse, epoch: number): void {
    if (epoch !== this.epochValue) return;
    const key = cacheKey(entry.issuerId, entry.hash, entry.serial);
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.live = false;
    this.slots.set(key, { entry, used: slot.used, live: true });
  }

  /** Forgets every response of one certificate. */
  evict(issuerId: string, serial: string): void {
    this.epochValue++;
    for (const hash of ["sha1", "sha256"] as const) this.remove(cacheKey(issuerId, hash, serial));
  }

  clear(): void {
    this.epochValue++;
    for (const slot of this.slots.values()) slot.live = false;
    this.slots.clear();
  }
}
