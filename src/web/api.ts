/**
 * The portal acts only through the REST API, in-process (Fastify inject), with the user's
 * access token: the API's RBAC and org scope decide, as for any other client of it. There is
 * no second permission system in the portal: a page shows what the API let it read.
 */
import type { FastifyInstance } from "fastify";

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

export interface ApiRequest {
  readonly method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly url: string;
  readonly body?: object;
  readonly accept?: string;
}

export interface ApiCaller {
  json<T>(request: ApiRequest): Promise<T>;
  /** The raw answer (a certificate chain, a PKCS#12 file), with its media type. */
  bytes(request: ApiRequest): Promise<{ body: Buffer; type: string }>;
}

export function apiCaller(app: FastifyInstance, accessToken: string): ApiCaller {
  async function call(request: ApiRequest) {
    const response = await app.inject({
      method: request.method ?? "GET",
      url: request.url,
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: request.accept ?? "application/json",
        ...(request.body ? { "content-type": "application/json" } : {}),
      },
      ...(request.body ? { payload: JSON.stringify(request.body) } : {}),
    });
    if (response.statusCode >= 400) {
      let problem: { code?: string; detail?: string } = {};
      try {
        problem = response.json();
      } catch {
        // not a problem document: the status says enough
      }
      throw new ApiError(
        response.statusCode,
        problem.code ?? "error",
        problem.detail ?? `the API answered ${response.statusCode}`,
      );
    }
    return response;
  }
  return {
    async json<T>(request: ApiRequest) {
      return (await call(request)).json() as T;
    },
    async bytes(request: ApiRequest) {
      const response = await call(request);
      return { body: response.rawPayload, type: String(response.headers["content-type"] ?? "") };
    },
  };
}
