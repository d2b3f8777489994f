/**
 * The relying parties and resource servers an administrator registered (OIDC Dynamic
 * Registration metadata names, without dynamic registration). Client rows are cached per node
 * for a few seconds: the token and introspection endpoints authenticate a client on every
 * request and must not read the database each time; disabling a client takes effect on
 * every node within CLIENT_CACHE_MS (at once on the node that disabled it).
 */
import { randomBytes } from "node:crypto";
import { createLocalJWKSet, type JSONWebKeySet } from "jose";
import type { Database, Queryable } from "../../db/database.js";
import {
  type ClientAuthMethod,
  type ClientRow,
  disableClient,
  type GrantType,
  getClient,
  insertClient,
  listClients,
  lockClientId,
  updateClientRegistration,
} from "../../db/stores/oidc-clients.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest, conflict, notFound } from "../errors.js";
import { redirectUriProblem } from "./redirect-uri.js";
import { SCOPES } from "./scopes.js";
import { hashSecret, newSecret } from "./secrets.js";

const CLIENT_CACHE_MS = 5000;
export const CLIENT_ID = /^[a-z0-9][a-z0-9-]{2,63}$/;

export interface Client {
  readonly id: string;
  readonly name: string;
  readonly authMethod: ClientAuthMethod;
  readonly secretHash: Buffer | null;
  readonly jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  readonly tlsSubjectDn: string | null;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly grantTypes: readonly GrantType[];
  readonly scopes: readonly string[];
  readonly audience: readonly string[];
  readonly firstParty: boolean;
  readonly backchannelLogoutUri: string | null;
  readonly disabled: boolean;
  readonly row: ClientRow;
}

export interface NewClient {
  readonly id?: string | undefined;
  readonly name: string;
  readonly authMethod: ClientAuthMethod;
  readonly jwks?: JSONWebKeySet | undefined;
  readonly tlsSubjectDn?: string | undefined;
  readonly redirectUris?: readonly string[] | undefined;
  readonly postLogoutRedirectUris?: readonly string[] | undefined;
  readonly grantTypes: readonly GrantType[];
  readonly scopes?: readonly string[] | undefined;
  readonly audience?: readonly string[] | undefined;
  readonly firstParty?: boolean | undefined;
  readonly backchannelLogoutUri?: string | undefined;
}

export const toClient = (row: ClientRow): Client => ({
  id: row.id,
  name: row.name,
  authMethod: row.auth_method,
  secretHash: row.secret_hash,
  jwks: row.jwks ? createLocalJWKSet(row.jwks as JSONWebKeySet) : undefined,
  tlsSubjectDn: row.tls_subject_dn,
  redirectUris: row.redirect_uris,
  postLogoutRedirectUris: row.post_logout_redirect_uris,
  grantTypes: row.grant_types,
  scopes: row.scopes,
  audience: row.audience,
  firstParty: row.first_party,
  backchannelLogoutUri: row.backchannel_logout_uri,
  disabled: row.disabled_at !== null,
  row,
});

export class ClientRegistry {
  private readonly cache = new Map<string, { client: Client | undefined; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** A client by id (cached); undefined when unknown. Disabled clients are returned, marked. */
  async get(id: string): Promise<Client | undefined> {
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && cached.until > now) return cached.client;
    if (!CLIENT_ID.test(id)) return undefined;
    const row = await getClient(this.db, id);
    const client = row ? toClient(row) : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { client, until: now + CLIENT_CACHE_MS });
    return client;
  }

  async list(): Promise<Client[]> {
    return (await listClients(this.db)).map(toClient);
  }

  /** Registers a client; a client_secret_basic client's secret is returned once and stored hashed. */
  async create(actor: Actor, input: NewClient): Promise<{ client: Client; secret?: string }> {
    const row = validate(input);
    const secret = input.authMethod === "client_secret_basic" ? newSecret() : undefined;
    const created = await this.db.transaction(async (tx) => {
      if (await getClient(tx, row.id)) throw conflict("client-exists", `client "${row.id}" already exists`);
      const inserted = await insertClient(tx, {
        ...row,
        secret_hash: secret ? hashSecret("client-secret", secret) : null,
      });
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "client.create",
          target: `client:${row.id}`,
          details: {
            name: row.name,
            authMethod: row.auth_method,
            grantTypes: row.grant_types,
            redirectUris: row.redirect_uris,
          },
        },
      ]);
      return inserted;
    });
    this.cache.delete(row.id);
    return { client: toClient(created), ...(secret ? { secret } : {}) };
  }

  /**
   * A client the service registers for itself (the portal): created when missing, its
   * registration replaced when it differs from `input` (say CA_PUBLIC_URL changed). A client an
   * administrator disabled stays disabled. Several nodes may call this at once.
   */
  async ensure(actor: Actor, input: NewClient & { id: string }): Promise<void> {
    const wanted = validate(input);
    await this.db.transaction(async (tx) => {
      const existing = await getClient(tx, wanted.id);
      if (existing && sameRegistration(existing, wanted)) return;
      if (existing) await updateClientRegistration(tx, wanted, this.clock.now());
      else if (!(await insertClientIfAbsent(tx, wanted))) return; // another node registered it
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: existing ? "client.update" : "client.create",
          target: `client:${wanted.id}`,
          details: { name: wanted.name, authMethod: wanted.auth_method, redirectUris: wanted.redirect_uris },
        },
      ]);
    });
    this.cache.delete(wanted.id);
  }

  async disable(actor: Actor, id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await getClient(tx, id))) throw notFound(`client "${id}"`);
      if (!(await disableClient(tx, id, this.clock.now())))
        throw conflict("client-disabled", `client "${id}" is already disabled`);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "client.disable", target: `client:${id}` },
      ]);
    });
    this.cache.delete(id);
  }
}

