/**
 * The per-node memory of pre-signed responses: a bounded LRU keyed by issuer, CertID digest
 * and serial, holding the DER and the HTTP caching headers computed once (RFC 5019 §6.2),
 * so the hot path is one Map lookup and a send. The database holds the same responses for
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

export class ResponseCache {
  private readonly entries = new Map<string, CachedResponse>();
  private epochValue = 0;
  /** False while invalidations from other nodes cannot be heard. */
  enabled = true;

  constructor(private readonly capacity: number) {}

  get epoch(): number {
    return this.epochValue;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A live entry (before its refresh time), moved to the most recently used end. */
  get(key: string, nowMs: number): CachedResponse | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (nowMs >= entry.refreshAtMs) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Stores a response signed from a status read after the last invalidation of its certificate. */
  put(entry: CachedResponse): void {
    if (this.capacity === 0 || !this.enabled) return;
    const key = cacheKey(entry.issuerId, entry.hash, entry.serial);
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Stores a response read or signed since `epoch`, unless an invalidation happened meanwhile. */
  putIfUnchanged(entry: CachedResponse, epoch: number): void {
    if (epoch === this.epochValue) this.put(entry);
  }

  /** Like putIfUnchanged, but only replaces an entry this node holds already (re-signing runs). */
  replaceIfPresent(entry: CachedResponse, epoch: number): void {
    if (epoch !== this.epochValue) return;
    const key = cacheKey(entry.issuerId, entry.hash, entry.serial);
    if (this.entries.has(key)) this.entries.set(key, entry);
  }

  /** Forgets every response of one certificate. */
  evict(issuerId: string, serial: string): void {
    this.epochValue++;
    for (const hash of ["sha1", "sha256"] as const) this.entries.delete(cacheKey(issuerId, hash, serial));
  }

  clear(): void {
    this.epochValue++;
    this.entries.clear();
  }
}
