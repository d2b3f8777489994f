/**
 * The audit chain rule: record n carries SHA-256(canonical(record n) ‖ prev) where prev is
 * the hash of record n-1 (32 zero bytes before the first). Changing, deleting or
 * reordering any record breaks either its own hash or the link of the record after it.
 * A record gets n (its seq) when it is sealed, after its transaction committed (./sealer.ts):
 * chain order is sealing order, and `at` (the time of the append) may step back a little in it.
 */
import { createHash } from "node:crypto";

export const GENESIS_HASH = Buffer.alloc(32);

export interface ChainedFields {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  target: string;
  outcome: "success" | "failure";
  request_id: string | null;
  details: Record<string, unknown>;
  prev_hash: Buffer;
}

/** JSON with object keys sorted at every depth, so jsonb's key order does not matter. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function recordHash(record: ChainedFields): Buffer {
  const canonical = canonicalJson([
    record.seq,
    record.at.toISOString(),
    record.actor,
    record.action,
    record.target,
    record.outcome,
    record.request_id,
    record.details,
    record.prev_hash.toString("hex"),
  ]);
  return createHash("sha256").update(canonical).digest();
}

export type ChainEntry = Omit<ChainedFields, "seq" | "prev_hash">;

/** `entries` chained after `head`, in the order given: seq head.seq + 1, + 2, …, each linked to the one before. */
export function chainAfter<Entry extends ChainEntry>(
  head: { readonly seq: number; readonly hash: Buffer },
  entries: readonly Entry[],
): (Entry & { seq: number; prev_hash: Buffer; hash: Buffer })[] {
  let seq = head.seq;
  let prev = head.hash;
  return entries.map((entry) => {
    seq += 1;
    const chained = { ...entry, seq, prev_hash: prev };
    prev = recordHash(chained);
    return { ...chained, hash: prev };
  });
}
