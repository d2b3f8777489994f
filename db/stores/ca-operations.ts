import type { Queryable } from "../database.js";

export type CaOperationKind = "create-issuing-ca" | "rollover-issuing-ca" | "retire-issuer";
export type CaOperationStatus = "pending" | "executing" | "executed" | "rejected" | "failed";

export interface CaOperationRow {
  id: string;
  kind: CaOperationKind;
  parameters: Record<string, unknown>;
  status: CaOperationStatus;
  requested_by: string;
  requested_at: Date;
  expires_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  reason: string | null;
  result: Record<string, unknown> | null;
}

const COLUMNS =
  "id, kind, parameters, status, requested_by, requested_at, expires_at, decided_by, decided_at, reason, result";

export async function insertCaOperation(
  tx: Queryable,
  row: Pick<CaOperationRow, "id" | "kind" | "parameters" | "requested_by" | "requested_at" | "expires_at">,
): Promise<CaOperationRow> {
  const { rows } = await tx.query<CaOperationRow>(
    `INSERT INTO ca_operations (id, kind, parameters, requested_by, requested_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [row.id, row.kind, JSON.stringify(row.parameters), row.requested_by, row.requested_at, row.expires_at],
  );
  return rows[0]!;
}

/** The operation, locked for the rest of the transaction. */
export async function lockCaOperation(tx: Queryable, id: string): Promise<CaOperationRow | undefined> {
  const { rows } = await tx.query<CaOperationRow>(
    `SELECT ${COLUMNS} FROM ca_operations WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0];
}

export async function decideCaOperation(
  tx: Queryable,
  id: string,
  decision: {
    status: CaOperationStatus;
    decidedBy?: string;
    decidedAt?: Date;
    reason?: string | null;
    result?: Record<string, unknown>;
  },
): Promise<CaOperationRow> {
  const { rows } = await tx.query<CaOperationRow>(
    `UPDATE ca_operations SET status = $2, decided_by = COALESCE($3, decided_by), decided_at = COALESCE($4, decided_at),
       reason = COALESCE($5, reason), result = COALESCE($6, result)
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [
      id,
      decision.status,
      decision.decidedBy ?? null,
      decision.decidedAt ?? null,
      decision.reason ?? null,
      decision.result ? JSON.stringify(decision.result) : null,
    ],
  );
  return rows[0]!;
}

export async function listCaOperations(db: Queryable, status?: CaOperationStatus): Promise<CaOperationRow[]> {
  const { rows } = await db.query<CaOperationRow>(
    `SELECT ${COLUMNS} FROM ca_operations WHERE $1::text IS NULL OR status = $1 ORDER BY requested_at DESC LIMIT 500`,
    [status ?? null],
  );
  return rows;
}
