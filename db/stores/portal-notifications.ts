/** SQL for the portal's notifications to a principal (not PostgreSQL NOTIFY: see notifications.ts). */
import type { Queryable } from "../database.js";

export type PortalNotificationKind =
  | "enrollment.approved"
  | "enrollment.issued"
  | "enrollment.rejected"
  | "enrollment.expired";

export interface PortalNotificationRow {
  id: string;
  principal_id: string;
  kind: PortalNotificationKind;
  enrollment_id: string | null;
  message: string;
  created_at: Date;
  read_at: Date | null;
}

const COLUMNS = "id, principal_id, kind, enrollment_id, message, created_at, read_at";

export async function insertPortalNotifications(
  tx: Queryable,
  rows: readonly Omit<PortalNotificationRow, "read_at">[],
): Promise<void> {
  for (const row of rows)
    await tx.query(
      `INSERT INTO portal_notifications (id, principal_id, kind, enrollment_id, message, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [row.id, row.principal_id, row.kind, row.enrollment_id, row.message, row.created_at],
    );
}

/** Unread first, then newest first; keyset-paginated on (read, created_at, id). */
export async function listPortalNotifications(
  db: Queryable,
  principalId: string,
  limit: number,
  after?: { read: boolean; createdAt: Date; id: string },
): Promise<PortalNotificationRow[]> {
  const params: unknown[] = [principalId, limit];
  let keyset = "";
  if (after) {
    params.push(after.read, after.createdAt, after.id);
    // (read ASC, created_at DESC, id DESC): rows after the cursor in that order.
    keyset = `AND ((read_at IS NOT NULL) > $3 OR ((read_at IS NOT NULL) = $3 AND (created_at, id) < ($4, $5)))`;
  }
  const { rows } = await db.query<PortalNotificationRow>(
    `SELECT ${COLUMNS} FROM portal_notifications WHERE principal_id = $1 ${keyset}
     ORDER BY (read_at IS NOT NULL), created_at DESC, id DESC LIMIT $2`,
    params,
  );
  return rows;
}

/** Marks one of the principal's notifications read; answers the row, or undefined when it has none of that id. */
export async function markPortalNotificationRead(
  tx: Queryable,
  principalId: string,
  id: string,
  at: Date,
): Promise<{ row: PortalNotificationRow; changed: boolean } | undefined> {
  const { rows } = await tx.query<PortalNotificationRow>(
    `SELECT ${COLUMNS} FROM portal_notifications WHERE id = $1 AND principal_id = $2 FOR UPDATE`,
    [id, principalId],
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.read_at) return { row, changed: false };
  await tx.query("UPDATE portal_notifications SET read_at = $2 WHERE id = $1", [id, at]);
  return { row: { ...row, read_at: at }, changed: true };
}
