/**
 * One request over a real socket with node:http, so that nothing is added or normalized (the
 * lane tests compare such answers with Fastify's `inject`).
 */
import { request as httpRequest } from "node:http";

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | undefined>;
  readonly body: Buffer;
}

export interface RawRequestOptions {
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  /** Sent in two chunks without Content-Length (Transfer-Encoding: chunked). */
  readonly chunked?: boolean;
}

export function rawRequest(method: string, url: string, options: RawRequestOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body && !options.chunked) headers["content-length"] = String(options.body.length);
    const outgoing = httpRequest(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers as Record<string, string | undefined>,
          body: Buffer.concat(chunks),
        }),
      );
      response.on("error", reject);
    });
    outgoing.on("error", reject);
    if (options.chunked && options.body) {
      outgoing.write(options.body.subarray(0, 5));
      outgoing.write(options.body.subarray(5));
    }
    outgoing.end(options.chunked ? undefined : options.body);
  });
}
