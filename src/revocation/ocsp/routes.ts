/**
 * The OCSP routes in Fastify (answers: http.ts), for what reaches Fastify: `inject`, the mTLS
 * listener, HEAD, and the requests the main listener's lane leaves to it (fast-lane.ts). They
 * log at warn level only: an OCSP responder answers tens of thousands of requests a second.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type OcspHttp, type OcspHttpRequest, type OcspHttpResponse, ocspErrorResponse } from "./http.js";
import { MAX_REQUEST_BYTES } from "./request.js";
import { errorStatusOf } from "./responder.js";
import type { OcspErrorStatus } from "./response.js";

function send(reply: FastifyReply, response: OcspHttpResponse): FastifyReply {
  return reply.code(response.statusCode).headers(response.headers).send(response.body);
}

/** Sends an unsuccessful OCSPResponse (also used by app.ts for URLs the router cannot decode). */
export const sendOcspError = (reply: FastifyReply, status: OcspErrorStatus): FastifyReply =>
  send(reply, ocspErrorResponse(status));

export function ocspRoutes(ocsp: OcspHttp) {
  function handle(
    request: FastifyRequest,
    reply: FastifyReply,
    input: OcspHttpRequest["input"],
  ): FastifyReply | Promise<FastifyReply> {
    const response = ocsp.respond(
      {
        issuerId: (request.params as { issuer: string }).issuer,
        input,
        ifNoneMatch: request.headers["if-none-match"],
        ifModifiedSince: request.headers["if-modified-since"],
      },
      (error, status) => request.log.error({ err: error }, `OCSP answered ${status}`),
    );
    return response instanceof Promise
      ? response.then((resolved) => send(reply, resolved))
      : send(reply, response);
  }

  return async function routes(app: FastifyInstance): Promise<void> {
    // This plugin's own body parsing: any content type, as raw bytes (RFC 6960 A.1 names
    // application/ocsp-request, but a responder gains nothing by refusing others).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    // Whatever goes wrong before the handler (body too large, …) is still an OCSP answer.
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const status = error.statusCode && error.statusCode < 500 ? "malformedRequest" : errorStatusOf(error);
      if (status !== "malformedRequest") request.log.error({ err: error }, `OCSP answered ${status}`);
      return sendOcspError(reply, status);
    });

    app.post<{ Params: { issuer: string } }>(
      "/ocsp/:issuer",
      {
        config: { public: true },
        logLevel: "warn",
        bodyLimit: MAX_REQUEST_BYTES,
        schema: {
          tags: ["revocation"],
          summary: "OCSP (RFC 6960): a DER OCSPRequest in the body, application/ocsp-request",
        },
      },
      (request, reply) =>
        handle(request, reply, { der: Buffer.isBuffer(request.body) ? request.body : undefined }),
    );

    app.get<{ Params: { issuer: string; "*": string } }>(
      "/ocsp/:issuer/*",
      {
        config: { public: true },
        logLevel: "warn",
        schema: {
          tags: ["revocation"],
          summary: "OCSP (RFC 5019 §5): the base64 of the DER OCSPRequest in the path, URL-encoded or not",
        },
      },
      (request, reply) => handle(request, reply, { path: request.params["*"] ?? "", url: request.url }),
    );
  };
}
