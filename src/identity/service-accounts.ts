/** Service accounts (business systems, operators' tools) and their API keys. */
import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import type { Database } from "../../db/database.js";
import {
  disablePrincipal,
  getPrincipal,
  insertApiKey,
  insertPrincipal,
  listApiKeys,
  type PrincipalRow,
  type Role,
  revokeApiKey,
} from "../../db/stores/principals.js";
import { appendAudit } from "../audit/log.js";
import { requireOrgScope } from "../auth/policy.js";
import { type Actor, type Principal, principalFromRow } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest, conflict, notFound } from "../errors.js";
import { dnsNameProblem } from "../pki/general-name.js";
import { nameTextProblem } from "../pki/name.js";
import { newApiKey } from "./api-keys.js";
import type { OrgUnitDirectory } from "./org-units.js";

export interface CreateServiceAccount {
  readonly name: string;
  readonly role: Role;
  readonly orgUnit: string | null;
  readonly dnsNames?: readonly string[];
  readonly keyExpiresAt?: Date | null;
}

export interface CreatedServiceAccount {
  readonly principal: Principal;
  readonly apiKey: { id: string; token: string; expiresAt: Date | null };
}

export class ServiceAccounts {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly orgUnits: OrgUnitDirectory,
  ) {}

  async create(actor: Actor, request: CreateServiceAccount): Promise<CreatedServiceAccount> {
    if (request.role === "ra-operator" && !request.orgUnit)
      throw badRequest(
        "org-unit-required",
        "an ra-operator must be given the org unit whose subtree it serves",
      );
    const nameProblem = nameTextProblem(request.name);
    if (nameProblem) throw badRequest("name-invalid", `the account name ${nameProblem}`);
    if (request.orgUnit) await this.orgUnits.require(request.orgUnit);
    if (actor.principal) requireOrgScope(actor.principal, request.orgUnit);
    const dnsNames = (request.dnsNames ?? []).map((name) => name.toLowerCase());
    for (const name of dnsNames) {
      const problem = isIP(name) ? undefined : dnsNameProblem(name, true);
      if (problem) throw badRequest("dns-name-invalid", `"${name}" ${problem}`);
    }
    const key = newApiKey();
    const expiresAt = request.keyExpiresAt ?? null;
    const row = await this.db.transaction(async (tx) => {
      const created = await insertPrincipal(tx, {
        id: randomUUID(),
        kind: "service-account",
        name: request.name,
        roles: [request.role],
        org_unit: request.orgUnit,
        dns_names: dnsNames,
      });
      await insertApiKey(tx, { id: key.id, principalId: created.id, secretHash: key.secretHash, expiresAt });
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "service-account.create",
          target: `principal:${created.id}`,
          details: { name: request.name, role: request.role, orgUnit: request.orgUnit, apiKey: key.id },
        },
      ]);
      return created;
    });
    return { principal: principalFromRow(row), apiKey: { id: key.id, token: key.token, expiresAt } };
  }

  async get(id: string): Promise<PrincipalRow> {
    const row = await getPrincipal(this.db, id);
    if (!row) throw notFound(`principal "${id}"`);
    return row;
  }

  async createApiKey(actor: Actor, principalId: string, expiresAt: Date | null) {
    const principal = await this.get(principalId);
    if (principal.disabled_at) throw conflict("principal-disabled", `principal "${principalId}" is disabled`);
    const key = newApiKey();
    await this.db.transaction(async (tx) => {
      await insertApiKey(tx, { id: key.id, principalId, secretHash: key.secretHash, expiresAt });
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "api-key.create",
          target: `principal:${principalId}`,
          details: { apiKey: key.id },
        },
      ]);
    });
    return { id: key.id, token: key.token, expiresAt };
  }

  async listApiKeys(principalId: string) {
    await this.get(principalId);
    return listApiKeys(this.db, principalId);
  }

  async revokeApiKey(actor: Actor, principalId: string, keyId: string): Promise<void> {
    const keys = await this.listApiKeys(principalId);
    if (!keys.some((key) => key.id === keyId))
      throw notFound(`API key "${keyId}" of principal "${principalId}"`);
    await this.db.transaction(async (tx) => {
      if (!(await revokeApiKey(tx, keyId, this.clock.now())))
        throw conflict("api-key-revoked", `API key "${keyId}" is revoked already`);
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "api-key.revoke",
          target: `principal:${principalId}`,
          details: { apiKey: keyId },
        },
      ]);
    });
  }

  async disable(actor: Actor, principalId: string): Promise<void> {
    await this.get(principalId);
    await this.db.transaction(async (tx) => {
      if (!(await disablePrincipal(tx, principalId, this.clock.now())))
        throw conflict("principal-disabled", `principal "${principalId}" is disabled already`);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "principal.disable", target: `principal:${principalId}` },
      ]);
    });
  }
}
