/** HTTP routes for the directory of civil servants: users, their import, passwords and TOTP. */
import type { FastifyInstance } from "fastify";
import type { Role } from "../../../db/stores/principals.js";
import { userReadScope } from "../../auth/policy.js";
import { actorOf, ROLES } from "../../auth/principal.js";
import type { ServiceContext } from "../../context.js";
import { forbidden } from "../../errors.js";
import { inSubtree } from "../org-units.js";
import { IMPORT_FORMATS, type ImportFormat, readUserImport } from "../user-import.js";
import type { DirectoryUser } from "../users.js";

const problem = { $ref: "problem#" } as const;
const errors = { 400: problem, 401: problem, 403: problem, 404: problem } as const;
const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", format: "uuid" } },
} as const;

const nullableDate = { type: ["string", "null"], format: "date-time" } as const;

const userSchema = {
  type: "object",
  additionalProperties: false,
  required: ["id", "name", "employeeNumber", "email", "orgUnit", "roles", "disabledAt", "createdAt"],
  properties: {
    id: { type: "string", format: "uuid" },
    name: { type: "string" },
    employeeNumber: { type: "string" },
    email: { type: ["string", "null"] },
    orgUnit: { type: ["string", "null"] },
    roles: { type: "array", items: { enum: ROLES } },
    disabledAt: nullableDate,
    createdAt: { type: "string", format: "date-time" },
    hasPassword: { type: "boolean" },
    hasTotp: { type: "boolean" },
    lockedUntil: nullableDate,
    lastLoginAt: nullableDate,
  },
} as const;

const userView = (user: DirectoryUser) => ({
  ...user,
  disabledAt: user.disabledAt?.toISOString() ?? null,
  createdAt: user.createdAt.toISOString(),
  lockedUntil: user.lockedUntil?.toISOString() ?? null,
  lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
});

const noContent = { 204: { type: "null", description: "Done" }, ...errors, 409: problem } as const;

interface CreateBody {
  name: string;
  employeeNumber: string;
  orgUnit?: string | null;
  roles: Role[];
  email?: string | null;
}

interface UpdateBody {
  name?: string;
  email?: string | null;
  orgUnit?: string | null;
  roles?: Role[];
}

