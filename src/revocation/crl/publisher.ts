/**
 * CRL publication (RFC 5280 §5): complete CRLs on a schedule and delta CRLs (§5.2.4) soon
 * after any status change. Generation runs in one transaction holding a transaction-scoped
 * advisory lock per issuer, so one node generates at a time; the CRL number comes from the
 * database, so it increases across nodes; the CRL is stored for every node to serve.
 */
import type { Database } from "../../../db/database.js";
import {
  type CrlRow,
  changedSince,
  countRevoked,
  crlByNumber,
  encodedRevokedPage,
  insertCrl,
  latestCrlInfo,
  nextCrlNumber,
  tryLockCrlGeneration,
} from "../../../db/stores/crls.js";
import { changeCount } from "../../../db/stores/revocations.js";
import type { IssuerRegistry } from "../../ca/issuers.js";
import { issuerUrls } from "../../ca/issuers.js";
import type { Clock } from "../../clock.js";
import { conflict } from "../../errors.js";
import { REASON_CODES } from "../reasons.js";
import { CrlWriter } from "./encoder.js";

export type CrlKind = "full" | "delta";

export interface CrlPolicy {
  readonly publicBaseUrl: string;
  /** A new complete CRL at least this often. */
  readonly fullIntervalMs: number;
  /** nextUpdate of complete CRLs, after thisUpdate. */
  readonly validityMs: number;
  /** nextUpdate of delta CRLs. */
  readonly deltaValidityMs: number;
  /** How often due CRLs are published, and so the longest a change waits for a delta CRL. */
  readonly publishDelayMs: number;
}

export interface PublishedCrl {
  readonly issuerId: string;
  readonly kind: CrlKind;
  readonly number: number;
  readonly baseNumber: number | null;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: number;
  readonly der: Buffer;
}

/** A delta lists every change since its base was generated, and a margin more: listing an
 * unchanged entry again is harmless, missing one committed during the base's generation is not. */
const DELTA_MARGIN_MS = 5 * 60 * 1000;
const PAGE = 100_000;
/** Two halves of the serial space, read in parallel: serials are hex of even length, so none is
 * "8" itself, and (after "8", before "g") holds every serial from "80…" to "ff…". */
const SERIAL_RANGES = [
  { after: "", before: "8" },
  { after: "8", before: "g" },
];
/** Size of an entry with a 16-octet serial and a reason code; others are at most ~80 and the buffer grows. */
const ENTRY_BYTES = 48;

const published = (row: CrlRow): PublishedCrl => ({
  issuerId: row.issuer_id,
  kind: row.kind,
  number: row.number,
  baseNumber: row.base_number,
  thisUpdate: row.this_update,
  nextUpdate: row.next_update,
  entries: row.entries,
  der: row.der,
});

