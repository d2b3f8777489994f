/**
 * What makes a well-signed, unexpired token inactive: its grant was revoked (logout, code
 * replay, refresh reuse, certificate revocation), its session ended, or it was revoked by
 * itself (RFC 7009). Introspection and userinfo must answer from memory (no database read
 * per request) yet never call a revoked token active (CVE-2026-8922), so each node keeps the
 * revoked ids until the tokens they cover expire: loaded at start, and kept current across
 * nodes by src/invalidation/cross-node.ts (NOTIFY in the revoking transaction, and the
 * revoking call returns only once every other node has acknowledged). A node that cannot
 * hear the others, or has not finished loading, asks the database instead.
 */
import type { Database, Queryable } from "../../db/database.js";
import { notify } from "../../db/stores/notifications.js";
import { revokedGrantIds, revokedTokenIds } from "../../db/stores/oauth-grants.js";
import { endedSessionIds } from "../../db/stores/sso-sessions.js";
import type { Clock } from "../clock.js";
import {
  type Barrier,
  CrossNodeInvalidation,
  type InvalidationChannels,
  type InvalidationTarget,
} from "../invalidation/cross-node.js";

export const SSO_INVALIDATION: InvalidationChannels = {
  invalidate: "sso_revoked",
  ack: "sso_ack",
  applicationPrefix: "gov-ca-sso:",
  name: "SSO",
};

const KINDS = ["grant", "session", "token"] as const;
export type RevokedKind = (typeof KINDS)[number];

export interface Revoked {
  readonly kind: RevokedKind;
  readonly id: string;
  /** When the tokens it covers expire: until then it must stay refused. */
  readonly expiresAt: Date;
}

export interface TokenReferences {
  readonly jti: string;
  readonly grantId?: string | undefined;
  readonly sessionId?: string | undefined;
}

/** Records the revocations made in the transaction it was given to (see `revoking`). */
export type RecordRevoked = (items: readonly Revoked[]) => Promise<void>;

const PURGE_INTERVAL_MS = 60_000;
/** A NOTIFY payload must stay under 8000 bytes; above this, other nodes reload instead. */
const PAYLOAD_BYTES = 7000;
const RELOAD = "*";

