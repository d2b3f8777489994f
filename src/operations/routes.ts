/** HTTP route of the operations dashboard (the security admin's console page reads it). */
import type { FastifyInstance } from "fastify";
import type { ServiceContext } from "../context.js";

const problemResponse = { $ref: "problem#" } as const;
const instant = { type: "string", format: "date-time" } as const;
const count = { type: "integer", minimum: 0 } as const;

const statusFigures = {
  total: count,
  good: { ...count, description: "good and not expired" },
  onHold: { ...count, description: "on hold (certificateHold) and not expired" },
  revoked: { ...count, description: "revoked, expired or not" },
  expired: { ...count, description: "notAfter passed and not revoked" },
} as const;
const FIGURE_FIELDS = ["total", "good", "onHold", "revoked", "expired"] as const;

const crlSchema = {
  type: ["object", "null"],
  additionalProperties: false,
  required: ["number", "thisUpdate", "nextUpdate", "entries", "fresh"],
  properties: {
    number: { ...count, description: "cRLNumber (RFC 5280 §5.2.3)" },
    thisUpdate: instant,
    nextUpdate: instant,
    entries: count,
    fresh: { type: "boolean", description: "nextUpdate is in the future" },
  },
} as const;

const changes = { revocations: count, holds: count } as const;

export const DASHBOARD_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["generatedAt", "certificates", "expiringSoon", "revocationsToday", "crl", "ocsp", "keyStore"],
  properties: {
    generatedAt: instant,
    certificates: {
      type: "object",
      additionalProperties: false,
      required: ["byStatus", "byOrgUnit"],
      properties: {
        byStatus: {
          type: "object",
          additionalProperties: false,
          required: FIGURE_FIELDS,
          properties: statusFigures,
        },
        byOrgUnit: {
          type: "array",
          maxItems: 20,
          description: "the 20 org units with the most certificates, most first",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["orgUnit", ...FIGURE_FIELDS],
            properties: { orgUnit: { type: ["string", "null"] }, ...statusFigures },
          },
        },
      },
    },
    expiringSoon: {
      type: "object",
      additionalProperties: false,
      required: ["count", "windowDays", "from", "until"],
      description: "good certificates whose notAfter is in (from, until]: CA_EXPIRY_NOTICE_DAYS",
      properties: { count, windowDays: { type: "integer", minimum: 1 }, from: instant, until: instant },
    },
    revocationsToday: {
      type: "object",
      additionalProperties: false,
      required: ["timeZone", "since", "revocations", "holds", "last24Hours"],
      description: "revocations and holds since midnight in CA_TIME_ZONE, and in the last 24 hours",
      properties: {
        timeZone: { type: "string" },
        since: instant,
        ...changes,
        last24Hours: {
          type: "object",
          additionalProperties: false,
          required: ["since", "revocations", "holds"],
          properties: { since: instant, ...changes },
        },
      },
    },
    crl: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["issuer", "full", "delta"],
        properties: { issuer: { type: "string" }, full: crlSchema, delta: crlSchema },
      },
    },
    ocsp: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: [
          "issuer",
          "responses",
          "earliestNextUpdate",
          "expiringWithinMargin",
          "refreshMarginSeconds",
          "signer",
        ],
        properties: {
          issuer: { type: "string" },
          responses: {
            ...count,
            description: "pre-signed responses stored (one per certificate and CertID digest)",
          },
          earliestNextUpdate: { ...instant, type: ["string", "null"] },
          expiringWithinMargin: {
            ...count,
            description:
              "responses whose nextUpdate is within the refresh margin: due or overdue for re-signing",
          },
          refreshMarginSeconds: count,
          signer: {
            type: ["object", "null"],
            additionalProperties: false,
            required: ["serial", "notBefore", "notAfter", "valid"],
            description: "the delegated OCSP responder certificate (RFC 6960 §4.2.2.2) that signs",
            properties: {
              serial: { type: "string" },
              notBefore: instant,
              notAfter: instant,
              valid: { type: "boolean" },
            },
          },
        },
      },
    },
    keyStore: {
      type: "object",
      additionalProperties: false,
      required: ["kind", "ok", "latencyMs"],
      properties: {
        kind: { type: "string", description: "adapter: software or pkcs11" },
        ok: { type: "boolean" },
        latencyMs: { type: "number", minimum: 0 },
        error: { type: "string", description: "the key store error code when the probe failed" },
      },
    },
  },
} as const;

export function operationsRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get(
      "/api/v1/dashboard",
      {
        config: { permission: "dashboard:read" },
        schema: {
          tags: ["operations"],
          summary:
            "Operations dashboard: certificate counts, expiries, revocations today, CRL, OCSP, key store",
          querystring: { type: "object", additionalProperties: false, properties: {} },
          response: {
            200: DASHBOARD_SCHEMA,
            400: problemResponse,
            401: problemResponse,
            403: problemResponse,
            500: problemResponse,
          },
        },
      },
      async (_request, reply) => {
        reply.header("cache-control", "no-store");
        return context.dashboard.compute();
      },
    );
  };
}
