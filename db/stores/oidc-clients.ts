import type { Queryable } from "../database.js";

export type ClientAuthMethod = "client_secret_basic" | "private_key_jwt" | "tls_client_auth";
export type GrantType = "authorization_code" | "refresh_token" | "client_credentials";

export interface ClientRow {
  id: string;
  name: string;
  auth_method: ClientAuthMethod;
  secret_hash: Buffer | null;
  jwks: { keys: Record<string, unknown>[] } | null;
  tls_subject_dn: string | null;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: GrantType[];
  scopes: string[];
  audience: string[];
  first_party: boolean;
  backchannel_logout_uri: string | null;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  "id, name, auth_method, secret_hash, jwks, tls_subject_dn, redirect_uris, post_logout_redirect_uris, grant_types, scopes, audience, first_party, backchannel_logout_uri, disabled_at, created_at, updated_at";

type Registration = Omit<ClientRow, "secret_hash" | "disabled_at" | "created_at" | "updated_at">;

/** $2…$12 of both statements below: the registration's columns after the id, JSON where jsonb. */
const registrationValues = (client: Registration): unknown[] => [
  client.name,
  client.auth_method,
  client.jwks === null ? null : JSON.stringify(client.jwks),
  client.tls_subject_dn,
  JSON.stringify(client.redirect_uris),
  JSON.stringify(client.post_logout_redirect_uris),
  JSON.stringify(client.grant_types),
  JSON.stringify(client.scopes),
  JSON.stringify(client.audience),
  client.first_party,
  client.backchannel_logout_uri,
];

export async function insertClient(
  tx: Queryable,
  client: Registration & Pick<ClientRow, "secret_hash">,
): Promise<ClientRow> {
  const { rows } = await tx.query<ClientRow>(
    `INSERT INTO oidc_clients (id, name, auth_method, jwks, tls_subject_dn, redirect_uris,
       post_logout_redirect_uris, grant_types, scopes, audience, first_party, backchannel_logout_uri, secret_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`,
    [client.id, ...registrationValues(client), client.secret_hash],
  );
  return rows[0]!;
}

export async function getClient(db: Queryable, id: string): Promise<ClientRow | undefined> {
  const { rows } = await db.query<ClientRow>(`SELECT ${COLUMNS} FROM oidc_clients WHERE id = $1`, [id]);
  return rows[0];
}

export async function listClients(db: Queryable): Promise<ClientRow[]> {
  const { rows } = await db.query<ClientRow>(`SELECT ${COLUMNS} FROM oidc_clients ORDER BY created_at, id`);
  return rows;
}

export async function disableClient(tx: Queryable, id: string, at: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    "UPDATE oidc_clients SET disabled_at = $2, updated_at = $2 WHERE id = $1 AND disabled_at IS NULL",
    [id, at],
  );
  return rowCount === 1;
}

export async function setClientSecret(tx: Queryable, id: string, hash: Buffer, at: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    "UPDATE oidc_clients SET secret_hash = $2, updated_at = $3 WHERE id = $1 AND auth_method = 'client_secret_basic'",
    [id, hash, at],
  );
  return rowCount === 1;
}

/** Replaces a client's registration metadata (not its id, secret or disabled state). */
export async function updateClientRegistration(tx: Queryable, client: Registration, at: Date): Promise<void> {
  await tx.query(
    `UPDATE oidc_clients SET name = $2, auth_method = $3, jwks = $4, tls_subject_dn = $5, redirect_uris = $6,
       post_logout_redirect_uris = $7, grant_types = $8, scopes = $9, audience = $10, first_party = $11,
       backchannel_logout_uri = $12, updated_at = $13
     WHERE id = $1`,
    [client.id, ...registrationValues(client), at],
  );
}

/** Serializes registrations of one client id across nodes, until the transaction ends. */
export async function lockClientId(tx: Queryable, id: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(7420007, hashtext($1))", [id]);
}