export class TokenState implements InvalidationTarget {
  private readonly revoked: Record<RevokedKind, Map<string, number>> = {
    grant: new Map(),
    session: new Map(),
    token: new Map(),
  };
  /** Set by the invalidation: false while this node cannot hear the others. */
  enabled = true;
  private loaded = false;
  private loading: Promise<void> | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  readonly invalidation: CrossNodeInvalidation;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly warn: (message: string) => void,
  ) {
    this.invalidation = new CrossNodeInvalidation(db, SSO_INVALIDATION, warn);
    this.invalidation.attach(this);
  }

  async start(): Promise<void> {
    await this.invalidation.ensureListening(); // before loading: nothing committed in between is missed
    await this.reload();
    this.purgeTimer = setInterval(() => this.purge(), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  private reload(): Promise<void> {
    this.loading ??= this.load()
      .then(
        () => {
          this.loaded = true;
        },
        (error: Error) => this.warn(`SSO: cannot load the revoked tokens: ${error.message}`),
      )
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  private async load(): Promise<void> {
    const now = this.clock.now();
    const [grants, sessions, tokens] = await Promise.all([
      revokedGrantIds(this.db, now),
      endedSessionIds(this.db, now),
      revokedTokenIds(this.db, now),
    ]);
    this.apply([
      ...grants.map((row) => ({ kind: "grant" as const, id: row.id, expiresAt: row.expires_at })),
      ...sessions.map((row) => ({ kind: "session" as const, id: row.id, expiresAt: row.expires_at })),
      ...tokens.map((row) => ({ kind: "token" as const, id: row.jti, expiresAt: row.expires_at })),
    ]);
  }

  private apply(items: readonly Revoked[]): void {
    for (const item of items) this.revoked[item.kind].set(item.id, item.expiresAt.getTime());
  }

  /** Another node revoked these (InvalidationTarget). */
  evict(key: string): void {
    if (key === RELOAD) this.clear();
    else this.apply(decode(key));
  }

  /** This node may have missed revocations: the database answers until memory is reloaded. */
  clear(): void {
    this.loaded = false;
    void this.reload();
  }

  private purge(): void {
    const now = this.clock.now().getTime();
    for (const map of Object.values(this.revoked))
      for (const [id, expires] of map) if (expires <= now) map.delete(id);
  }

  /** Whether this node answers from memory now (else from the database). */
  get fromMemory(): boolean {
    return this.enabled && this.loaded;
  }

  /** Whether a token that is otherwise valid has been revoked. */
  isRevoked(token: TokenReferences): boolean | Promise<boolean> {
    if (!this.fromMemory) return this.isRevokedInDatabase(token);
    return (
      this.revoked.token.has(token.jti) ||
      (token.grantId !== undefined && this.revoked.grant.has(token.grantId)) ||
      (token.sessionId !== undefined && this.revoked.session.has(token.sessionId))
    );
  }

  private async isRevokedInDatabase(token: TokenReferences): Promise<boolean> {
    const { rows } = await this.db.query<{ revoked: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM oauth_revoked_tokens WHERE jti = $1)
           OR EXISTS (SELECT 1 FROM oauth_grants WHERE id = $2 AND revoked_at IS NOT NULL)
           OR EXISTS (SELECT 1 FROM sso_sessions WHERE id = $3 AND ended_at IS NOT NULL) AS revoked`,
      [token.jti, token.grantId ?? null, token.sessionId ?? null],
    );
    return rows[0]!.revoked;
  }

  /**
   * Runs `work` in a transaction that may revoke (it calls `record` with what it revoked); once
   * committed, this node knows at once, and the call returns only after every other node has
   * acknowledged knowing too. The other nodes are looked up at the first revocation recorded,
   * still before the commit, so that work which revokes nothing (a code redeemed, a refresh
   * token rotated) costs no query for them.
   */
  async revoking<T>(work: (tx: Queryable, record: RecordRevoked) => Promise<T>): Promise<T> {
    let barrier: Barrier | undefined;
    const recorded: Revoked[] = [];
    let result: T;
    try {
      result = await this.db.transaction((tx) => {
        const record: RecordRevoked = async (items) => {
          if (items.length === 0) return;
          if (recorded.length === 0) barrier = await this.invalidation.prepare(tx);
          recorded.push(...items);
        };
        return work(tx, record).then(async (value) => {
          if (barrier && recorded.length > 0) {
            const key = encode(recorded);
            await notify(
              tx,
              SSO_INVALIDATION.invalidate,
              barrier.payloadFor(key.length > PAYLOAD_BYTES ? RELOAD : key),
            );
          }
          return value;
        });
      });
    } catch (error) {
      this.invalidation.cancel(barrier);
      throw error;
    }
    this.apply(recorded);
    await this.invalidation.wait(barrier);
    return result;
  }

  async stop(): Promise<void> {
    clearInterval(this.purgeTimer);
    await this.invalidation.stop();
  }
}

/** "<kind>:<id>:<expires ms>" items, space separated (ids are base64url: no ':' or ' '). */
const encode = (items: readonly Revoked[]): string =>
  items.map((item) => `${item.kind}:${item.id}:${item.expiresAt.getTime()}`).join(" ");

function decode(key: string): Revoked[] {
  return key.split(" ").flatMap((entry) => {
    const [kind, id, expires] = entry.split(":");
    if (!KINDS.includes(kind as RevokedKind) || !id || !expires) return [];
    return [{ kind: kind as RevokedKind, id, expiresAt: new Date(Number(expires)) }];
  });
}
