/** HTTP routes for issuance, certificate lookup and search, profiles, and CA certificates. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { findBySerial, searchCertificates } from "../../db/stores/certificates.js";
import { canSeeCertificate, certificateScope } from "../auth/policy.js";
import { actorOf } from "../auth/principal.js";
import type { ServiceContext } from "../context.js";
import { badRequest, notFound, ServiceError } from "../errors.js";
import type { GeneralName } from "../pki/general-name.js";
import { encodePem, preEncapsulationBoundary } from "../pki/pem.js";
import type { Issuer } from "./issuers.js";
import { issuerUrls } from "./issuers.js";
import {
  certificateDocument,
  certificateSummary,
  chooseRepresentation,
  MEDIA,
  pemChain,
} from "./representation.js";
import { normalizeSerial } from "./serial.js";
import type { SubjectRequest } from "./subject.js";

const problemResponse = { $ref: "problem#" } as const;
const errors = { 400: problemResponse, 401: problemResponse, 403: problemResponse, 404: problemResponse };

/** A profile as GET answers it: `name` and the definition's fields (src/ca/profile.ts checks them). */
type ProfileBody = { name?: string } & Record<string, unknown>;
const profileBody = {
  type: "object",
  properties: { name: { type: "string", maxLength: 63 } },
} as const;
const profileResponse = {
  type: "object",
  additionalProperties: true,
  required: ["name"],
  properties: { name: { type: "string" } },
} as const;
const PROFILE_BODY_DESCRIPTION =
  "The profile as `GET /api/v1/profiles/{name}` answers it: `name` and the definition (description, " +
  "validityDays 1–3650, keys, keyUsage, extendedKeyUsage, subjectAltNames, requireSubjectAltName, " +
  "commonNameInSubjectAltNames, allowWildcards, ocspNoCheck?, requesters, approval). Every problem is " +
  "answered as 400 `profile-invalid` with the validator's message.";

const subjectSchema = {
  type: "object",
  additionalProperties: false,
  description:
    "The subject, stated by a security admin or RA operator (subscribers get their own account's).",
  properties: {
    commonName: { type: "string", minLength: 1, maxLength: 64 },
    orgUnit: { type: "string", minLength: 1, maxLength: 330 },
    serialNumber: { type: "string", pattern: "^[A-Za-z0-9 '()+,\\-./:=?]{1,64}$" },
  },
} as const;

export const sanSchema = {
  type: "array",
  maxItems: 100,
  items: {
    type: "object",
    additionalProperties: false,
    required: ["type", "value"],
    properties: {
      type: { enum: ["dns", "ip", "email", "uri"] },
      value: { type: "string", minLength: 1, maxLength: 253 },
    },
  },
} as const;

const issueBodySchema = {
  type: "object",
  additionalProperties: false,
  required: ["csr", "profile"],
  properties: {
    csr: {
      type: "string",
      minLength: 1,
      maxLength: 200_000,
      description: "PKCS#10 request, PEM or base64 DER",
    },
    profile: { type: "string", minLength: 1, maxLength: 63 },
    issuer: { type: "string", minLength: 1, maxLength: 63 },
    subject: subjectSchema,
    subjectAltNames: sanSchema,
  },
} as const;

const certificateJsonSchema = {
  type: "object",
  properties: {
    serial: { type: "string" },
    issuer: { type: "string" },
    profile: { type: "string" },
    subject: { type: "string" },
    orgUnit: { type: ["string", "null"] },
    subjectAltNames: {
      type: "array",
      items: { type: "object", properties: { type: { type: "string" }, value: { type: "string" } } },
    },
    notBefore: { type: "string", format: "date-time" },
    notAfter: { type: "string", format: "date-time" },
    issuedAt: { type: "string", format: "date-time" },
    status: { enum: ["good", "revoked", "on-hold"] },
    revokedAt: { type: "string", format: "date-time" },
    revocationReason: { type: ["integer", "null"] },
    certificate: { type: "string" },
    chain: { type: "array", items: { type: "string" } },
  },
} as const;

interface IssueBody {
  csr: string;
  profile: string;
  issuer?: string;
  subject?: SubjectRequest;
  subjectAltNames?: GeneralName[];
}

/** A CSR in JSON is PEM text (explanatory text before it allowed, RFC 7468 §2) or base64 DER. */
export function csrFromJson(csr: string): string | Buffer {
  if (csr.trimStart().startsWith("-----") || preEncapsulationBoundary(csr) >= 0) return csr;
  const compact = csr.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact))
    throw badRequest("csr-malformed", "the CSR is malformed: `csr` must be PEM or base64-encoded DER");
  return Buffer.from(compact, "base64");
}

function sendCertificate(
  request: FastifyRequest,
  reply: FastifyReply,
  row: Parameters<typeof certificateDocument>[0],
  issuer: Issuer,
) {
  const representation = chooseRepresentation(request.headers.accept);
  if (!representation)
    throw new ServiceError(406, "not-acceptable", `available: ${Object.values(MEDIA).join(", ")}`);
  if (representation === "der") return reply.type(MEDIA.der).send(row.der);
  if (representation === "json") return reply.type(MEDIA.json).send(certificateDocument(row, issuer));
  return reply.type(MEDIA.pemChain).send(pemChain(row.der, issuer));
}

