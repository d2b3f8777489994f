/**
 * The keys that sign ID tokens, access tokens and logout tokens, with staged rotation: a new
 * key is published in the JWKS `publishAheadMs` before it signs (so relying parties that
 * cache the JWKS already know its `kid`, unlike Hydra #2535), the previous key stops signing
 * when it activates, and stays published until every token it signed has expired. Which key
 * signs is a function of the clock and the table, so every node agrees without coordination
 * and a node that reloads late still knows a key before it is used.
 */
import { createPublicKey, type KeyObject, randomBytes } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import type { Database } from "../../db/database.js";
import { insertSigningKey, listSigningKeys, type SigningKeyRow } from "../../db/stores/sso-signing-keys.js";
import type { KeyAlgorithm, KeyStore } from "../../hsm-adapters/key-store.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import type { JwsAlgorithm, SigningKey } from "./jws.js";

const KEY_ALGORITHM: Readonly<Record<JwsAlgorithm, KeyAlgorithm>> = {
  ES256: "ecdsa-p256",
  RS256: "rsa-2048",
};
/** How often a node re-reads the table (a rotation is published far longer ahead than this). */
const RELOAD_INTERVAL_MS = 60_000;

export interface PublishedKey extends SigningKey {
  readonly jwk: JWK;
  readonly publicKey: KeyObject;
  readonly createdAt: Date;
  readonly activatesAt: Date;
}

export interface SigningKeyOptions {
  readonly algorithm: JwsAlgorithm;
  /** How long a new key is in the JWKS before it signs. */
  readonly publishAheadMs: number;
  /** The longest lifetime of anything signed (a retired key stays published this long). */
  readonly maxTokenLifetimeMs: number;
}

export class SigningKeys {
  private keys: PublishedKey[] = [];
  private loadedAt = 0;
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly keyStore: KeyStore,
    private readonly clock: Clock,
    private readonly options: SigningKeyOptions,
  ) {}

  async reload(): Promise<void> {
    const rows = await listSigningKeys(this.db);
    this.keys = rows.map(toPublished);
    this.loadedAt = Date.now();
  }

  /** Reloads when the table may have changed on another node; never more than once at a time. */
  private refresh(): void {
    if (Date.now() - this.loadedAt < RELOAD_INTERVAL_MS || this.reloading !== undefined) return;
    this.reloading = this.reload()
      .catch(() => undefined)
      .finally(() => {
        this.reloading = undefined;
      });
  }

  /** The first key, active at once (a fresh installation has no relying party caching a JWKS yet). */
  async ensureKey(actor: Actor): Promise<void> {
    await this.reload();
    if (this.keys.length === 0) await this.add(actor, this.clock.now());
  }

  /** Staged rotation: the new key signs from `publishAheadMs` from now. */
  rotate(actor: Actor): Promise<PublishedKey> {
    return this.add(actor, new Date(this.clock.now().getTime() + this.options.publishAheadMs));
  }

  private async add(actor: Actor, activatesAt: Date): Promise<PublishedKey> {
    const alg = this.options.algorithm;
    const label = `sso-${alg.toLowerCase()}-${randomBytes(6).toString("hex")}`;
    const info = await this.keyStore.generateKey({ label, algorithm: KEY_ALGORITHM[alg] });
    const jwk = publicJwk(createPublicKey({ key: Buffer.from(info.spki), format: "der", type: "spki" }));
    const kid = await calculateJwkThumbprint(jwk); // RFC 7638
    const row: SigningKeyRow = {
      kid,
      key_label: label,
      alg,
      public_jwk: { ...jwk, kid, alg, use: "sig" },
      created_at: this.clock.now(),
      activates_at: activatesAt,
    };
    await this.db.transaction(async (tx) => {
      await insertSigningKey(tx, row);
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "sso.signing-key.create",
          target: `sso-key:${kid}`,
          details: { alg, label, activatesAt: activatesAt.toISOString() },
        },
      ]);
    });
    await this.reload();
    return toPublished(row);
  }

  /** The key that signs now: the newest one already active. */
  active(): PublishedKey {
    this.refresh();
    const now = this.clock.now().getTime();
    let active: PublishedKey | undefined;
    for (const key of this.keys) if (key.activatesAt.getTime() <= now) active = key;
    if (!active) throw new Error("no SSO signing key is active yet (run `ca init`)");
    return active;
  }

  /** RFC 7517 JWK Set: the keys to come, the active one, and retired ones whose tokens may still live. */
  published(): PublishedKey[] {
    this.refresh();
    const now = this.clock.now().getTime();
    return this.keys.filter((_key, index) => {
      const successor = this.keys.slice(index + 1).find((next) => next.activatesAt.getTime() <= now);
      return !successor || successor.activatesAt.getTime() + this.options.maxTokenLifetimeMs > now;
    });
  }

  /** The public key for a `kid` we published (re-reading the table once for an unknown one). */
  async verificationKey(kid: string): Promise<PublishedKey | undefined> {
    const found = this.published().find((key) => key.kid === kid);
    if (found || this.keys.some((key) => key.kid === kid)) return found;
    if (Date.now() - this.loadedAt > 1000) await this.reload();
    return this.published().find((key) => key.kid === kid);
  }
}

function publicJwk(key: KeyObject): JWK {
  const { kty, crv, x, y, n, e } = key.export({ format: "jwk" });
  return kty === "EC" ? { kty, crv, x, y } : { kty, n, e };
}

const toPublished = (row: SigningKeyRow): PublishedKey => ({
  kid: row.kid,
  alg: row.alg,
  label: row.key_label,
  jwk: row.public_jwk as JWK,
  publicKey: createPublicKey({ key: row.public_jwk as JWK, format: "jwk" }),
  createdAt: row.created_at,
  activatesAt: row.activates_at,
});
