/**
 * OCSP over HTTP (RFC 6960 Appendix A, RFC 5019 §5 and §6), apart from any server framework:
 * what one request is answered with. Two transports use it: the Fastify routes (routes.ts,
 * which `inject` and the mTLS listener reach) and the main listener's lane that answers
 * OCSP before Fastify's routing (fast-lane.ts).
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
 * requests get 304); live (nonce) responses and errors are `no-store`.
 */
import type { Clock } from "../../clock.js";
import type { CachedResponse } from "./cache.js";
import { errorStatusOf, type OcspAnswer, type OcspResponder } from "./responder.js";
import { errorResponse, type OcspErrorStatus } from "./response.js";

export const OCSP_PATH_PREFIX = "/ocsp/";
const OCSP_RESPONSE = "application/ocsp-response";
const ISSUER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface OcspHttpRequest {
  readonly issuerId: string;
  /** GET: the base64 request from the path, percent-decoded, and the URL as it came; POST: the body. */
  readonly input: { readonly path: string; readonly url: string } | { readonly der: Buffer | undefined };
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
}

export interface OcspHttpResponse {
  readonly statusCode: 200 | 304;
  /**
   * Every header, Content-Length included (none on 304), in an object made whole at once:
   * adding Content-Length by spreading into a new object took the lane from about 28,000 to
   * 21,000 answers a second (measured, one process).
   */
  readonly headers: Readonly<Record<string, string | number>>;
  /** Undefined for 304. */
  readonly body: Buffer | undefined;
}

/** Called when an answer failed for a reason of ours (database, key store), not the request's. */
export type OcspFailureLog = (error: unknown, status: OcspErrorStatus) => void;

/** A 200 with an OCSPResponse and no caching headers; `noStore` for what must never be reused. */
const derResponse = (body: Buffer, noStore: boolean): OcspHttpResponse => ({
  statusCode: 200,
  headers: noStore
    ? { "content-type": OCSP_RESPONSE, "cache-control": "no-store", "content-length": body.length }
    : { "content-type": OCSP_RESPONSE, "content-length": body.length },
  body,
});

/** An unsuccessful OCSPResponse (RFC 6960 §2.3). */
export const ocspErrorResponse = (status: OcspErrorStatus): OcspHttpResponse =>
  derResponse(errorResponse(status), true);

/** RFC 7232 §3.2 and §3.3, as RFC 5019 §6.2 caches use them on pre-signed responses. */
function notModified(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  entry: CachedResponse,
): boolean {
  if (ifNoneMatch !== undefined)
    return ifNoneMatch.split(",").some((tag) => tag.trim() === entry.etag || tag.trim() === "*");
  return ifModifiedSince !== undefined && Date.parse(ifModifiedSince) >= entry.thisUpdate.getTime();
}

/** RFC 5019 §6.2: fresh until the response is re-signed (never past nextUpdate), then revalidated. */
function presignedResponse(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  entry: CachedResponse,
  nowMs: number,
): OcspHttpResponse {
  const maxAge = Math.max(
    0,
    Math.floor((Math.min(entry.refreshAtMs, entry.nextUpdate.getTime()) - nowMs) / 1000),
  );
  const cacheControl = `max-age=${maxAge}, public, no-transform, must-revalidate`;
  if (notModified(ifNoneMatch, ifModifiedSince, entry))
    return {
      statusCode: 304,
      headers: {
        "cache-control": cacheControl,
        "last-modified": entry.lastModified,
        expires: entry.expires,
        etag: entry.etag,
      },
      body: undefined,
    };
  return {
    statusCode: 200,
    headers: {
      "content-type": OCSP_RESPONSE,
      "cache-control": cacheControl,
      "last-modified": entry.lastModified,
      expires: entry.expires,
      etag: entry.etag,
      "content-length": entry.der.length,
    },
    body: entry.der,
  };
}

/** Answers OCSP requests; synchronous when the answer is in this node's memory. */
export class OcspHttp {
  constructor(
    private readonly responder: OcspResponder,
    private readonly clock: Clock,
  ) {}

  respond(request: OcspHttpRequest, log: OcspFailureLog): OcspHttpResponse | Promise<OcspHttpResponse> {
    if (!ISSUER_ID.test(request.issuerId)) return ocspErrorResponse("unauthorized");
    const { input } = request;
    const get = "path" in input;
    const answer = get
      ? this.responder.answerGet(request.issuerId, input.path, input.url)
      : this.responder.answer(request.issuerId, input.der);
    if (!(answer instanceof Promise)) return this.toHttp(request, answer, get); // the hot path stays synchronous
    return answer.then(
      (resolved) => this.toHttp(request, resolved, get),
      (error: unknown) => {
        const status = errorStatusOf(error);
        log(error, status);
        return ocspErrorResponse(status);
      },
    );
  }

  /**
   * The answer to a GET from memory alone, by its URL as it came (OcspResponder.fromMemory):
   * undefined when memory does not know the URL, and then `respond` answers.
   */
  fromMemory(
    url: string,
    ifNoneMatch: string | undefined,
    ifModifiedSince: string | undefined,
  ): OcspHttpResponse | undefined {
    const nowMs = this.clock.now().getTime();
    const entry = this.responder.fromMemory(url, nowMs);
    return entry && presignedResponse(ifNoneMatch, ifModifiedSince, entry, nowMs);
  }

  private toHttp(request: OcspHttpRequest, answer: OcspAnswer, get: boolean): OcspHttpResponse {
    if (answer.error) return ocspErrorResponse(answer.error);
    if (answer.presigned && get) {
      const { ifNoneMatch, ifModifiedSince } = request;
      return presignedResponse(ifNoneMatch, ifModifiedSince, answer.presigned, this.clock.now().getTime());
    }
    // POST responses are not stored by HTTP caches anyway; a live (nonce) one must not be reused.
    return derResponse(answer.der, !answer.presigned);
  }
}
