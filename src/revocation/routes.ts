/** HTTP routes to revoke, hold and release certificates. */
import type { FastifyInstance } from "fastify";
import { actorOf } from "../auth/principal.js";
import { certificateSummary } from "../ca/representation.js";
import { normalizeSerial } from "../ca/serial.js";
import type { ServiceContext } from "../context.js";
import { badRequest } from "../errors.js";
import { REVOCATION_REASONS, type RevocationReason } from "./reasons.js";

const params = { type: "object", properties: { serial: { type: "string", maxLength: 64 } } } as const;
const issuer = {
  type: "string",
  pattern: "^[a-z0-9][a-z0-9-]{0,62}$",
  description: "when the serial exists under several issuers",
} as const;

function serialOf(text: string): string {
  const serial = normalizeSerial(text);
  if (!serial) throw badRequest("serial-invalid", "the serial number must be hexadecimal, at most 20 octets");
  return serial;
}

export function revocationRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{
      Params: { serial: string };
      Body: { reason: RevocationReason; invalidityDate?: string; issuer?: string };
    }>(
      "/api/v1/certificates/:serial/revoke",
      {
        config: { permission: "certificate:revoke" },
        schema: {
          tags: ["revocation"],
          summary: "Revoke a certificate (RFC 5280 §5.3.1 reason); keyCompromise also blocklists its key",
          params,
          body: {
            type: "object",
            additionalProperties: false,
            required: ["reason"],
            properties: {
              reason: { enum: REVOCATION_REASONS },
              invalidityDate: {
                type: "string",
                format: "date-time",
                description: "when the key is known or suspected to have been compromised (RFC 5280 §5.3.2)",
              },
              issuer,
            },
          },
        },
      },
      async (request) => {
        const { reason, invalidityDate } = request.body;
        const row = await context.revocations.revoke(
          actorOf(request.principal!, request.id),
          { serial: serialOf(request.params.serial), issuer: request.body.issuer },
          reason,
          invalidityDate ? new Date(invalidityDate) : undefined,
        );
        return certificateSummary(row);
      },
    );

    for (const operation of ["hold", "release"] as const)
      app.post<{ Params: { serial: string }; Body: { issuer?: string } | undefined }>(
        `/api/v1/certificates/:serial/${operation}`,
        {
          config: { permission: "certificate:revoke" },
          schema: {
            tags: ["revocation"],
            summary:
              operation === "hold"
                ? "Suspend a certificate (certificateHold, GM/T 0034)"
                : "Release a held certificate: it is good again, and delta CRLs carry removeFromCRL",
            params,
            body: { type: "object", additionalProperties: false, properties: { issuer } },
          },
        },
        async (request) => {
          const ref = { serial: serialOf(request.params.serial), issuer: request.body?.issuer };
          const actor = actorOf(request.principal!, request.id);
          const row =
            operation === "hold"
              ? await context.revocations.hold(actor, ref)
              : await context.revocations.release(actor, ref);
          return certificateSummary(row);
        },
      );
  };
}
