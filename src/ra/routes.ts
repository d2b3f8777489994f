/** HTTP routes of the RA: enrolment requests, their decisions, the key download, portal notifications. */
import type { FastifyInstance } from "fastify";
import type { EnrollmentMethod, EnrollmentStatus } from "../../db/stores/enrollments.js";
import { actorOf, type Principal } from "../auth/principal.js";
import { csrFromJson, sanSchema } from "../ca/routes.js";
import type { ServiceContext } from "../context.js";
import type { GeneralName } from "../pki/general-name.js";
import { SERVER_KEY_ALGORITHMS, type ServerKeyAlgorithm } from "./key-generation.js";

const problem = { $ref: "problem#" } as const;
const errors = { 400: problem, 401: problem, 403: problem, 404: problem } as const;

const STATUSES: readonly EnrollmentStatus[] = [
  "pending",
  "approved",
  "rejected",
  "withdrawn",
  "issued",
  "expired",
];
const METHODS: readonly EnrollmentMethod[] = ["csr", "browser", "server-keygen"];

const idParams = {
  type: "object",
  additionalProperties: false,
  required: ["id"],
  properties: { id: { type: "string", format: "uuid" } },
} as const;

const nullableString = { type: ["string", "null"] } as const;

const enrollmentSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    status: { enum: STATUSES },
    profile: { type: "string" },
    method: { enum: METHODS },
    issuer: nullableString,
    requester: {
      type: "object",
      properties: {
        id: { type: "string" },
        name: { type: "string" },
        employeeNumber: nullableString,
        orgUnit: nullableString,
        email: nullableString,
      },
    },
    subjectAltNames: {
      type: ["array", "null"],
      items: { type: "object", properties: { type: { type: "string" }, value: { type: "string" } } },
    },
    createdAt: { type: "string", format: "date-time" },
    expiresAt: { type: "string", format: "date-time" },
    decidedBy: nullableString,
    decidedAt: nullableString,
    reason: nullableString,
    issueError: nullableString,
    certificate: {
      type: ["object", "null"],
      properties: { issuer: { type: "string" }, serial: { type: "string" } },
    },
    keyAwaitingDownload: { type: "boolean" },
    deliveredAt: nullableString,
    csr: { type: "string", description: "PEM; in the single-request view" },
    pkcs12: {
      type: "string",
      description: "server-keygen issued at once: the PKCS#12 (base64), returned once and never kept",
    },
  },
} as const;

const passphrase = { type: "string", minLength: 1, maxLength: 1024 } as const;

const submitSchema = {
  type: "object",
  additionalProperties: false,
  required: ["profile", "method"],
  properties: {
    profile: { type: "string", minLength: 1, maxLength: 63 },
    method: {
      enum: METHODS,
      description:
        "csr: a PKCS#10 made elsewhere (a USB-key tool); browser: made by WebCrypto in the portal; server-keygen: the service generates the key",
    },
    csr: {
      type: "string",
      minLength: 1,
      maxLength: 200_000,
      description: "PKCS#10 request, PEM or base64 DER",
    },
    serverKeyGeneration: {
      type: "object",
      additionalProperties: false,
      required: ["algorithm", "passphrase"],
      properties: {
        algorithm: { enum: SERVER_KEY_ALGORITHMS },
        passphrase: {
          ...passphrase,
          description: "at least 8 characters; protects the PKCS#12 and the key while it waits",
        },
      },
    },
    issuer: { type: "string", minLength: 1, maxLength: 63 },
    subjectAltNames: sanSchema,
  },
} as const;

interface SubmitBody {
  profile: string;
  method: EnrollmentMethod;
  csr?: string;
  serverKeyGeneration?: { algorithm: ServerKeyAlgorithm; passphrase: string };
  issuer?: string;
  subjectAltNames?: GeneralName[];
}

const notificationSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    kind: { type: "string" },
    enrollment: nullableString,
    message: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
    readAt: nullableString,
  },
} as const;

