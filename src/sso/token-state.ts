/**
 * What makes a well-signed, unexpired token inactive: its grant was revoked (logout, code
 * replay, refresh reuse, certificate revocation), its session ended, or it was revoked by
 * itself (RFC 7009). Introspection and userinfo must answer from memory (no database read
 * per request) yet never call a revoked token active (CVE-2026-8922), so each node keeps the
 * revoked ids until the tokens they cover expire, loaded at start and kept current through
 * NOTIFY sent in the revoking transaction. A node that cannot listen asks the database.
 */
import type { Database, NotificationListener, Queryable } from "../../db/database.js";
import { revokedGrantIds, revokedTokenIds } from "../../db/stores/oauth-grants.js";
import { notify } from "../../db/stores/ocsp.js";
import { endedSessionIds } from "../../db/stores/sso-sessions.js";
import type { Clock } from "../clock.js";

const CHANNEL = "sso_revoked";
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

const RECONNECT_DELAY_MS = 1000;
const PURGE_INTERVAL_MS = 60_000;
/** A NOTIFY payload must stay under 8000 bytes. */
const PAYLOAD_BYTES = 7000;

export class TokenState {
  private readonly revoked: Record<RevokedKind, Map<string, number>> = {
    grant: new Map(),
    session: new Map(),
    token: new Map(),
  };
  private listener: NotificationListener | undefined;
  /** Memory is complete: loaded, and (PostgreSQL) listening since before the load. */
  private trusted = false;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly warn: (message: string) => void,
  ) {}

  async start(): Promise<void> {
    await this.connect();
    const purge = setInterval(() => this.purge(), PURGE_INTERVAL_MS);
    purge.unref();
    this.timers.push(purge);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.db.listen)
        this.listener = await this.db.listen({
          channels: [CHANNEL],
          applicationName: "gov-ca-sso",
          onNotification: (_channel, payload) => this.apply(parse(payload)),
          onError: (error) => this.lost(error),
        });
      await this.load(); // after LISTEN: nothing committed in between is missed
      this.trusted = true;
    } catch (error) {
      this.warn(`SSO: cannot keep the token revocation cache: ${(error as Error).message}`);
      this.lost(error as Error);
    }
  }

  private lost(error: Error): void {
    this.trusted = false;
    this.listener = undefined;
    if (this.stopped) return;
    this.warn(
      `SSO: revocation notifications stopped (${error.message}); asking the database until they are back`,
    );
    const retry = setTimeout(() => void this.connect(), RECONNECT_DELAY_MS);
    retry.unref();
    this.timers.push(retry);
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

  private purge(): void {
    const now = this.clock.now().getTime();
    for (const map of Object.values(this.revoked))
      for (const [id, expires] of map) if (expires <= now) map.delete(id);
  }

  /** Whether a token that is otherwise valid has been revoked (memory, or the database when deaf). */
  isRevoked(token: TokenReferences): boolean | Promise<boolean> {
    if (!this.trusted) return this.isRevokedInDatabase(token);
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
   * Inside the revoking transaction: tells every node (PostgreSQL delivers NOTIFY at commit),
   * and this node at once once the transaction has committed (call `committed`).
   */
  async publish(tx: Queryable, items: readonly Revoked[]): Promise<() => void> {
    if (this.db.listen) for (const payload of payloads(items)) await notify(tx, CHANNEL, payload);
    return () => this.apply(items);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.close();
  }
}

/** Lines of "<kind> <id> <expires ms>". */
function payloads(items: readonly Revoked[]): string[] {
  const out: string[] = [];
  let current = "";
  for (const item of items) {
    const line = `${item.kind} ${item.id} ${item.expiresAt.getTime()}`;
    if (current.length + line.length + 1 > PAYLOAD_BYTES) {
      out.push(current);
      current = "";
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) out.push(current);
  return out;
}

function parse(payload: string): Revoked[] {
  return payload.split("\n").flatMap((line) => {
    const [kind, id, expires] = line.split(" ");
    if (!KINDS.includes(kind as RevokedKind) || !id || !expires) return [];
    return [{ kind: kind as RevokedKind, id, expiresAt: new Date(Number(expires)) }];
  });
}
