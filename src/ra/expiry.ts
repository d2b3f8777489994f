/**
 * Pending enrolment requests expire after CA_ENROLLMENT_PENDING_DAYS: a periodic job moves
 * them to expired, erases any sealed key, and notifies the requester, each batch in one
 * transaction under an advisory lock so that one node runs it at a time (the others skip
 * their turn; rows are also taken with SKIP LOCKED).
 */
import type { Database } from "../../db/database.js";
import { lockExpiredPending, tryLockExpiry, updateEnrollment } from "../../db/stores/enrollments.js";
import { appendAudit } from "../audit/log.js";
import { systemActor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { notify } from "./notifications.js";

const BATCH = 100;

export class EnrollmentExpiry {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Expires every pending request past its time; answers how many. */
  async expireDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = await this.db.transaction(async (tx) => {
        if (!(await tryLockExpiry(tx))) return 0;
        const now = this.clock.now();
        const rows = await lockExpiredPending(tx, now, BATCH);
        for (const row of rows) {
          await updateEnrollment(tx, row.id, ["pending"], {
            status: "expired",
            decidedAt: now,
            eraseKey: true,
          });
          await notify(tx, {
            principalId: row.requester_id,
            kind: "enrollment.expired",
            enrollmentId: row.id,
            message: `Your ${row.profile} certificate request expired without a decision; submit it again if you still need it.`,
            at: now,
          });
        }
        await appendAudit(
          tx,
          this.clock,
          rows.map((row) => ({
            ...systemActor.audit,
            action: "enrollment.expire",
            target: `enrollment:${row.id}`,
            details: { expiresAt: row.expires_at.toISOString() },
          })),
        );
        return rows.length;
      });
      total += expired;
      if (expired < BATCH) return total;
    }
  }

  start(): void {
    this.stopped = false;
    const run = () => {
      this.running = this.expireDue()
        .catch((error: Error) => process.emitWarning(`enrolment expiry failed: ${error.message}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) {
            this.timer = setTimeout(run, this.intervalMs);
            this.timer.unref();
          }
        });
    };
    this.timer = setTimeout(run, 0);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