export function raRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const actor = (request: { principal?: Principal; id: string }) => actorOf(request.principal!, request.id);

    app.post<{ Body: SubmitBody }>(
      "/api/v1/enrollments",
      {
        config: { permission: "enrollment:request" },
        schema: {
          tags: ["enrollment"],
          summary:
            "Ask for a certificate for oneself; issued at once (auto profiles, or an RA operator's or admin's own request) or pending until an RA operator decides",
          body: submitSchema,
          response: { 201: enrollmentSchema, ...errors, 409: problem, 413: problem, 503: problem },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const result = await context.enrollments.submit(actor(request), {
          profile: body.profile,
          method: body.method,
          csr: body.csr === undefined ? undefined : csrFromJson(body.csr),
          serverKeyGeneration: body.serverKeyGeneration,
          issuer: body.issuer,
          subjectAltNames: body.subjectAltNames,
        });
        reply.code(201).header("location", `/api/v1/enrollments/${result.enrollment.id}`);
        if (!result.pkcs12) return result.enrollment;
        reply.header("cache-control", "no-store");
        return { ...result.enrollment, pkcs12: result.pkcs12.toString("base64") };
      },
    );

    app.get<{
      Querystring: {
        status?: EnrollmentStatus;
        profile?: string;
        requester?: string;
        limit: number;
        cursor?: string;
      };
    }>(
      "/api/v1/enrollments",
      {
        config: { permission: "enrollment:read" },
        schema: {
          tags: ["enrollment"],
          summary:
            "Enrolment requests, newest first, paginated by cursor: one's own; an RA operator's subtree too; all for security admins and auditors",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              status: { enum: STATUSES },
              profile: { type: "string", maxLength: 63 },
              requester: { type: "string", format: "uuid" },
              limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
              cursor: { type: "string", maxLength: 200 },
            },
          },
          response: {
            200: {
              type: "object",
              properties: { items: { type: "array", items: enrollmentSchema }, nextCursor: nullableString },
            },
            ...errors,
          },
        },
      },
      async (request) => context.enrollments.list(actor(request), request.query),
    );

    app.get<{ Params: { id: string } }>(
      "/api/v1/enrollments/:id",
      {
        config: { permission: "enrollment:read" },
        schema: {
          tags: ["enrollment"],
          summary: "One enrolment request with its CSR (404 outside the caller's scope)",
          params: idParams,
          response: { 200: enrollmentSchema, ...errors },
        },
      },
      async (request) => context.enrollments.get(actor(request), request.params.id),
    );

    app.post<{ Params: { id: string } }>(
      "/api/v1/enrollments/:id/approve",
      {
        config: { permission: "enrollment:decide" },
        schema: {
          tags: ["enrollment"],
          summary:
            "Approve a pending request and issue its certificate (an RA operator of the requester's subtree or a security admin, not the requester); on an approved request whose issuance failed, retry it",
          params: idParams,
          response: { 200: enrollmentSchema, ...errors, 409: problem, 503: problem },
        },
      },
      async (request) => context.enrollments.approve(actor(request), request.params.id),
    );

    app.post<{ Params: { id: string }; Body: { reason: string } }>(
      "/api/v1/enrollments/:id/reject",
      {
        config: { permission: "enrollment:decide" },
        schema: {
          tags: ["enrollment"],
          summary: "Reject a pending request with a reason",
          params: idParams,
          body: {
            type: "object",
            additionalProperties: false,
            required: ["reason"],
            properties: { reason: { type: "string", minLength: 1, maxLength: 500 } },
          },
          response: { 200: enrollmentSchema, ...errors, 409: problem },
        },
      },
      async (request) => context.enrollments.reject(actor(request), request.params.id, request.body.reason),
    );

    app.post<{ Params: { id: string } }>(
      "/api/v1/enrollments/:id/withdraw",
      {
        config: { permission: "enrollment:request" },
        schema: {
          tags: ["enrollment"],
          summary: "Withdraw one's own request while it is pending",
          params: idParams,
          response: { 200: enrollmentSchema, ...errors, 409: problem },
        },
      },
      async (request) => context.enrollments.withdraw(actor(request), request.params.id),
    );

    app.post<{ Params: { id: string }; Body: { passphrase: string } }>(
      "/api/v1/enrollments/:id/pkcs12",
      {
        config: { permission: "enrollment:request" },
        schema: {
          tags: ["enrollment"],
          summary:
            "Download, once, the PKCS#12 of a server-generated key that waited for approval (application/x-pkcs12); the stored key is erased",
          params: idParams,
          body: {
            type: "object",
            additionalProperties: false,
            required: ["passphrase"],
            properties: { passphrase },
          },
          response: {
            200: { description: "application/x-pkcs12 (RFC 7292)", type: "string", format: "binary" },
            ...errors,
            409: problem,
            410: problem,
          },
        },
      },
      async (request, reply) => {
        const pkcs12 = await context.keyDelivery.pkcs12(
          actor(request),
          request.params.id,
          request.body.passphrase,
        );
        return reply
          .type("application/x-pkcs12")
          .header("cache-control", "no-store")
          .header("content-disposition", `attachment; filename="${request.params.id}.p12"`)
          .send(pkcs12);
      },
    );

    app.get<{ Querystring: { limit: number; cursor?: string } }>(
      "/api/v1/me/notifications",
      {
        config: { permission: "self:read" },
        schema: {
          tags: ["enrollment"],
          summary: "The caller's portal notifications, unread first, paginated by cursor",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              limit: { type: "integer", minimum: 1, maximum: 200, default: 50 },
              cursor: { type: "string", maxLength: 200 },
            },
          },
          response: {
            200: {
              type: "object",
              properties: { items: { type: "array", items: notificationSchema }, nextCursor: nullableString },
            },
            ...errors,
          },
        },
      },
      async (request) => context.notifications.list(request.principal!, request.query),
    );

    app.post<{ Params: { id: string } }>(
      "/api/v1/me/notifications/:id/read",
      {
        config: { permission: "self:read" },
        schema: {
          tags: ["enrollment"],
          summary: "Mark one of the caller's notifications read",
          params: idParams,
          response: { 200: notificationSchema, ...errors },
        },
      },
      async (request) => context.notifications.markRead(actor(request), request.params.id),
    );
  };
}
