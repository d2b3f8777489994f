/** HTTP routes for the caller itself, org units, service accounts and their API keys. */
import type { FastifyInstance } from "fastify";
import type { OrgUnitLevel } from "../../db/stores/org-units.js";
import { listPrincipals, type PrincipalRow, type Role } from "../../db/stores/principals.js";
import { actorOf, ROLES } from "../auth/principal.js";
import type { ServiceContext } from "../context.js";
import { ORG_UNIT_LEVELS } from "./org-units.js";

const idParams = {
  type: "object",
  properties: { id: { type: "string", format: "uuid" } },
} as const;

const accountView = (row: PrincipalRow) => ({
  id: row.id,
  kind: row.kind,
  name: row.name,
  roles: row.roles,
  orgUnit: row.org_unit,
  dnsNames: row.dns_names,
  disabledAt: row.disabled_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
});

export function identityRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get(
      "/api/v1/me",
      {
        config: { permission: "self:read" },
        schema: { tags: ["identity"], summary: "The calling principal" },
      },
      async (request) => request.principal,
    );

    app.get(
      "/api/v1/org-units",
      {
        config: { permission: "org-unit:read" },
        schema: { tags: ["identity"], summary: "The org-unit tree" },
      },
      async () => {
        await context.orgUnits.reload();
        return {
          items: context.orgUnits.list().map((unit) => ({
            path: unit.path,
            parent: unit.parent_path,
            name: unit.name,
            level: unit.level,
          })),
        };
      },
    );

    app.post<{ Body: { path: string; name: string; level: OrgUnitLevel } }>(
      "/api/v1/org-units",
      {
        config: { permission: "org-unit:manage" },
        schema: {
          tags: ["identity"],
          summary: "Create an org unit below an existing one",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["path", "name", "level"],
            properties: {
              path: { type: "string", minLength: 1, maxLength: 330, description: 'e.g. "gov/gz/tianhe"' },
              name: { type: "string", minLength: 1, maxLength: 200 },
              level: { enum: ORG_UNIT_LEVELS },
            },
          },
        },
      },
      async (request, reply) => {
        const unit = await context.orgUnits.create(actorOf(request.principal!, request.id), request.body);
        return reply
          .code(201)
          .send({ path: unit.path, parent: unit.parent_path, name: unit.name, level: unit.level });
      },
    );

    app.get<{ Querystring: { orgUnit?: string } }>(
      "/api/v1/service-accounts",
      {
        config: { permission: "principal:read" },
        schema: {
          tags: ["identity"],
          summary: "Service accounts and users, optionally below an org unit",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: { orgUnit: { type: "string", maxLength: 330 } },
          },
        },
      },
      async (request) => ({
        items: (await listPrincipals(context.db, request.query.orgUnit)).map(accountView),
      }),
    );

    app.post<{
      Body: { name: string; role: Role; orgUnit?: string; dnsNames?: string[]; keyExpiresAt?: string };
    }>(
      "/api/v1/service-accounts",
      {
        config: { permission: "principal:manage" },
        schema: {
          tags: ["identity"],
          summary: "Create a service account and its first API key (shown once)",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["name", "role"],
            properties: {
              name: { type: "string", minLength: 1, maxLength: 64 },
              role: { enum: ROLES },
              orgUnit: { type: "string", minLength: 1, maxLength: 330 },
              dnsNames: {
                type: "array",
                maxItems: 100,
                items: { type: "string", minLength: 1, maxLength: 253 },
              },
              keyExpiresAt: { type: "string", format: "date-time" },
            },
          },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const created = await context.accounts.create(actorOf(request.principal!, request.id), {
          name: body.name,
          role: body.role,
          orgUnit: body.orgUnit ?? null,
          dnsNames: body.dnsNames ?? [],
          keyExpiresAt: body.keyExpiresAt ? new Date(body.keyExpiresAt) : null,
        });
        reply.header("cache-control", "no-store");
        return reply.code(201).send({
          account: accountView(await context.accounts.get(created.principal.id)),
          apiKey: { ...created.apiKey, expiresAt: created.apiKey.expiresAt?.toISOString() ?? null },
        });
      },
    );

    app.get<{ Params: { id: string } }>(
      "/api/v1/service-accounts/:id",
      { config: { permission: "principal:read" }, schema: { tags: ["identity"], params: idParams } },
      async (request) => ({
        ...accountView(await context.accounts.get(request.params.id)),
        apiKeys: (await context.accounts.listApiKeys(request.params.id)).map((key) => ({
          id: key.id,
          createdAt: key.created_at.toISOString(),
          expiresAt: key.expires_at?.toISOString() ?? null,
          revokedAt: key.revoked_at?.toISOString() ?? null,
        })),
      }),
    );

    app.post<{ Params: { id: string } }>(
      "/api/v1/service-accounts/:id/disable",
      { config: { permission: "principal:manage" }, schema: { tags: ["identity"], params: idParams } },
      async (request, reply) => {
        await context.accounts.disable(actorOf(request.principal!, request.id), request.params.id);
        context.authenticator.forget();
        return reply.code(204).send();
      },
    );

    app.post<{ Params: { id: string }; Body: { expiresAt?: string } | undefined }>(
      "/api/v1/service-accounts/:id/api-keys",
      {
        config: { permission: "principal:manage" },
        schema: {
          tags: ["identity"],
          summary: "Create another API key for the account (shown once)",
          params: idParams,
          body: {
            type: "object",
            additionalProperties: false,
            properties: { expiresAt: { type: "string", format: "date-time" } },
          },
        },
      },
      async (request, reply) => {
        const expiresAt = request.body?.expiresAt ? new Date(request.body.expiresAt) : null;
        const key = await context.accounts.createApiKey(
          actorOf(request.principal!, request.id),
          request.params.id,
          expiresAt,
        );
        reply.header("cache-control", "no-store");
        return reply.code(201).send({ ...key, expiresAt: key.expiresAt?.toISOString() ?? null });
      },
    );

    app.delete<{ Params: { id: string; keyId: string } }>(
      "/api/v1/service-accounts/:id/api-keys/:keyId",
      {
        config: { permission: "principal:manage" },
        schema: {
          tags: ["identity"],
          summary: "Revoke an API key",
          params: {
            type: "object",
            properties: {
              id: { type: "string", format: "uuid" },
              keyId: { type: "string", pattern: "^[a-z2-7]{16}$" },
            },
          },
        },
      },
      async (request, reply) => {
        await context.accounts.revokeApiKey(
          actorOf(request.principal!, request.id),
          request.params.id,
          request.params.keyId,
        );
        context.authenticator.forget();
        return reply.code(204).send();
      },
    );
  };
}