const cursorOf = (row: { issued_at: Date; serial: string }) =>
  Buffer.from(JSON.stringify([row.issued_at.toISOString(), row.serial])).toString("base64url");

function parseCursor(cursor: string): { issuedAt: Date; serial: string } {
  try {
    const [issuedAt, serial] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [
      string,
      string,
    ];
    const date = new Date(issuedAt);
    if (Number.isNaN(date.getTime()) || typeof serial !== "string" || !normalizeSerial(serial))
      throw new Error();
    return { issuedAt: date, serial };
  } catch {
    throw badRequest("cursor-invalid", "`cursor` is not a cursor returned by this API");
  }
}

export function caRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.post<{ Body: IssueBody | Buffer | string; Querystring: { profile?: string; issuer?: string } }>(
      "/api/v1/certificates",
      {
        config: { permission: "certificate:issue" },
        schema: {
          tags: ["certificates"],
          summary: "Issue a certificate from a PKCS#10 CSR",
          description:
            "JSON body, or the CSR itself as application/pkcs10 (DER) or application/x-pem-file with ?profile=. " +
            "The answer follows Accept: application/pem-certificate-chain (default), application/pkix-cert, application/json.",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              profile: { type: "string", maxLength: 63 },
              issuer: { type: "string", maxLength: 63 },
            },
          },
          body: {
            content: {
              "application/json": { schema: issueBodySchema },
              "application/pkcs10": { schema: {} },
              "application/octet-stream": { schema: {} },
              "application/x-pem-file": { schema: {} },
              "text/plain": { schema: {} },
            },
          },
          response: { 201: certificateJsonSchema, ...errors, 409: problemResponse, 413: problemResponse },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const raw = Buffer.isBuffer(body) || typeof body === "string";
        const issueRequest = raw
          ? {
              csr: body,
              profile: request.query.profile ?? "",
              issuer: request.query.issuer,
            }
          : {
              csr: csrFromJson(body.csr),
              profile: body.profile,
              issuer: body.issuer,
              subject: body.subject,
              subjectAltNames: body.subjectAltNames,
            };
        if (!issueRequest.profile)
          throw badRequest("profile-required", "name the profile: `profile` (or ?profile= for a raw CSR)");
        const issued = await context.ca.issue(actorOf(request.principal!, request.id), issueRequest);
        reply.code(201).header("location", `/api/v1/certificates/${issued.record.serial}`);
        return sendCertificate(request, reply, issued.record, issued.issuer);
      },
    );

    app.get<{ Params: { serial: string }; Querystring: { issuer?: string } }>(
      "/api/v1/certificates/:serial",
      {
        config: { permission: "certificate:read" },
        schema: {
          tags: ["certificates"],
          summary: "Fetch a certificate by serial number (hex)",
          params: { type: "object", properties: { serial: { type: "string", maxLength: 64 } } },
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: { issuer: { type: "string", maxLength: 63 } },
          },
          response: { 200: certificateJsonSchema, ...errors, 406: problemResponse },
        },
      },
      async (request, reply) => {
        const serial = normalizeSerial(request.params.serial);
        if (!serial)
          throw badRequest("serial-invalid", "the serial number must be hexadecimal, at most 20 octets");
        const rows = (await findBySerial(context.db, serial, request.query.issuer)).filter((row) =>
          canSeeCertificate(request.principal!, row),
        );
        if (rows.length === 0) throw notFound(`certificate ${serial}`);
        if (rows.length > 1)
          throw new ServiceError(
            409,
            "serial-ambiguous",
            `serial ${serial} exists under several issuers: add ?issuer=`,
          );
        const row = rows[0]!;
        return sendCertificate(request, reply, row, context.issuers.get(row.issuer_id));
      },
    );

    app.get<{
      Querystring: {
        subject?: string;
        owner?: "me";
        status?: "good" | "revoked" | "on-hold";
        profile?: string;
        issuer?: string;
        orgUnit?: string;
        expiresAfter?: string;
        expiresBefore?: string;
        limit: number;
        cursor?: string;
      };
    }>(
      "/api/v1/certificates",
      {
        config: { permission: "certificate:read" },
        schema: {
          tags: ["certificates"],
          summary: "Search certificates, newest first, paginated by cursor",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              subject: {
                type: "string",
                maxLength: 200,
                description: "substring of the subject DN, case-insensitive",
              },
              owner: { enum: ["me"], description: "only the caller's own certificates" },
              status: { enum: ["good", "revoked", "on-hold"] },
              profile: { type: "string", maxLength: 63 },
              issuer: { type: "string", maxLength: 63 },
              orgUnit: { type: "string", maxLength: 330, description: "this unit and its subtree" },
              expiresAfter: { type: "string", format: "date-time" },
              expiresBefore: { type: "string", format: "date-time" },
              limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
              cursor: { type: "string", maxLength: 200 },
            },
          },
          response: {
            200: {
              type: "object",
              properties: {
                items: { type: "array", items: certificateJsonSchema },
                nextCursor: { type: ["string", "null"] },
              },
            },
            ...errors,
          },
        },
      },
      async (request) => {
        const query = request.query;
        const rows = await searchCertificates(context.db, {
          scope:
            query.owner === "me" ? { ownerId: request.principal!.id } : certificateScope(request.principal!),
          subject: query.subject,
          status: query.status,
          profile: query.profile,
          issuerId: query.issuer,
          orgUnit: query.orgUnit,
          expiresAfter: query.expiresAfter ? new Date(query.expiresAfter) : undefined,
          expiresBefore: query.expiresBefore ? new Date(query.expiresBefore) : undefined,
          after: query.cursor ? parseCursor(query.cursor) : undefined,
          limit: query.limit + 1,
        });
        const page = rows.slice(0, query.limit);
        return {
          items: page.map(certificateSummary),
          nextCursor: rows.length > query.limit ? cursorOf(page[page.length - 1]!) : null,
        };
      },
    );

    app.get(
      "/api/v1/profiles",
      {
        config: { permission: "profile:read" },
        schema: { tags: ["profiles"], summary: "Certificate profiles in force" },
      },
      async () => {
        await context.profiles.fresh();
        return { items: context.profiles.all() };
      },
    );

    app.get<{ Params: { name: string } }>(
      "/api/v1/profiles/:name",
      {
        config: { permission: "profile:read" },
        schema: { tags: ["profiles"], summary: "One certificate profile" },
      },
      async (request) => {
        await context.profiles.fresh();
        const profile = context.profiles.find(request.params.name);
        if (!profile) throw notFound(`profile "${request.params.name}"`);
        return profile;
      },
    );

    app.post<{ Body: ProfileBody }>(
      "/api/v1/profiles",
      {
        config: { permission: "profile:manage" },
        schema: {
          tags: ["profiles"],
          summary: "Create a certificate profile (validated as the seeded ones are; audited)",
          description: PROFILE_BODY_DESCRIPTION,
          body: { ...profileBody, required: ["name"] },
          response: { 201: profileResponse, ...errors, 409: problemResponse },
        },
      },
      async (request, reply) => {
        const { name, ...definition } = request.body;
        const profile = await context.profiles.create(
          actorOf(request.principal!, request.id),
          name!,
          definition,
        );
        return reply.code(201).send(profile);
      },
    );

    app.put<{ Params: { name: string }; Body: ProfileBody }>(
      "/api/v1/profiles/:name",
      {
        config: { permission: "profile:manage" },
        schema: {
          tags: ["profiles"],
          summary:
            "Replace a certificate profile's definition (its name cannot change; issued certificates are not affected)",
          description: PROFILE_BODY_DESCRIPTION,
          params: {
            type: "object",
            required: ["name"],
            properties: { name: { type: "string", maxLength: 63 } },
          },
          body: profileBody,
          response: { 200: profileResponse, ...errors },
        },
      },
      async (request) => {
        const { name, ...definition } = request.body;
        if (name !== undefined && name !== request.params.name)
          throw badRequest(
            "profile-name-mismatch",
            `a profile's name cannot change: the body names "${name}", the path "${request.params.name}"`,
          );
        return context.profiles.replace(
          actorOf(request.principal!, request.id),
          request.params.name,
          definition,
        );
      },
    );

    app.get(
      "/api/v1/issuers",
      {
        config: { permission: "issuer:read" },
        schema: { tags: ["issuers"], summary: "The CA certificates of this service" },
      },
      async () => ({
        items: context.issuers.all().map(({ row }) => ({
          id: row.id,
          kind: row.kind,
          parent: row.parent_id,
          status: row.status,
          keyAlgorithm: row.key_algorithm,
          notBefore: row.not_before.toISOString(),
          notAfter: row.not_after.toISOString(),
          urls: issuerUrls(context.config.publicBaseUrl, row.id),
          certificate: encodePem("CERTIFICATE", row.certificate),
        })),
      }),
    );

    // RFC 5280 §4.2.2.1: the caIssuers URL serves the DER certificate; .pem the whole chain.
    app.get<{ Params: { file: string } }>(
      "/ca/:file",
      {
        config: { public: true },
        schema: {
          tags: ["issuers"],
          summary:
            "A CA certificate: <id>.crt (DER, application/pkix-cert) or <id>.pem (PEM chain to the root)",
          params: {
            type: "object",
            properties: { file: { type: "string", pattern: "^[a-z0-9-]{1,63}\\.(crt|pem)$" } },
          },
        },
      },
      async (request, reply) => {
        const [id, extension] = request.params.file.split(".") as [string, string];
        const issuer = context.issuers.find(id);
        if (!issuer) throw notFound(`CA certificate "${request.params.file}"`);
        reply.header("cache-control", "public, max-age=3600");
        if (extension === "crt") return reply.type(MEDIA.der).send(issuer.row.certificate);
        return reply.type(MEDIA.pemChain).send(issuer.chainPem);
      },
    );
  };
}
