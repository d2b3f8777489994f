/**
 * The token and introspection endpoints on the main listener, answered on node:http before
 * Fastify sees the request (a lane, src/lanes.ts): a client_credentials grant or an
 * introspection is a few microseconds of our own work beside a signature or a lookup in
 * memory, and Fastify's routing, body parsing, validation and request logger cost a fifth of
 * the process's time on them (perf, bench:sso). The answers are OAuthEndpoints'
 * (oauth-endpoints.ts), which the Fastify routes send too.
 *
 * The lane takes only requests it can answer exactly as those routes would:
 *   POST /oauth/token or /oauth/introspect, no query string, no Transfer-Encoding,
 *   Content-Type application/x-www-form-urlencoded (with `charset=utf-8` at most),
 *   a Content-Length of 1 to 8,192 bytes (so that no parameter can exceed the routes'
 *   schema limit of 8,192 characters, and the body its 64 KiB).
 * Everything else goes on to Fastify. The lane logs what the routes log: each OAuth error at
 * info, and a line per answer when the log level is info or below (Fastify logs two).
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { type Lane, readBody } from "../lanes.js";
import { ENDPOINTS } from "./discovery.js";
import { MAX_PARAMETER_LENGTH, parseForm } from "./form-body.js";
import {
  type OAuthAnswer,
  type OAuthCall,
  type OAuthEndpoints,
  oauthErrorAnswer,
} from "./oauth-endpoints.js";
import { OAuthError } from "./oauth-error.js";

/** A body no longer than the routes' limit on one parameter cannot have a parameter over it. */
const MAX_BODY_BYTES = MAX_PARAMETER_LENGTH;
const FORM = /^application\/x-www-form-urlencoded(?:\s*;\s*charset=utf-8)?$/i;

export interface OAuthLaneLog {
  info(fields: object, message: string): void;
}

export interface OAuthLaneOptions {
  readonly endpoints: OAuthEndpoints;
  readonly log: OAuthLaneLog;
  /** Whether each answer is logged (the log level is info or below, where Fastify logs each request). */
  readonly logAnswers: boolean;
  /** The answer to anything but an OAuthError (the application's problem document). */
  readonly failure: (error: unknown, url: string) => OAuthAnswer;
}

type Endpoint = (call: OAuthCall) => Promise<OAuthAnswer>;

export function oauthLane(options: OAuthLaneOptions): Lane {
  const { endpoints, log } = options;
  const routes = new Map<string, Endpoint>([
    [ENDPOINTS.token, (call) => endpoints.token(call)],
    [ENDPOINTS.introspection, (call) => endpoints.introspection(call)],
  ]);

  async function answer(endpoint: Endpoint, request: IncomingMessage, body: string): Promise<OAuthAnswer> {
    let params: Record<string, string>;
    try {
      params = parseForm(body);
    } catch (error) {
      // Fastify closes the connection when its body parser fails (the client may send more).
      return withClose(problem(error, request));
    }
    try {
      return await endpoint({
        params,
        authorization: request.headers.authorization,
        connection: request.socket,
        certificate: undefined, // the main listener is plain HTTP; client certificates come by the mTLS listener
      });
    } catch (error) {
      return problem(error, request);
    }
  }

  function problem(error: unknown, request: IncomingMessage): OAuthAnswer {
    if (!(error instanceof OAuthError)) return options.failure(error, request.url!);
    log.info({ oauthError: error.error }, error.description);
    return oauthErrorAnswer(error);
  }

  return (request, response) => {
    const endpoint = request.method === "POST" ? routes.get(request.url ?? "") : undefined;
    if (!endpoint) return false;
    const { headers } = request;
    const length = Number(headers["content-length"]);
    if (
      headers["transfer-encoding"] !== undefined ||
      !(length >= 1 && length <= MAX_BODY_BYTES) ||
      !FORM.test(headers["content-type"] ?? "")
    )
      return false;
    const started = performance.now();
    // UTF-8 decoded once, whole, as Fastify's string body parser does.
    readBody(request, response, (body) =>
      answer(endpoint, request, body.toString("utf8")).then(
        (answered) => {
          response.writeHead(answered.statusCode, answered.headers).end(answered.body);
          if (options.logAnswers)
            log.info(
              {
                reqId: randomUUID(),
                req: { method: request.method, url: request.url },
                res: { statusCode: answered.statusCode },
                responseTime: performance.now() - started,
              },
              "request completed",
            );
        },
        () => response.destroy(), // `answer` turns every failure into an answer: what is left is a socket gone
      ),
    );
    return true;
  };
}

const withClose = (answer: OAuthAnswer): OAuthAnswer => ({
  ...answer,
  headers: { ...answer.headers, connection: "close" },
});
