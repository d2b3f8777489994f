/**
 * Lanes: hot paths answered on node:http before Fastify's routing (Fastify's per-request work
 * costs about as much as node:http's own on a trivial answer). A lane takes a request only
 * when it can answer it whole; everything else, and everything that reaches the application
 * by `inject` or the mTLS listener, goes through Fastify's routes, which give the same
 * answers (each lane says which routes it shadows).
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";

/** Answers the request and returns true, or returns false and leaves it untouched. */
export type Lane = (request: IncomingMessage, response: ServerResponse) => boolean;

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** The options Fastify hands its server factory (defaults filled in) that a server of its own gets. */
interface ServerSettings {
  readonly http?: ServerOptions;
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
  readonly connectionTimeout: number;
  readonly maxRequestsPerSocket?: number;
}

/**
 * A Fastify `serverFactory`: the HTTP server Fastify would make (same timeouts), whose
 * requests try `lanes()` in order first. `lanes` is read at the first request, after the
 * application is built. Once `draining()` says so (the application is closing), every request
 * goes to Fastify, which answers 503 with `Connection: close` (`return503OnClosing`) so that
 * a load balancer sends the client to another node.
 */
export function serverWithLanes(lanes: () => readonly Lane[], draining: () => boolean) {
  return (fastifyHandler: Handler, fastifyOptions: Record<string, unknown>): Server => {
    const options = fastifyOptions as unknown as ServerSettings;
    let ready: readonly Lane[] | undefined;
    const server = createServer(options.http ?? {}, (request, response) => {
      ready ??= lanes();
      if (!draining()) for (const lane of ready) if (lane(request, response)) return;
      fastifyHandler(request, response);
    });
    // What Fastify sets on a server it makes itself (fastify/lib/server.js).
    server.keepAliveTimeout = options.keepAliveTimeout;
    server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}

/** Reads the whole body (node:http stops at its Content-Length) and hands it on; a failed read ends the connection. */
export function readBody(
  request: IncomingMessage,
  response: ServerResponse,
  done: (body: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  request.on("error", () => response.destroy());
}
