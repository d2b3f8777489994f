/**
 * The main listener answers the token and introspection endpoints on node:http before Fastify
 * (src/sso/oauth-lane.ts). Over real HTTP every request shape must get what the Fastify routes
 * give (`inject`, which never passes the lane): the same status, headers and error bodies,
 * tokens of the same shape; and the shapes the lane leaves to Fastify must still be answered
 * by the routes. The log tells the transports apart: Fastify logs "incoming request" for
 * each request it handles, the lane does not.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { rawRequest } from "../helpers/raw-http.js";
import { createSsoHarness, type SsoHarness } from "../helpers/sso.js";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | undefined>;
  readonly body: string;
}

const COMPARED_HEADERS = [
  "content-type",
  "cache-control",
  "pragma",
  "www-authenticate",
  "connection",
] as const;
const FORM = "application/x-www-form-urlencoded";

/** What both transports must agree on; token values differ, so successful grants compare by shape. */
function comparable(answer: Answer) {
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  if (typeof body.access_token === "string")
    body.access_token = `<${body.access_token.split(".").length}-part token>`;
  return {
    status: answer.status,
    body,
    headers: Object.fromEntries(COMPARED_HEADERS.map((name) => [name, answer.headers[name]])),
  };
}

describe("the token and introspection endpoints on the main listener's lane, next to the Fastify routes", () => {
  let harness: SsoHarness;
  let basic: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    harness = await createSsoHarness("pglite", {
      env: { LOG_LEVEL: "info" },
      logStream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
          done();
        },
      }),
    });
    const client = await harness.client({
      clientId: "lane-service",
      name: "Lane service",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: ["lane.read"],
      audience: ["https://api.lane.test"],
    });
    basic = `Basic ${Buffer.from(`lane-service:${client.clientSecret}`).toString("base64")}`;
  });
  afterAll(async () => harness?.close());

  /** Over the listening socket (the lane's way in). */
  async function overHttp(
    path: string,
    body: string,
    headers: Record<string, string>,
    options: { chunked?: boolean } = {},
  ): Promise<Answer> {
    const answer = await rawRequest("POST", `${harness.issuer}${path}`, {
      headers,
      body: Buffer.from(body),
      ...options,
    });
    return { ...answer, body: answer.body.toString("utf8") };
  }

  async function throughRoutes(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
    const response = await harness.app.inject({ method: "POST", url: path, headers, payload: body });
    return {
      status: response.statusCode,
      headers: response.headers as Record<string, string | undefined>,
      body: response.body,
    };
  }

  /** "incoming request" lines Fastify logged for `path` since `from`. */
  const routedSince = (from: number, path: string) =>
    logLines.slice(from).filter((line) => line.includes('"incoming request"') && line.includes(`"${path}`))
      .length;

  it("answers every shape of token and introspection request as the routes do", async () => {
    const granted = await overHttp("/oauth/token", "grant_type=client_credentials", {
      authorization: basic,
      "content-type": FORM,
    });
    expect(granted.status, granted.body).toBe(200);
    const token = (JSON.parse(granted.body) as { access_token: string }).access_token;
    const json = { authorization: basic, "content-type": FORM };
    const cases: [string, string, string, Record<string, string>][] = [
      ["client_credentials", "/oauth/token", "grant_type=client_credentials&scope=lane.read", json],
      [
        "client_credentials, charset",
        "/oauth/token",
        "grant_type=client_credentials",
        { ...json, "content-type": `${FORM};charset=UTF-8` },
      ],
      ["scope not registered", "/oauth/token", "grant_type=client_credentials&scope=other", json],
      [
        "wrong secret",
        "/oauth/token",
        "grant_type=client_credentials",
        { ...json, authorization: "Basic bGFuZS1zZXJ2aWNlOndyb25n" },
      ],
      ["no client authentication", "/oauth/token", "grant_type=client_credentials", { "content-type": FORM }],
      ["grant_type missing", "/oauth/token", "scope=lane.read", json],
      ["unsupported grant_type", "/oauth/token", "grant_type=password", json],
      ["grant not registered", "/oauth/token", "grant_type=refresh_token&refresh_token=x", json],
      [
        "parameter twice",
        "/oauth/token",
        "grant_type=client_credentials&grant_type=client_credentials",
        json,
      ],
      ["introspection, active", "/oauth/introspect", `token=${token}&token_type_hint=access_token`, json],
      ["introspection, unknown token", "/oauth/introspect", "token=not-a-token", json],
      ["introspection, token missing", "/oauth/introspect", "token_type_hint=access_token", json],
      [
        "introspection, wrong secret",
        "/oauth/introspect",
        `token=${token}`,
        { ...json, authorization: "Basic eDp5" },
      ],
    ];
    for (const [name, path, body, headers] of cases) {
      const before = logLines.length;
      const lane = await overHttp(path, body, headers);
      expect(routedSince(before, path), `${name}: answered by the lane`).toBe(0);
      const routes = await throughRoutes(path, body, headers);
      expect(routedSince(before, path), `${name}: answered by the routes`).toBe(1);
      expect(comparable(lane), name).toEqual(comparable(routes));
      expect(lane.headers["content-length"], name).toBe(String(Buffer.byteLength(lane.body)));
    }
    const introspected = JSON.parse((await overHttp("/oauth/introspect", `token=${token}`, json)).body);
    expect(introspected).toMatchObject({ active: true, client_id: "lane-service", scope: "lane.read" });
    // The lane logs what the routes log: the OAuth error at info, and a line per answer.
    const before = logLines.length;
    await overHttp("/oauth/token", "grant_type=password", json);
    const logged = logLines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ oauthError: "unsupported_grant_type" }),
        expect.objectContaining({ msg: "request completed", res: { statusCode: 400 } }),
      ]),
    );
  });

  it("answers an unexpected failure with the application's problem document, as the routes do", async () => {
    const failing = vi
      .spyOn(harness.context.sso.endpoints, "token")
      .mockRejectedValue(new Error("database connection lost (a detail no caller may see)"));
    try {
      const headers = { authorization: basic, "content-type": FORM };
      const lane = await overHttp("/oauth/token", "grant_type=client_credentials", headers);
      const routes = await throughRoutes("/oauth/token", "grant_type=client_credentials", headers);
      expect(failing).toHaveBeenCalledTimes(2);
      const withoutRequestId = (answer: Answer) => {
        const { requestId, ...rest } = comparable(answer).body;
        expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
        return { ...comparable(answer), body: rest };
      };
      expect(withoutRequestId(lane)).toEqual(withoutRequestId(routes));
      expect(lane.status).toBe(500);
      expect(lane.headers["content-type"]).toBe("application/problem+json; charset=utf-8");
      expect(lane.body).not.toContain("database connection lost");
      const requestId = (JSON.parse(lane.body) as { requestId: string }).requestId;
      expect(
        logLines.some((line) => line.includes(requestId) && line.includes("database connection lost")),
      ).toBe(true);
    } finally {
      failing.mockRestore();
    }
  });

  it("leaves to the routes what it does not take, and they answer it", async () => {
    const headers = { authorization: basic, "content-type": FORM };
    const shapes: [string, string, string, Record<string, string>, { chunked?: boolean }][] = [
      ["query string", "/oauth/token?x=1", "grant_type=client_credentials", headers, {}],
      ["chunked body", "/oauth/token", "grant_type=client_credentials", headers, { chunked: true }],
      [
        "JSON body",
        "/oauth/token",
        '{"grant_type":"client_credentials"}',
        { ...headers, "content-type": "application/json" },
        {},
      ],
      [
        "over 8,192 bytes",
        "/oauth/token",
        `grant_type=client_credentials&scope=${"a".repeat(9000)}`,
        headers,
        {},
      ],
      [
        "another charset",
        "/oauth/token",
        "grant_type=client_credentials",
        { ...headers, "content-type": `${FORM}; charset=latin1` },
        {},
      ],
    ];
    for (const [name, path, body, requestHeaders, options] of shapes) {
      const before = logLines.length;
      const lane = await overHttp(path, body, requestHeaders, options);
      expect(routedSince(before, path.split("?")[0]!), `${name}: answered by the routes`).toBe(1);
      const routes = await throughRoutes(path, body, requestHeaders);
      expect(comparable(lane), name).toEqual(comparable(routes));
    }
  });
});
