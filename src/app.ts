/**
 * Builds the Fastify application from an already-opened ServiceContext (tests use it with
 * `inject`; server.ts adds listeners). Here live the cross-cutting HTTP rules: strict schema
 * validation, problem+json errors (RFC 9457), and the check that every route declares who
 * may call it.
 */
import { randomUUID } from "node:crypto";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { Ajv, type Options as AjvOptions } from "ajv";
import addFormats from "ajv-formats";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { KeyStoreError } from "../hsm-adapters/key-store.js";
import { auditRoutes } from "./audit/routes.js";
import { principalFromAccessToken } from "./auth/access-token.js";
import type { Permission } from "./auth/permissions.js";
import { requirePermission } from "./auth/policy.js";
import type { Principal } from "./auth/principal.js";
import { clientCertificateRoutes } from "./auth/routes.js";
import { caOperationRoutes } from "./ca/operations/routes.js";
import { caRoutes } from "./ca/routes.js";
import type { ServiceContext } from "./context.js";
import {
  PROBLEM_SCHEMA,
  PROBLEM_TYPE_PREFIX,
  ServiceError,
  STATUS_TITLES,
  unauthenticated,
} from "./errors.js";
import { directoryRoutes } from "./identity/directory/routes.js";
import { identityRoutes } from "./identity/routes.js";
import { serverWithLanes } from "./lanes.js";
import { operationsRoutes } from "./operations/routes.js";
import { raRoutes } from "./ra/routes.js";
import { crlRoutes } from "./revocation/crl/routes.js";
import { ocspLane } from "./revocation/ocsp/fast-lane.js";
import { OCSP_PATH_PREFIX, OcspHttp } from "./revocation/ocsp/http.js";
import { ocspRoutes, sendOcspError } from "./revocation/ocsp/routes.js";
import { revocationRoutes } from "./revocation/routes.js";
import { ssoAdminRoutes } from "./sso/admin/routes.js";
import { oauthLane } from "./sso/oauth-lane.js";
import { ssoRoutes } from "./sso/routes.js";
import { portalRoutes } from "./web/routes.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The permission a caller needs; every route states this or `public: true`. */
    permission?: Permission;
    public?: true;
    /** A portal page: needs the portal's session, and acts only through API calls that check permissions. */
    portal?: true;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** OpenAPI 3.1 §4.8.27 security scheme type "mutualTLS", which @fastify/swagger's (3.0) types lack. */
const MUTUAL_TLS_SCHEME = {
  type: "mutualTLS",
  description: "a TLS client certificate issued by this service, on the mTLS listener (RFC 8705 §5)",
} as unknown as { type: "http"; scheme: string };

export interface RouteRecord {
  readonly method: string;
  readonly url: string;
  readonly permission: Permission | "public" | "portal";
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "body-too-large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported-media-type",
  FST_ERR_CTP_EMPTY_JSON_BODY: "body-empty",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "bad-content-length",
  FST_ERR_CTP_INVALID_JSON_BODY: "body-not-json",
};

const PROBLEM_TYPE = "application/problem+json; charset=utf-8";

/** The RFC 9457 document for `error` at `url`. */
const problemDocument = (error: ServiceError, url: string, requestId: string) => ({
  type: `${PROBLEM_TYPE_PREFIX}${error.code}`,
  title: STATUS_TITLES[error.status] ?? "Error",
  status: error.status,
  detail: error.message,
  code: error.code,
  instance: url.split("?")[0],
  requestId,
  ...error.extensions,
});

function sendProblem(reply: FastifyReply, request: FastifyRequest, error: ServiceError): FastifyReply {
  return reply
    .code(error.status)
    .type(PROBLEM_TYPE)
    .send(problemDocument(error, request.url, request.id));
}

/** The same problem document as a lane's whole answer (src/lanes.ts), for a lane's unexpected failure. */
function laneProblem(error: unknown, url: string, log: FastifyBaseLogger) {
  const requestId = randomUUID();
  const problem = toServiceError(error as Error, log.child({ reqId: requestId }));
  const body = JSON.stringify(problemDocument(problem, url, requestId));
  return {
    statusCode: problem.status,
    headers: { "content-type": PROBLEM_TYPE, "content-length": Buffer.byteLength(body) },
    body,
  };
}