export function directoryRoutes(context: ServiceContext) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.addContentTypeParser(
      "text/csv",
      { parseAs: "string", bodyLimit: IMPORT_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );

    app.get<{ Querystring: { orgUnit?: string; limit?: number; cursor?: string } }>(
      "/api/v1/users",
      {
        config: { permission: "user:read" },
        schema: {
          tags: ["directory"],
          summary:
            "Directory users in employee-number order, optionally below an org unit (RA operators: their subtree)",
          querystring: {
            type: "object",
            additionalProperties: false,
            properties: {
              orgUnit: { type: "string", minLength: 1, maxLength: 330 },
              limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
              cursor: { type: "string", maxLength: 32 },
            },
          },
          response: {
            200: {
              type: "object",
              required: ["items", "nextCursor"],
              properties: {
                items: { type: "array", items: userSchema },
                nextCursor: { type: ["string", "null"] },
              },
            },
            ...errors,
          },
        },
      },
      async (request) => {
        const scope = userReadScope(request.principal!);
        const { orgUnit, limit, cursor } = request.query;
        if (scope !== undefined && orgUnit !== undefined && !inSubtree(orgUnit, scope))
          throw forbidden(`org unit "${orgUnit}" is outside this RA operator's subtree "${scope}"`);
        const page = await context.directory.list({
          ...((orgUnit ?? scope) ? { orgUnit: orgUnit ?? scope } : {}),
          ...(limit ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        });
        return { items: page.items.map(userView), nextCursor: page.nextCursor };
      },
    );

    app.get<{ Params: { id: string } }>(
      "/api/v1/users/:id",
      {
        config: { permission: "user:read" },
        schema: {
          tags: ["directory"],
          summary: "One directory user",
          params: idParams,
          response: { 200: userSchema, ...errors },
        },
      },
      async (request) =>
        userView(await context.directory.require(request.params.id, actorOf(request.principal!, request.id))),
    );

    app.post<{ Body: CreateBody }>(
      "/api/v1/users",
      {
        config: { permission: "user:manage" },
        schema: {
          tags: ["directory"],
          summary: "Create a directory user (RA operators: subscribers of their subtree)",
          body: {
            type: "object",
            additionalProperties: false,
            required: ["name", "employeeNumber", "roles"],
            properties: {
              name: { type: "string", minLength: 1, maxLength: 200 },
              employeeNumber: { type: "string", minLength: 1, maxLength: 64 },
              orgUnit: { type: ["string", "null"], maxLength: 330 },
              roles: { type: "array", minItems: 1, maxItems: 4, items: { enum: ROLES } },
              email: { type: ["string", "null"], maxLength: 320 },
            },
          },
          response: { 201: userSchema, ...errors, 409: problem },
        },
      },
      async (request, reply) => {
        const { name, employeeNumber, orgUnit, roles, email } = request.body;
        const user = await context.directory.create(actorOf(request.principal!, request.id), {
          name,
          employeeNumber,
          orgUnit: orgUnit ?? null,
          roles,
          email: email ?? null,
        });
        return reply.code(201).send(userView(user));
      },
    );

    app.patch<{ Params: { id: string }; Body: UpdateBody }>(
      "/api/v1/users/:id",
      {
        config: { permission: "user:manage" },
        schema: {
          tags: ["directory"],
          summary:
            "Change a user's name, email, org unit or roles (RA operators: subscribers of their subtree, within it; nobody its own roles)",
          description:
            "Roles take effect at once: the user's next call with an access token or API key, on any node, is judged by them. " +
            "409 `last-security-admin` when the change would leave no enabled security admin.",
          params: idParams,
          body: {
            type: "object",
            additionalProperties: false,
            minProperties: 1,
            properties: {
              name: { type: "string", minLength: 1, maxLength: 200 },
              email: { type: ["string", "null"], maxLength: 320 },
              orgUnit: { type: ["string", "null"], maxLength: 330 },
              roles: { type: "array", minItems: 1, maxItems: 4, uniqueItems: true, items: { enum: ROLES } },
            },
          },
          response: { 200: userSchema, ...errors, 409: problem },
        },
      },
      async (request) =>
        userView(
          await context.directory.update(
            actorOf(request.principal!, request.id),
            request.params.id,
            request.body,
          ),
        ),
    );

    app.post<{ Body: { format: ImportFormat; data: unknown } | string }>(
      "/api/v1/users/import",
      {
        config: { permission: "user:manage" },
        bodyLimit: IMPORT_BODY_LIMIT,
        schema: {
          tags: ["directory"],
          summary:
            "Import users from JSON or CSV; valid rows are created in one transaction, the others reported",
          description:
            "JSON `{format: 'json', data: [{name, employeeNumber, orgUnit, roles, email?}…]}` or `{format: 'csv', data: '<CSV text>'}`, " +
            "or the CSV itself as `text/csv` (header: name,employee_number,org_unit,roles[,email]; roles separated by ; or |).",
          body: {
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  additionalProperties: false,
                  required: ["format", "data"],
                  properties: {
                    format: { enum: IMPORT_FORMATS },
                    data: { type: ["array", "string"], maxItems: 100_000 },
                  },
                },
              },
              "text/csv": { schema: { type: "string" } },
            },
          },
          response: {
            200: {
              type: "object",
              required: ["created", "rejected"],
              properties: {
                created: {
                  type: "array",
                  items: {
                    type: "object",
                    required: ["id", "employeeNumber"],
                    properties: { id: { type: "string" }, employeeNumber: { type: "string" } },
                  },
                },
                rejected: {
                  type: "array",
                  items: {
                    type: "object",
                    required: ["line", "reason"],
                    properties: {
                      line: { type: "integer" },
                      employeeNumber: { type: "string" },
                      reason: { type: "string" },
                    },
                  },
                },
              },
            },
            ...errors,
            409: problem,
            413: problem,
          },
        },
      },
      async (request) => {
        const body = request.body;
        const rows =
          typeof body === "string" ? readUserImport("csv", body) : readUserImport(body.format, body.data);
        const report = await context.directory.import(actorOf(request.principal!, request.id), rows);
        return {
          created: report.created.map((user) => ({ id: user.id, employeeNumber: user.employeeNumber })),
          rejected: report.rejected,
        };
      },
    );

    for (const [action, summary] of [
      ["disable", "Disable a user: no more logins; its SSO sessions end before the answer"],
      ["enable", "Enable a disabled user again"],
    ] as const)
      app.post<{ Params: { id: string } }>(
        `/api/v1/users/:id/${action}`,
        {
          config: { permission: "user:manage" },
          schema: { tags: ["directory"], summary, params: idParams, response: noContent },
        },
        async (request, reply) => {
          await context.directory[action](actorOf(request.principal!, request.id), request.params.id);
          return reply.code(204).send();
        },
      );

    app.put<{ Params: { id: string }; Body: { password: string } }>(
      "/api/v1/users/:id/password",
      {
        config: { permission: "user:manage" },
        schema: {
          tags: ["directory"],
          summary:
            "Set a user's password (12 to 1024 characters; stored as an argon2id hash); lifts a lockout",
          params: idParams,
          body: {
            type: "object",
            additionalProperties: false,
            required: ["password"],
            properties: { password: { type: "string", maxLength: 4096 } },
          },
          response: noContent,
        },
      },
      async (request, reply) => {
        await context.directory.setPassword(
          actorOf(request.principal!, request.id),
          request.params.id,
          request.body.password,
        );
        return reply.code(204).send();
      },
    );

    app.post<{ Params: { id: string } }>(
      "/api/v1/users/:id/totp",
      {
        config: { permission: "user:manage" },
        schema: {
          tags: ["directory"],
          summary: "Enroll a TOTP secret (RFC 6238); the secret and otpauth URI are shown once",
          params: idParams,
          response: {
            201: {
              type: "object",
              required: ["secret", "otpauthUri"],
              properties: { secret: { type: "string" }, otpauthUri: { type: "string" } },
            },
            ...errors,
            409: problem,
          },
        },
      },
      async (request, reply) => {
        const enrolled = await context.directory.enrollTotp(
          actorOf(request.principal!, request.id),
          request.params.id,
        );
        reply.header("cache-control", "no-store");
        return reply.code(201).send(enrolled);
      },
    );

    app.delete<{ Params: { id: string } }>(
      "/api/v1/users/:id/totp",
      {
        config: { permission: "user:manage" },
        schema: {
          tags: ["directory"],
          summary: "Remove a user's TOTP secret (lost device); it must enroll again to log in",
          params: idParams,
          response: noContent,
        },
      },
      async (request, reply) => {
        await context.directory.resetTotp(actorOf(request.principal!, request.id), request.params.id);
        return reply.code(204).send();
      },
    );
  };
}
