/**
 * API keys for service accounts: "gca_<id>_<secret>", 256-bit secrets from the CSPRNG.
 * Only SHA-256(secret) is stored (a slow hash adds nothing for a high-entropy secret) and the
 * key is shown once. Verified keys are cached for CA_API_KEY_CACHE_SECONDS, so revoking a key
 * takes effect within that time on every node. A change to a principal's roles, org unit or
 * state (src/identity/users.ts) evicts its keys on every node at once, through the
 * configuration invalidation (src/invalidation/configuration.ts); while this node cannot hear
 * it, nothing is served from the cache.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Database } from "../../db/database.js";
import { findApiKey } from "../../db/stores/principals.js";
import { type Principal, principalFromRow } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { unauthenticated } from "../errors.js";
import { keyOf } from "../invalidation/configuration.js";
import type { InvalidationTarget } from "../invalidation/cross-node.js";

const TOKEN = /^gca_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  readonly id: string;
  readonly token: string;
  readonly secretHash: Buffer;
}

const base32 = (bytes: Buffer) =>
  [...bytes].map((byte) => "abcdefghijklmnopqrstuvwxyz234567"[byte & 31]).join("");

export function newApiKey(): NewApiKey {
  const id = base32(randomBytes(16));
  const secret = randomBytes(32).toString("base64url");
  return { id, token: `gca_${id}_${secret}`, secretHash: createHash("sha256").update(secret).digest() };
}

export class ApiKeyAuthenticator implements InvalidationTarget {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  /** False while this node cannot hear other nodes' invalidations (then the cache is not used). */
  enabled = true;
  /** Bumped by every eviction: a lookup that raced with one does not cache what it read. */
  private generation = 0;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly cacheMilliseconds: number,
  ) {}

  /** The principal for a presented token; 401 for anything that is not a live key. */
  async authenticate(token: string): Promise<Principal> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(token);
    if (cached && cached.until > now && this.enabled) return cached.principal;
    const generation = this.generation;
    const match = TOKEN.exec(token);
    if (!match) throw unauthenticated("the API key is not of the form gca_<id>_<secret>");
    const found = await findApiKey(this.db, match[1]!);
    const hash = createHash("sha256").update(match[2]!).digest();
    if (!found || !timingSafeEqual(found.key.secret_hash, hash))
      throw unauthenticated("the API key is not valid");
    if (found.key.revoked_at) throw unauthenticated("the API key has been revoked");
    if (found.key.expires_at && found.key.expires_at.getTime() <= now)
      throw unauthenticated("the API key has expired");
    if (found.principal.disabled_at) throw unauthenticated("the account of this API key is disabled");
    const principal = principalFromRow(found.principal);
    if (this.cacheMilliseconds > 0 && this.enabled && generation === this.generation) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(token, { principal, until: now + this.cacheMilliseconds });
    }
    return principal;
  }

  /** Drops cached entries at once on this node (other nodes follow within the TTL). */
  forget(): void {
    this.cache.clear();
  }

  /** The keys of principal "principal <id>" changed (roles, org unit, disabled) on some node. */
  evict(key: string): void {
    const id = keyOf("principal", key);
    if (id === undefined) return;
    this.generation++;
    for (const [token, entry] of this.cache) if (entry.principal.id === id) this.cache.delete(token);
  }

  clear(): void {
    this.generation++;
    this.cache.clear();
  }
}