type Registration = ReturnType<typeof validate>;

const REGISTRATION_FIELDS = [
  "name",
  "auth_method",
  "jwks",
  "tls_subject_dn",
  "redirect_uris",
  "post_logout_redirect_uris",
  "grant_types",
  "scopes",
  "audience",
  "first_party",
  "backchannel_logout_uri",
] as const satisfies readonly (keyof Registration)[];

/** JSON with object keys sorted: jsonb columns come back with their keys reordered. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

const sameRegistration = (row: ClientRow, wanted: Registration): boolean =>
  REGISTRATION_FIELDS.every((field) => canonical(row[field]) === canonical(wanted[field]));

async function insertClientIfAbsent(tx: Queryable, registration: Registration): Promise<boolean> {
  await lockClientId(tx, registration.id);
  if (await getClient(tx, registration.id)) return false;
  await insertClient(tx, { ...registration, secret_hash: null });
  return true;
}

function validate(
  input: NewClient,
): Omit<ClientRow, "secret_hash" | "disabled_at" | "created_at" | "updated_at"> {
  const id = input.id ?? `c-${randomBytes(8).toString("hex")}`;
  if (!CLIENT_ID.test(id)) throw badRequest("client-invalid", `client id "${id}" must match ${CLIENT_ID}`);
  const grantTypes = [...new Set(input.grantTypes)];
  if (grantTypes.length === 0) throw badRequest("client-invalid", "a client needs at least one grant type");
  if (grantTypes.includes("refresh_token") && !grantTypes.includes("authorization_code"))
    throw badRequest("client-invalid", "refresh_token needs the authorization_code grant");
  const redirectUris = [...new Set(input.redirectUris ?? [])];
  if (grantTypes.includes("authorization_code") && redirectUris.length === 0)
    throw badRequest("client-invalid", "an authorization_code client needs at least one redirect URI");
  for (const uri of [...redirectUris, ...(input.postLogoutRedirectUris ?? [])]) {
    const problem = redirectUriProblem(uri);
    if (problem) throw badRequest("client-invalid", `redirect URI "${uri}" ${problem}`);
  }
  const scopes = [...new Set(input.scopes ?? (grantTypes.includes("authorization_code") ? SCOPES : []))];
  for (const scope of scopes)
    if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(scope))
      // RFC 6749 §3.3 scope-token
      throw badRequest("client-invalid", `scope "${scope}" is not an RFC 6749 scope token`);
  if (input.authMethod === "private_key_jwt") {
    const keys = input.jwks?.keys;
    if (!Array.isArray(keys) || keys.length === 0)
      throw badRequest("client-invalid", "a private_key_jwt client needs a JWK Set with at least one key");
    for (const key of keys)
      if ("d" in key || "k" in key)
        throw badRequest("client-invalid", "the client's JWK Set must hold public keys only");
  }
  if (input.authMethod === "tls_client_auth" && !input.tlsSubjectDn)
    throw badRequest(
      "client-invalid",
      "a tls_client_auth client needs tls_client_auth_subject_dn (RFC 8705 §2.1.2)",
    );
  if (input.backchannelLogoutUri) {
    const problem = redirectUriProblem(input.backchannelLogoutUri);
    if (problem) throw badRequest("client-invalid", `backchannel_logout_uri ${problem}`);
  }
  return {
    id,
    name: input.name,
    auth_method: input.authMethod,
    jwks: input.authMethod === "private_key_jwt" ? (input.jwks as ClientRow["jwks"]) : null,
    tls_subject_dn: input.authMethod === "tls_client_auth" ? input.tlsSubjectDn! : null,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: [...new Set(input.postLogoutRedirectUris ?? [])],
    grant_types: grantTypes,
    scopes,
    audience: [...new Set(input.audience ?? [])],
    first_party: input.firstParty ?? false,
    backchannel_logout_uri: input.backchannelLogoutUri ?? null,
  };
}
