/**
 * The cross-node invalidation (cross-node.ts) of what every node holds of the administrators'
 * configuration: the certificate profiles (key "profile <name>") and the principals behind
 * cached API keys (key "principal <id>"). A profile replaced, or a user's roles changed, on
 * one node is in force on every listening node before that call returns.
 */
import type { Database, Queryable } from "../../db/database.js";
import type { InvalidationChannels, InvalidationTarget } from "./cross-node.js";

export const CONFIGURATION_INVALIDATION: InvalidationChannels = {
  invalidate: "config_invalidate",
  ack: "config_ack",
  applicationPrefix: "gov-ca-config:",
  name: "configuration",
};

export const profileKey = (name: string): string => `profile ${name}`;
export const principalKey = (id: string): string => `principal ${id}`;

/** The name or id a key is about, when it is of that kind. */
export const keyOf = (kind: "profile" | "principal", key: string): string | undefined =>
  key.startsWith(`${kind} `) ? key.slice(kind.length + 1) : undefined;

/** Commits a change with the NOTIFY that makes every node drop what it held (cross-node.ts `change`). */
export interface ChangePublisher {
  change<T>(keys: readonly string[], write: (tx: Queryable) => Promise<T>): Promise<T>;
}

/** For a registry on its own (one node, tests of the domain code): a transaction, then `targets` evict. */
export const inOneTransaction = (
  db: Database,
  targets: readonly InvalidationTarget[] = [],
): ChangePublisher => ({
  async change(keys, write) {
    const result = await db.transaction(write);
    for (const key of keys) for (const target of targets) await target.evict(key);
    return result;
  },
});
