/**
 * One error hierarchy for the service. Deep code throws a ServiceError with a stable
 * `code`; the HTTP layer turns it into application/problem+json (RFC 9457 §3) whose
 * `type` is urn:gov-ca:problem:<code>. Messages name the problem precisely and never
 * carry secrets or key material.
 */

export const PROBLEM_TYPE_PREFIX = "urn:gov-ca:problem:";

export class ServiceError extends Error {
  override readonly name = "ServiceError";
  constructor(
    /** HTTP status this error maps to. */
    readonly status: number,
    /** Stable machine-readable code, e.g. "csr-signature-invalid". */
    readonly code: string,
    /** Human-readable, precise description of this occurrence (RFC 9457 `detail`). */
    detail: string,
    /** Extension members added to the problem document. */
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail);
  }
}

export const badRequest = (code: string, detail: string, extensions?: Record<string, unknown>) =>
  new ServiceError(400, code, detail, extensions);
export const unauthenticated = (
  detail = "this request needs credentials: send Authorization: Bearer <api key>",
) => new ServiceError(401, "unauthenticated", detail);
export const forbidden = (detail: string) => new ServiceError(403, "forbidden", detail);
export const notFound = (what: string) => new ServiceError(404, "not-found", `${what} does not exist`);
export const conflict = (code: string, detail: string) => new ServiceError(409, code, detail);
export const unavailable = (code: string, detail: string) => new ServiceError(503, code, detail);

/** Titles per status (RFC 9457 §3.1.3: the same for every occurrence of a type). */
export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  423: "Locked",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/**
 * JSON schema of a problem document, registered once on the root app. (Registered in a
 * child plugin it would give that plugin a schema controller of its own, which silently
 * reverts to Fastify's default validator that strips unknown fields instead of refusing them.)
 */
export const PROBLEM_SCHEMA = {
  $id: "problem",
  type: "object",
  description: "RFC 9457 problem details",
  additionalProperties: true,
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string" },
    instance: { type: "string" },
    requestId: { type: "string" },
  },
} as const;
