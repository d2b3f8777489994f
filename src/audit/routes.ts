/** HTTP routes for reading the audit log and verifying its chain. */
import type { FastifyInstance } from "fastify";
import { listRecords } from "../../db/stores/audit.js";
import type { ServiceContext } from "../context.js";
import { verifyAuditChain } from "./log.js";

export function auditRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get<{
      Querystring: {
        after?: number;
        limit: number;
        actor?: string;
        action?: string;
        target?: string;
        since?: string;
        until?: string;
      };
    }>(
      "/api/v1/audit",
      {
        config: { permission: "audit:read" },
        schema: {
          tags: ["audit"],
          summary: "Audit records in chain order, filtered, paginated by sequence number",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              after: {
                type: "integer",
                minimum: 0,
                description: "return records after this sequence number",
              },
              limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
              actor: { type: "string", maxLength: 200 },
              action: { type: "string", maxLength: 100 },
              target: { type: "string", maxLength: 300 },
              since: { type: "string", format: "date-time" },
              until: { type: "string", format: "date-time" },
            },
          },
        },
      },
      async (request) => {
        const query = request.query;
        // Everything committed is chained first: a caller reading right after an action sees it, with its seq.
        await context.auditSealer.seal();
        const rows = await listRecords(context.db, {
          afterSeq: query.after,
          limit: query.limit,
          actor: query.actor,
          action: query.action,
          target: query.target,
          since: query.since ? new Date(query.since) : undefined,
          until: query.until ? new Date(query.until) : undefined,
        });
        return {
          items: rows.map((row) => ({
            seq: row.seq,
            at: row.at.toISOString(),
            actor: row.actor,
            action: row.action,
            target: row.target,
            outcome: row.outcome,
            requestId: row.request_id,
            details: row.details,
            prevHash: row.prev_hash.toString("hex"),
            hash: row.hash.toString("hex"),
          })),
          next: rows.length === query.limit ? rows[rows.length - 1]!.seq : null,
        };
      },
    );

    app.get(
      "/api/v1/audit/verify",
      {
        config: { permission: "audit:read" },
        schema: { tags: ["audit"], summary: "Verify the whole hash chain" },
      },
      async () => verifyAuditChain(context.db, { sealer: context.auditSealer }),
    );
  };
}