/** Maps anything thrown in a route to a ServiceError; internals never reach the caller. */
function toServiceError(error: FastifyError | Error, log: FastifyBaseLogger): ServiceError {
  if (error instanceof ServiceError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const first = fastifyError.validation[0];
    const where = `${fastifyError.validationContext ?? "request"}${first?.instancePath ?? ""}`;
    const extra =
      first?.keyword === "additionalProperties"
        ? ` (unknown field "${(first.params as { additionalProperty: string }).additionalProperty}")`
        : "";
    return new ServiceError(400, "validation-failed", `${where} ${first?.message ?? "is invalid"}${extra}`);
  }
  if (error instanceof KeyStoreError && error.code === "unavailable")
    return new ServiceError(503, "hsm-unavailable", "the key store is unreachable; try again shortly");
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    const code = FASTIFY_CODES[fastifyError.code] ?? "bad-request";
    return new ServiceError(status, code, fastifyError.message);
  }
  log.error({ err: error }, "unhandled error");
  return new ServiceError(
    500,
    "internal",
    "an internal error occurred; the request id identifies it in the logs",
  );
}

/** Body validation: no coercion, no silent removal of unknown fields. Query and params: coercion to the schema type. */
function validatorCompiler() {
  const base: AjvOptions = {
    allErrors: false,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    discriminator: true,
  };
  const strictAjv = addFormats.default(new Ajv({ ...base, coerceTypes: false }));
  const coercingAjv = addFormats.default(new Ajv({ ...base, coerceTypes: "array" }));
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === "body" ? strictAjv : coercingAjv).compile(schema);
}

/** Query parameters that carry credentials (OIDC RP-Initiated Logout's id_token_hint, RFC 6750 §2.3). */
const SECRET_PARAMETERS =
  /([?&](?:id_token_hint|access_token|code|refresh_token|client_secret|client_assertion|token)=)[^&]*/g;

/** What the log records of a request: no credentials in headers (redacted) or in the query. */
function requestForLog(request: FastifyRequest) {
  return {
    method: request.method,
    url: request.url.replace(SECRET_PARAMETERS, "$1[redacted]"),
    host: request.host,
    remoteAddress: request.ip,
  };
}

export interface AppOptions {
  /** Where the log goes (stdout by default); tests read it to prove nothing secret is logged. */
  readonly logStream?: NodeJS.WritableStream;
}

