/**
 * Expiry notices: good certificates entering the notice window (CA_EXPIRY_NOTICE_DAYS) are
 * POSTed to CA_EXPIRY_WEBHOOK_URL, each certificate once. A periodic job (hourly, first shortly
 * after start) runs a round on one node at a time; `ca expiry notify` runs one now.
 *
 * A round is batches of up to 500 certificates, each batch one transaction that
 *   Step 1: takes the advisory lock (another node running a round: this one stops),
 *   Step 2: reads the good certificates in the window not announced yet,
 *   Step 3: POSTs them (JSON, 10 s at most, no redirect followed),
 *   Step 4: only when the receiver answered 2xx, records them in expiry_notices with the audit
 *           record of the batch; otherwise writes nothing, so the next run sends them again.
 * Holding the lock across the POST keeps two nodes from sending the same batch; the wait is
 * bounded by the POST's timeout.
 */
import type { Database } from "../../db/database.js";
import {
  type ExpiringCertificateRow,
  recordExpiryNotices,
  tryLockExpiryNotices,
  unannouncedExpiring,
} from "../../db/stores/expiry-notices.js";
import { appendAudit } from "../audit/log.js";
import { type Actor, systemActor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { type Delivery, postJson, webhookOrigin } from "./webhook.js";

export interface ExpiryNoticePolicy {
  /** CA_EXPIRY_NOTICE_DAYS. */
  readonly windowDays: number;
  /** CA_EXPIRY_WEBHOOK_URL; undefined: nothing is sent and the job does not run. */
  readonly webhookUrl: string | undefined;
  /** Certificates per POST (500). */
  readonly batchSize?: number;
  /** How long the receiver may take to answer (10 s). */
  readonly timeoutMs?: number;
  /** Between two runs of the job (1 h). */
  readonly intervalMs?: number;
  /** From start to the job's first run (1 min). */
  readonly firstRunDelayMs?: number;
}

/** One certificate in a notice, as the receiver gets it. */
export interface ExpiryNoticeItem {
  readonly serial: string;
  readonly issuer: string;
  readonly subject: string;
  readonly orgUnit: string | null;
  readonly ownerId: string | null;
  readonly profile: string;
  readonly notAfter: string;
}

/** The body of each POST. */
export interface ExpiryNoticePayload {
  readonly windowDays: number;
  readonly generatedAt: string;
  readonly certificates: readonly ExpiryNoticeItem[];
}

export interface ExpiryRound {
  /** Certificates the receiver accepted in this round, in the order sent. */
  readonly sent: ExpiryNoticeItem[];
  /** Why the round stopped early, if it did: the failed delivery (retried next run). */
  readonly failure?: Extract<Delivery, { ok: false }> | undefined;
  /** Nothing was attempted: no webhook configured, or another node holds the lock. */
  readonly skipped?: "no-webhook" | "locked" | undefined;
}

const DAY_MS = 86_400_000;

const item = (row: ExpiringCertificateRow): ExpiryNoticeItem => ({
  serial: row.serial,
  issuer: row.issuer_id,
  subject: row.subject,
  orgUnit: row.org_unit,
  ownerId: row.owner_id,
  profile: row.profile,
  notAfter: row.not_after.toISOString(),
});

type BatchOutcome =
  | { readonly kind: "locked" }
  | { readonly kind: "done" }
  | { readonly kind: "failed"; readonly failure: Extract<Delivery, { ok: false }> }
  | { readonly kind: "sent"; readonly items: ExpiryNoticeItem[]; readonly more: boolean };

export class ExpiryNotices {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** Set by stop(): a round of the job ends after its current batch. */
  private halting = false;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly policy: ExpiryNoticePolicy,
  ) {}

  /** One round now: every certificate in the window not announced yet, batch after batch. */
  async notify(actor: Actor, onBatch?: (sent: readonly ExpiryNoticeItem[]) => void): Promise<ExpiryRound> {
    const url = this.policy.webhookUrl;
    if (!url) return { sent: [], skipped: "no-webhook" };
    const sent: ExpiryNoticeItem[] = [];
    for (;;) {
      const outcome = await this.batch(actor, url);
      if (outcome.kind === "locked") return { sent, skipped: sent.length ? undefined : "locked" };
      if (outcome.kind === "failed") return { sent, failure: outcome.failure };
      if (outcome.kind === "done") return { sent };
      sent.push(...outcome.items);
      onBatch?.(outcome.items);
      if (!outcome.more || this.halting) return { sent };
    }
  }

  private batch(actor: Actor, url: string): Promise<BatchOutcome> {
    const size = this.policy.batchSize ?? 500;
    const windowDays = this.policy.windowDays;
    return this.db.transaction(async (tx): Promise<BatchOutcome> => {
      // Step 1: one node at a time.
      if (!(await tryLockExpiryNotices(tx))) return { kind: "locked" };
      // Step 2: good certificates with now < notAfter ≤ now + window, not announced yet.
      const now = this.clock.now();
      const rows = await unannouncedExpiring(tx, now, new Date(now.getTime() + windowDays * DAY_MS), size);
      if (rows.length === 0) return { kind: "done" };
      // Step 3: deliver.
      const items = rows.map(item);
      const payload: ExpiryNoticePayload = {
        windowDays,
        generatedAt: now.toISOString(),
        certificates: items,
      };
      const delivery = await postJson(url, payload, this.policy.timeoutMs ?? 10_000);
      if (!delivery.ok) return { kind: "failed", failure: delivery };
      // Step 4: accepted, so recorded, with the batch's audit record, in this transaction.
      await recordExpiryNotices(tx, rows, windowDays, this.clock.now());
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "certificate.expiry-notice",
          target: `webhook:${webhookOrigin(url)}`,
          details: {
            windowDays,
            status: delivery.status,
            count: rows.length,
            certificates: rows.map((row) => `${row.issuer_id}/${row.serial}`),
          },
        },
      ]);
      return { kind: "sent", items, more: rows.length === size };
    });
  }

  /** The periodic job (server only; nothing without a webhook URL). */
  start(): void {
    if (!this.policy.webhookUrl || !this.stopped) return;
    this.stopped = false;
    this.halting = false;
    this.schedule(this.policy.firstRunDelayMs ?? 60_000);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.notify(systemActor)
        .then((round) => {
          if (round.failure)
            process.emitWarning(
              `expiry notices: the webhook ${webhookOrigin(this.policy.webhookUrl!)} ${round.failure.reason}; ` +
                "the certificates not delivered are sent again at the next run",
            );
        })
        .catch((error: Error) => process.emitWarning(`expiry notices failed: ${error.message}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.policy.intervalMs ?? 3600_000);
        });
    }, delayMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.halting = true;
    clearTimeout(this.timer);
    await this.running;
    this.halting = false;
  }
}
