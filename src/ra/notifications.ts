/**
 * Portal notifications: what a civil servant sees about its own enrolment requests when it
 * opens the portal. Written by the RA in the transaction of the transition they report;
 * read, unread first, and marked read by their recipient only.
 */
import { randomUUID } from "node:crypto";
import type { Database, Queryable } from "../../db/database.js";
import {
  insertPortalNotifications,
  listPortalNotifications,
  markPortalNotificationRead,
  type PortalNotificationKind,
  type PortalNotificationRow,
} from "../../db/stores/portal-notifications.js";
import { appendAudit } from "../audit/log.js";
import type { Actor, Principal } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest, notFound } from "../errors.js";

export interface NotificationView {
  readonly id: string;
  readonly kind: PortalNotificationKind;
  readonly enrollment: string | null;
  readonly message: string;
  readonly createdAt: string;
  readonly readAt: string | null;
}

export const notificationView = (row: PortalNotificationRow): NotificationView => ({
  id: row.id,
  kind: row.kind,
  enrollment: row.enrollment_id,
  message: row.message,
  createdAt: row.created_at.toISOString(),
  readAt: row.read_at?.toISOString() ?? null,
});

/** Writes one notification inside the caller's transaction. */
export async function notify(
  tx: Queryable,
  notification: {
    principalId: string;
    kind: PortalNotificationKind;
    enrollmentId: string;
    message: string;
    at: Date;
  },
): Promise<void> {
  await insertPortalNotifications(tx, [
    {
      id: randomUUID(),
      principal_id: notification.principalId,
      kind: notification.kind,
      enrollment_id: notification.enrollmentId,
      message: notification.message,
      created_at: notification.at,
    },
  ]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function encodeCursor(row: PortalNotificationRow): string {
  return Buffer.from(`${row.read_at ? 1 : 0}|${row.created_at.toISOString()}|${row.id}`).toString(
    "base64url",
  );
}

function decodeCursor(cursor: string): { read: boolean; createdAt: Date; id: string } {
  const [read, at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(at ?? "");
  if ((read !== "0" && read !== "1") || Number.isNaN(createdAt.getTime()) || !UUID.test(id ?? ""))
    throw badRequest("cursor-invalid", "the cursor is not one this service handed out");
  return { read: read === "1", createdAt, id: id! };
}

export class PortalNotifications {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** The principal's notifications, unread first, newest first; keyset-paginated. */
  async list(
    principal: Principal,
    query: { limit: number; cursor?: string | undefined },
  ): Promise<{ items: NotificationView[]; nextCursor: string | null }> {
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await listPortalNotifications(this.db, principal.id, query.limit + 1, after);
    const page = rows.slice(0, query.limit);
    return {
      items: page.map(notificationView),
      nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1]!) : null,
    };
  }

  /** Marks one of the caller's own notifications read (again: no change); another's is 404. */
  async markRead(actor: Actor, id: string): Promise<NotificationView> {
    const principal = actor.principal;
    if (!principal) throw notFound(`notification "${id}"`); // notifications belong to principals
    return this.db.transaction(async (tx) => {
      const marked = await markPortalNotificationRead(tx, principal.id, id, this.clock.now());
      if (!marked) throw notFound(`notification "${id}"`);
      if (marked.changed)
        await appendAudit(tx, this.clock, [
          { ...actor.audit, action: "notification.read", target: `notification:${id}` },
        ]);
      return notificationView(marked.row);
    });
  }
}