export async function buildApp(context: ServiceContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = context;
  const ocsp = new OcspHttp(context.ocsp, context.clock);
  let closing = false;
  const app: FastifyInstance = Fastify({
    serverFactory: serverWithLanes(
      () => [
        ocspLane(ocsp, (error, status) => app.log.error({ err: error }, `OCSP answered ${status}`)),
        oauthLane({
          endpoints: context.sso.endpoints,
          log: app.log,
          logAnswers: ["trace", "debug", "info"].includes(config.logLevel),
          failure: (error, url) => laneProblem(error, url, app.log),
        }),
      ],
      () => closing,
    ),
    logger:
      config.logLevel === "silent"
        ? false
        : {
            level: config.logLevel,
            redact: ["req.headers.authorization", "req.headers.cookie"],
            serializers: { req: requestForLog },
            ...(options.logStream ? { stream: options.logStream } : {}),
          },
    bodyLimit: config.bodyLimitBytes,
    genReqId: () => randomUUID(),
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    return503OnClosing: true,
    // A path the router cannot percent-decode fails before any route: on /ocsp/ that is still
    // an OCSP malformedRequest (RFC 6960 §2.3), since OCSP clients read nothing else.
    frameworkErrors: (error, request, reply) =>
      request.url.startsWith(OCSP_PATH_PREFIX)
        ? sendOcspError(reply as FastifyReply, "malformedRequest")
        : (reply as FastifyReply).send(error),
  });
  // From here on the lanes leave every request to Fastify's 503 (return503OnClosing above).
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  app.setValidatorCompiler(validatorCompiler());
  app.addSchema(PROBLEM_SCHEMA);

  const routes: RouteRecord[] = [];
  app.decorate("registeredRoutes", routes);
  // Authentication and the route-level permission check (RBAC) run first, before the body is
  // read or validated: a caller without the permission learns nothing about the route's input.
  // Object-level scope (org subtree, own certificates) is checked in the domain code. A route
  // hook of the routes that declare a permission only: public routes (OCSP, CRLs, the OAuth
  // endpoints, which authenticate their callers the OAuth way) and portal pages (src/web/portal.ts
  // checks their session) pay nothing for it.
  async function authenticateAndAuthorize(request: FastifyRequest): Promise<void> {
    const permission = request.routeOptions.config.permission!;
    const header = request.headers.authorization;
    if (header) {
      const match = /^Bearer ([\x21-\x7e]+)$/.exec(header);
      if (!match)
        throw unauthenticated("the Authorization header must be `Bearer <api key or access token>`");
      const token = match[1]!;
      request.principal = token.startsWith("gca_")
        ? await context.authenticator.authenticate(token)
        : await principalFromAccessToken(
            context.sso.tokens,
            context.directory,
            context.sso.options.issuer,
            token,
          );
    }
    requirePermission(request.principal, permission);
  }

  app.addHook("onRoute", (route) => {
    if (route.url.startsWith("/docs")) route.config = { ...route.config, public: true };
    const permission = route.config?.permission ?? (route.config?.portal ? "portal" : undefined);
    if (!permission && !route.config?.public)
      throw new Error(
        `route ${route.method} ${route.url} declares neither a permission, portal: true nor public: true`,
      );
    for (const method of [route.method].flat())
      if (method !== "HEAD") routes.push({ method, url: route.url, permission: permission ?? "public" });
    if (route.config?.permission)
      route.onRequest = [authenticateAndAuthorize, ...[route.onRequest ?? []].flat()];
  });

  app.setErrorHandler((error: FastifyError, request, reply) =>
    sendProblem(reply, request, toServiceError(error, request.log)),
  );
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      request,
      new ServiceError(404, "not-found", `there is no route ${request.method} ${request.url.split("?")[0]}`),
    ),
  );

  // Raw DER and PEM bodies for CSRs (RFC 5967 application/pkcs10).
  app.addContentTypeParser(
    ["application/pkcs10", "application/octet-stream"],
    { parseAs: "buffer" },
    (_req, body, done) => done(null, body),
  );
  app.addContentTypeParser(
    ["application/x-pem-file", "text/plain"],
    { parseAs: "string" },
    (_req, body, done) => done(null, body),
  );

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Provincial e-government certification centre",
        version: "1",
        description:
          "Certificate issuance, CA certificates and administration. Errors are RFC 9457 problem documents.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "gca_… API key" },
          mutualTLS: MUTUAL_TLS_SCHEME,
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const permission = route.config?.permission;
      const transformed = { ...(schema as object) } as Record<string, unknown>;
      if (permission) {
        transformed.security = [{ apiKey: [] }];
        transformed.description =
          `${(schema as { description?: string })?.description ?? ""}\n\nRequires the \`${permission}\` permission.`.trim();
      }
      return { schema: transformed, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  app.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get(
    "/healthz",
    {
      config: { public: true },
      schema: { tags: ["operations"], description: "Liveness: the process answers." },
    },
    async () => ({ status: "ok" }),
  );
  app.get(
    "/readyz",
    {
      config: { public: true },
      schema: {
        tags: ["operations"],
        description:
          "Readiness: database and key store answer, an issuing CA exists, and the pre-signed OCSP responses are loaded into memory.",
      },
    },
    async (_request, reply) => {
      const checks: Record<string, string> = {};
      // A node just started loads the pre-signed OCSP responses into memory first (seconds):
      // until then it answers from the database, several times slower, so it joins a pool warm.
      const ocspMemory = context.ocsp.loadingMemory ? "loading" : "ok";
      await context.db.query("SELECT 1").then(
        () => (checks.database = "ok"),
        () => (checks.database = "unavailable"),
      );
      await context.keyStore.probe().then(
        () => (checks.keyStore = "ok"),
        () => (checks.keyStore = "unavailable"),
      );
      checks.issuingCa = context.issuers.defaultIssuing() ? "ok" : "missing";
      checks.ocspMemory = ocspMemory;
      const ready = Object.values(checks).every((value) => value === "ok");
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not-ready", checks });
    },
  );

  await app.register(caRoutes(context));
  await app.register(identityRoutes(context));
  await app.register(directoryRoutes(context));
  await app.register(clientCertificateRoutes(context));
  await app.register(auditRoutes(context));
  await app.register(caOperationRoutes(context));
  await app.register(raRoutes(context));
  await app.register(revocationRoutes(context));
  await app.register(crlRoutes(context));
  await app.register(ocspRoutes(ocsp));
  await app.register(ssoRoutes(context));
  await app.register(ssoAdminRoutes(context));
  await app.register(operationsRoutes(context));
  await app.register(portalRoutes(context));
  return app;
}

export const registeredRoutes = (app: FastifyInstance): readonly RouteRecord[] =>
  (app as unknown as { registeredRoutes: RouteRecord[] }).registeredRoutes;
