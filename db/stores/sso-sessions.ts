import type { Queryable } from "../database.js";

export interface SessionRow {
  id: string;
  secret_hash: Buffer;
  principal_id: string;
  auth_time: Date;
  amr: string[];
  acr: string;
  cert_issuer_id: string | null;
  cert_serial: string | null;
  expires_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
}

const COLUMNS =
  "id, secret_hash, principal_id, auth_time, amr, acr, cert_issuer_id, cert_serial, expires_at, ended_at, end_reason";

export async function insertSession(
  tx: Queryable,
  row: Omit<SessionRow, "ended_at" | "end_reason">,
): Promise<void> {
  await tx.query(
    `INSERT INTO sso_sessions (id, secret_hash, principal_id, auth_time, amr, acr, cert_issuer_id, cert_serial, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      row.id,
      row.secret_hash,
      row.principal_id,
      row.auth_time,
      JSON.stringify(row.amr),
      row.acr,
      row.cert_issuer_id,
      row.cert_serial,
      row.expires_at,
    ],
  );
}

export async function getSession(db: Queryable, id: string): Promise<SessionRow | undefined> {
  const { rows } = await db.query<SessionRow>(`SELECT ${COLUMNS} FROM sso_sessions WHERE id = $1`, [id]);
  return rows[0];
}

export type SessionSelector =
  | { readonly ids: readonly string[] }
  | { readonly principalId: string }
  | { readonly certificate: { readonly issuerId: string; readonly serial: string } };

/** Ends the live sessions selected; returns them (with the clients each signed in to). */
export async function endSessions(
  tx: Queryable,
  selector: SessionSelector,
  at: Date,
  reason: string,
): Promise<(SessionRow & { clients: string[] })[]> {
  const [where, params] =
    "ids" in selector
      ? ["s.id = ANY($3::text[])", [selector.ids]]
      : "principalId" in selector
        ? ["s.principal_id = $3", [selector.principalId]]
        : [
            "s.cert_issuer_id = $3 AND s.cert_serial = $4",
            [selector.certificate.issuerId, selector.certificate.serial],
          ];
  const { rows } = await tx.query<SessionRow & { clients: string[] }>(
    `UPDATE sso_sessions s SET ended_at = $1, end_reason = $2
     WHERE ${where} AND s.ended_at IS NULL
     RETURNING ${COLUMNS.split(", ")
       .map((column) => `s.${column}`)
       .join(", ")},
       COALESCE((SELECT json_agg(c.client_id) FROM sso_session_clients c WHERE c.session_id = s.id), '[]'::json) AS clients`,
    [at, reason, ...params],
  );
  return rows;
}

export async function addSessionClient(tx: Queryable, sessionId: string, clientId: string): Promise<void> {
  await tx.query(
    "INSERT INTO sso_session_clients (session_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    [sessionId, clientId],
  );
}

/** Sessions ended but not yet expired: their tokens must stay refused (the revocation cache). */
export async function endedSessionIds(db: Queryable, now: Date): Promise<{ id: string; expires_at: Date }[]> {
  const { rows } = await db.query<{ id: string; expires_at: Date }>(
    "SELECT id, expires_at FROM sso_sessions WHERE ended_at IS NOT NULL AND expires_at > $1",
    [now],
  );
  return rows;
}
