/** HTTP routes for dual-controlled CA key operations. */
import type { FastifyInstance } from "fastify";
import type { CaOperationRow } from "../../../db/stores/ca-operations.js";
import { KEY_ALGORITHMS } from "../../../hsm-adapters/key-store.js";
import { actorOf } from "../../auth/principal.js";
import type { ServiceContext } from "../../context.js";

const issuerId = { type: "string", pattern: "^[a-z0-9][a-z0-9-]{0,62}$" } as const;
const commonName = { type: "string", minLength: 1, maxLength: 64 } as const;
const algorithm = { enum: KEY_ALGORITHMS } as const;
const validityYears = { type: "integer", minimum: 1, maximum: 20 } as const;

const requestSchema = {
  type: "object",
  required: ["kind"],
  discriminator: { propertyName: "kind" },
  oneOf: [
    {
      type: "object",
      additionalProperties: false,
      required: ["kind", "parameters"],
      properties: {
        kind: { const: "create-issuing-ca" },
        parameters: {
          type: "object",
          additionalProperties: false,
          required: ["id", "commonName", "parent", "algorithm", "validityYears"],
          properties: { id: issuerId, commonName, parent: issuerId, algorithm, validityYears },
        },
      },
    },
    {
      type: "object",
      additionalProperties: false,
      required: ["kind", "parameters"],
      properties: {
        kind: { const: "rollover-issuing-ca" },
        parameters: {
          type: "object",
          additionalProperties: false,
          required: ["issuer", "newId", "commonName"],
          properties: { issuer: issuerId, newId: issuerId, commonName, algorithm, validityYears },
        },
      },
    },
    {
      type: "object",
      additionalProperties: false,
      required: ["kind", "parameters"],
      properties: {
        kind: { const: "retire-issuer" },
        parameters: {
          type: "object",
          additionalProperties: false,
          required: ["issuer"],
          properties: { issuer: issuerId },
        },
      },
    },
  ],
} as const;

const view = (row: CaOperationRow) => ({
  id: row.id,
  kind: row.kind,
  parameters: row.parameters,
  status: row.status,
  requestedBy: row.requested_by,
  requestedAt: row.requested_at.toISOString(),
  expiresAt: row.expires_at.toISOString(),
  decidedBy: row.decided_by,
  decidedAt: row.decided_at?.toISOString() ?? null,
  reason: row.reason,
  result: row.result,
});

const idParams = { type: "object", properties: { id: { type: "string", format: "uuid" } } } as const;

export function caOperationRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get(
      "/api/v1/ca-operations",
      {
        config: { permission: "ca:read" },
        schema: { tags: ["ca operations"], summary: "CA key operations and their decisions" },
      },
      async () => ({ items: (await context.dualControl.list()).map(view) }),
    );

    app.post<{ Body: { kind: CaOperationRow["kind"]; parameters: Record<string, unknown> } }>(
      "/api/v1/ca-operations",
      {
        config: { permission: "ca:manage" },
        schema: {
          tags: ["ca operations"],
          summary:
            "Request a CA key operation; it runs when another security admin approves it (dual control)",
          body: requestSchema,
        },
      },
      async (request, reply) => {
        const row = await context.dualControl.request(
          actorOf(request.principal!, request.id),
          request.body.kind,
          request.body.parameters,
        );
        return reply.code(202).send(view(row));
      },
    );

    app.post<{ Params: { id: string } }>(
      "/api/v1/ca-operations/:id/approve",
      {
        config: { permission: "ca:manage" },
        schema: {
          tags: ["ca operations"],
          summary: "Approve and run a CA key operation (by a second security admin)",
          params: idParams,
        },
      },
      async (request) =>
        view(await context.dualControl.approve(actorOf(request.principal!, request.id), request.params.id)),
    );

    app.post<{ Params: { id: string }; Body: { reason: string } }>(
      "/api/v1/ca-operations/:id/reject",
      {
        config: { permission: "ca:manage" },
        schema: {
          tags: ["ca operations"],
          summary: "Reject a CA key operation",
          params: idParams,
          body: {
            type: "object",
            additionalProperties: false,
            required: ["reason"],
            properties: { reason: { type: "string", minLength: 1, maxLength: 500 } },
          },
        },
      },
      async (request) =>
        view(
          await context.dualControl.reject(
            actorOf(request.principal!, request.id),
            request.params.id,
            request.body.reason,
          ),
        ),
    );
  };
}
