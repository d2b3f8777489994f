/**
 * OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5 and §6), public like every responder:
 *
 *   POST /ocsp/<issuer>            body: the DER OCSPRequest (application/ocsp-request)
 *   GET  /ocsp/<issuer>/<request>  the base64 of the DER request in the path, percent-encoded
 *                                  or not (RFC 5019 §5: '/' and '+' may appear either way)
 *
 * Every answer, including to garbage, is an application/ocsp-response (HTTP 200): OCSP
 * clients read the OCSP status, not HTTP errors or problem documents (RFC 6960 §2.3). An
 * issuer id this service does not know gets `unauthorized` rather than a 404 for the same
 * reason: the client followed a certificate's AIA and expects an OCSP response; §2.3 defines
 * unauthorized for "the server is not capable of responding authoritatively".
 *
 * Pre-signed responses to GET carry the RFC 5019 §6.2 caching headers (and conditional
 * requests get 304); live (nonce) responses and errors are `no-store`. These routes log at
 * warn level only: an OCSP responder answers tens of thousands of requests a second.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServiceContext } from "../../context.js";
import type { CachedResponse } from "./cache.js";
import { MAX_REQUEST_BYTES } from "./request.js";
import { errorStatusOf, type OcspAnswer } from "./responder.js";
import { errorResponse, type OcspErrorStatus } from "./response.js";

const OCSP_RESPONSE = "application/ocsp-response";
const ISSUER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Sends an unsuccessful OCSPResponse (also used by app.ts for URLs the router cannot decode). */
export function sendOcspError(reply: FastifyReply, status: OcspErrorStatus): FastifyReply {
  return reply.code(200).header("cache-control", "no-store").type(OCSP_RESPONSE).send(errorResponse(status));
}

/** RFC 5019 §6.2: fresh until the response is re-signed (never past nextUpdate), then revalidated. */
function sendPresigned(request: FastifyRequest, reply: FastifyReply, entry: CachedResponse, nowMs: number) {
  const maxAge = Math.max(
    0,
    Math.floor((Math.min(entry.refreshAtMs, entry.nextUpdate.getTime()) - nowMs) / 1000),
  );
  reply.headers({
    "content-type": OCSP_RESPONSE,
    "cache-control": `max-age=${maxAge}, public, no-transform, must-revalidate`,
    "last-modified": entry.lastModified,
    expires: entry.expires,
    etag: entry.etag,
  });
  const ifNoneMatch = request.headers["if-none-match"];
  const ifModifiedSince = request.headers["if-modified-since"];
  if (
    ifNoneMatch !== undefined
      ? ifNoneMatch.split(",").some((tag) => tag.trim() === entry.etag || tag.trim() === "*")
      : ifModifiedSince !== undefined && Date.parse(ifModifiedSince) >= entry.thisUpdate.getTime()
  )
    return reply.code(304).send();
  return reply.send(entry.der);
}

export function ocspRoutes(context: ServiceContext) {
  const responder = context.ocsp;

  function send(
    request: FastifyRequest,
    reply: FastifyReply,
    answer: OcspAnswer,
    get: boolean,
  ): FastifyReply {
    if (answer.error) return sendOcspError(reply, answer.error);
    if (answer.presigned && get)
      return sendPresigned(request, reply, answer.presigned, context.clock.now().getTime());
    // POST responses are not stored by HTTP caches anyway; a live (nonce) one must not be reused.
    if (!answer.presigned) reply.header("cache-control", "no-store");
    return reply.code(200).type(OCSP_RESPONSE).send(answer.der);
  }

  function handle(
    request: FastifyRequest,
    reply: FastifyReply,
    issuerId: string,
    input: { der: Buffer | undefined } | { path: string },
  ): FastifyReply | Promise<FastifyReply> {
    if (!ISSUER_ID.test(issuerId)) return sendOcspError(reply, "unauthorized");
    const get = "path" in input;
    const answer = get ? responder.answerGet(issuerId, input.path) : responder.answer(issuerId, input.der);
    if (!(answer instanceof Promise)) return send(request, reply, answer, get); // the hot path stays synchronous
    return answer.then(
      (resolved) => send(request, reply, resolved, get),
      (error: unknown) => {
        const status = errorStatusOf(error);
        request.log.error({ err: error }, `OCSP answered ${status}`);
        return sendOcspError(reply, status);
      },
    );
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
        handle(request, reply, request.params.issuer, {
          der: Buffer.isBuffer(request.body) ? request.body : undefined,
        }),
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
      (request, reply) => handle(request, reply, request.params.issuer, { path: request.params["*"] ?? "" }),
    );
  };
}
