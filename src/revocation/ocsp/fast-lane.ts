/**
 * OCSP on the main listener, answered on node:http before Fastify sees the request (a lane,
 * src/lanes.ts): a responder's hot path is a lookup in memory and a send, and through Fastify
 * it ran at half the rate of bare node:http (measured, one process: about 18,000 pre-signed
 * GET answers a second, against 37,000 for a constant answer). The answers are http.ts's,
 * exactly as the Fastify routes (routes.ts) give them.
 *
 * The lane takes only the two shapes it can answer whole:
 *   GET  /ocsp/<issuer>/<request>  no query string, percent-decoding that succeeds;
 *   POST /ocsp/<issuer>            a Content-Length within the OCSP request limit.
 * Everything else (HEAD, chunked or oversized bodies, undecodable paths, …) goes on to
 * Fastify, whose OCSP routes and error handlers answer it.
 */
import type { ServerResponse } from "node:http";
import { type Lane, readBody } from "../../lanes.js";
import { OCSP_PATH_PREFIX, type OcspFailureLog, type OcspHttp, type OcspHttpResponse } from "./http.js";
import { MAX_REQUEST_BYTES } from "./request.js";

function write(response: ServerResponse, answer: OcspHttpResponse): void {
  response.writeHead(answer.statusCode, answer.headers).end(answer.body);
}

function send(response: ServerResponse, answer: OcspHttpResponse | Promise<OcspHttpResponse>): void {
  if (answer instanceof Promise)
    void answer.then(
      (resolved) => write(response, resolved),
      // OcspHttp turns every failure of ours into an OCSP answer: what is left is a socket gone meanwhile.
      () => response.destroy(),
    );
  else write(response, answer);
}

/** The base64 request of a GET's path, percent-decoded; undefined when there is none or it cannot be decoded. */
function requestInPath(url: string, slash: number): string | undefined {
  if (slash === -1 || slash === url.length - 1) return undefined;
  const path = url.slice(slash + 1);
  if (!path.includes("%")) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined; // Fastify's frameworkErrors answer malformedRequest
  }
}

export function ocspLane(ocsp: OcspHttp, log: OcspFailureLog): Lane {
  return (request, response) => {
    const { url, headers } = request;
    if (url === undefined || !url.startsWith(OCSP_PATH_PREFIX) || url.includes("?")) return false;

    if (request.method === "GET") {
      const ifNoneMatch = headers["if-none-match"];
      const ifModifiedSince = headers["if-modified-since"];
      const known = ocsp.fromMemory(url, ifNoneMatch, ifModifiedSince); // the hot path: nothing parsed
      if (known) {
        write(response, known);
        return true;
      }
      const slash = url.indexOf("/", OCSP_PATH_PREFIX.length);
      const path = requestInPath(url, slash);
      if (path === undefined) return false;
      const issuerId = url.slice(OCSP_PATH_PREFIX.length, slash);
      send(response, ocsp.respond({ issuerId, input: { path, url }, ifNoneMatch, ifModifiedSince }, log));
      return true;
    }

    if (request.method === "POST") {
      const length = Number(headers["content-length"]);
      if (url.includes("/", OCSP_PATH_PREFIX.length) || !(length >= 0 && length <= MAX_REQUEST_BYTES))
        return false;
      const issuerId = url.slice(OCSP_PATH_PREFIX.length);
      readBody(request, response, (der) =>
        send(
          response,
          ocsp.respond({ issuerId, input: { der }, ifNoneMatch: undefined, ifModifiedSince: undefined }, log),
        ),
      );
      return true;
    }
    return false;
  };
}