export class CrlPublisher {
  private readonly latest = new Map<string, PublishedCrl>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly issuers: IssuerRegistry,
    private readonly policy: CrlPolicy,
  ) {}

  /** Generates a CRL now; undefined when another node holds the lock for this issuer. */
  async generate(
    issuerId: string,
    kind: CrlKind,
    onProgress?: (entries: number) => void,
  ): Promise<PublishedCrl | undefined> {
    const issuer = this.issuers.get(issuerId);
    const urls = issuerUrls(this.policy.publicBaseUrl, issuerId);
    const row = await this.db.transaction(async (tx): Promise<CrlRow | undefined> => {
      if (!(await tryLockCrlGeneration(tx, issuerId))) return undefined;
      const now = new Date(Math.floor(this.clock.now().getTime() / 1000) * 1000); // RFC 5280 §5.1.2.4: whole seconds
      const changes = await changeCount(tx, issuerId); // before reading entries: a later change raises it
      const base = kind === "delta" ? await latestCrlInfo(tx, issuerId, "full") : undefined;
      if (kind === "delta" && !base)
        throw conflict("crl-no-base", `issuer "${issuerId}" has no complete CRL to base a delta CRL on`);
      // Sized from a count, so that the buffer of a large CRL is allocated once and never doubled.
      const writer = new CrlWriter(
        kind === "full" ? (await countRevoked(tx, issuerId, now)) * ENTRY_BYTES : undefined,
      );
      if (kind === "full") {
        // The database encodes the entries (see encodedRevokedPage). Where it can run statements
        // side by side, the halves of the serial space are read on two other connections at once
        // (this transaction keeps the lock and the numbering); the pages are separate statements
        // anyway, and a change committed meanwhile raised the count read above, so the next delta
        // CRL carries it.
        const reader = this.db.parallelism > 1 ? this.db : tx;
        await Promise.all(
          SERIAL_RANGES.map(async (range) => {
            for (let after = range.after; ; ) {
              const page = await encodedRevokedPage(
                reader,
                issuerId,
                now,
                { after, before: range.before },
                PAGE,
              );
              writer.addEncoded(page.der, page.count);
              onProgress?.(writer.entries);
              if (page.count < PAGE || !page.last) break;
              after = page.last;
            }
          }),
        );
      } else {
        const since = new Date(base!.this_update.getTime() - DELTA_MARGIN_MS);
        for (const entry of await changedSince(tx, issuerId, since, now))
          writer.add(
            entry.status === "good"
              ? {
                  serial: entry.serial,
                  revocationDate: entry.status_changed_at!,
                  reason: REASON_CODES.removeFromCRL,
                } // released
              : {
                  serial: entry.serial,
                  revocationDate: entry.revoked_at!,
                  reason: entry.revocation_reason,
                  invalidityDate: entry.invalidity_date,
                },
          );
        onProgress?.(writer.entries);
      }
      const number = await nextCrlNumber(tx, issuerId);
      const nextUpdate = new Date(
        now.getTime() + (kind === "full" ? this.policy.validityMs : this.policy.deltaValidityMs),
      );
      const { tbs, start } = writer.finishTbs({
        signatureAlgorithm: issuer.signer.algorithmIdentifier,
        issuer: issuer.row.subject_der,
        thisUpdate: now,
        nextUpdate,
        number,
        authorityKeyId: issuer.row.key_id,
        baseNumber: base?.number,
        freshestCrlUrl: kind === "full" ? urls.deltaCrl : undefined,
      });
      const der = writer.finish(
        start,
        issuer.signer.algorithmIdentifier,
        await issuer.signer.signatureValue(tbs),
      );
      const crl: CrlRow = {
        issuer_id: issuerId,
        number,
        kind,
        base_number: base?.number ?? null,
        this_update: now,
        next_update: nextUpdate,
        entries: writer.entries,
        changes,
        der,
      };
      await insertCrl(tx, crl);
      return crl;
    });
    if (!row) return undefined;
    const crl = published(row);
    this.latest.set(`${issuerId}/${kind}`, crl);
    return crl;
  }

  /** The newest CRL of a kind this node knows, refreshed from the database when another node published one. */
  async current(issuerId: string, kind: CrlKind): Promise<PublishedCrl | undefined> {
    const key = `${issuerId}/${kind}`;
    const known = this.latest.get(key);
    const info = await latestCrlInfo(this.db, issuerId, kind);
    if (!info) return undefined;
    if (known && known.number >= info.number) return known;
    const row = await crlByNumber(this.db, issuerId, info.number);
    if (!row) return known;
    const crl = published(row);
    this.latest.set(key, crl);
    return crl;
  }

  /** What each issuer needs now: a complete CRL on schedule, a delta after changes or before it expires. */
  async publishDue(): Promise<PublishedCrl[]> {
    const done: PublishedCrl[] = [];
    const now = this.clock.now().getTime();
    for (const issuer of this.issuers.all()) {
      const id = issuer.row.id;
      const full = await latestCrlInfo(this.db, id, "full");
      const fullDue =
        !full ||
        now - full.this_update.getTime() >= this.policy.fullIntervalMs ||
        full.next_update.getTime() - now < this.policy.validityMs / 3;
      if (fullDue) {
        const crl = await this.generate(id, "full");
        if (crl) done.push(crl);
      }
      const base = fullDue ? await latestCrlInfo(this.db, id, "full") : full;
      if (!base) continue;
      const delta = await latestCrlInfo(this.db, id, "delta");
      const newest = delta && delta.number > base.number ? delta : base;
      const deltaDue =
        !delta ||
        delta.base_number !== base.number ||
        delta.next_update.getTime() - now < this.policy.deltaValidityMs / 3 ||
        (await changeCount(this.db, id)) > newest.changes;
      if (deltaDue) {
        const crl = await this.generate(id, "delta");
        if (crl) done.push(crl);
      }
    }
    return done;
  }

  /**
   * Runs publishDue every publishDelayMs: a change is on a CRL within that delay, whatever the
   * rate of changes (a timer re-armed on each change could be postponed for ever).
   */
  start(): void {
    this.schedule(this.policy.publishDelayMs);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.publishDue()
        .then(
          () => undefined,
          (error: unknown) => process.emitWarning(`CRL publication failed: ${(error as Error).message}`),
        )
        .finally(() => {
          this.running = undefined;
          if (this.timer) this.schedule(this.policy.publishDelayMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
