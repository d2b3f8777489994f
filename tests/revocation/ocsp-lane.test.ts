/**
 * The main listener answers OCSP on node:http before Fastify (src/revocation/ocsp/fast-lane.ts).
 * Over real HTTP, every request shape must get exactly what the Fastify routes give (`inject`,
 * which never passes the lane): the same status, bytes and caching headers; and the shapes the
 * lane leaves to Fastify (HEAD, undecodable paths, query strings, chunked or oversized bodies)
 * must still be answered by the routes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { OcspHttp } from "../../src/revocation/ocsp/http.js";
import { MAX_REQUEST_BYTES } from "../../src/revocation/ocsp/request.js";
import { createHarness, type Harness, issueTlsServer } from "../helpers/harness.js";
import { buildOcspRequest, parseOcspResponse } from "../helpers/ocsp.js";
import { type RawAnswer, type RawRequestOptions, rawRequest } from "../helpers/raw-http.js";

type Answer = RawAnswer;

const COMPARED_HEADERS = ["content-type", "cache-control", "etag", "last-modified", "expires"] as const;

/** The headers both transports must agree on (max-age may differ by the second between two answers). */
const comparable = (answer: Answer) => ({
  status: answer.status,
  body: answer.body.toString("base64"),
  headers: Object.fromEntries(
    COMPARED_HEADERS.map((name) => [name, answer.headers[name]?.replace(/max-age=\d+/, "max-age=N")]),
  ),
});

describe("OCSP on the main listener's lane, next to the Fastify routes", () => {
  let harness: Harness;
  let base: string;
  let good: string;
  let revoked: string;
  const fromMemory = vi.spyOn(OcspHttp.prototype, "fromMemory");

  beforeAll(async () => {
    harness = await createHarness("pglite");
    base = await harness.app.listen({ host: "127.0.0.1", port: 0 });
    good = (await issueTlsServer(harness, "lane-good")).serial;
    revoked = (await issueTlsServer(harness, "lane-revoked")).serial;
    const revocation = await harness.app.inject({
      method: "POST",
      url: `/api/v1/certificates/${revoked}/revoke`,
      headers: { authorization: `Bearer ${harness.adminToken}` },
      payload: { reason: "keyCompromise" },
    });
    expect(revocation.statusCode, revocation.body).toBe(200);
  });
  afterEach(() => fromMemory.mockClear());
  afterAll(async () => {
    fromMemory.mockRestore();
    await harness?.close();
  });

  const ocspRequest = (serial: string, hash: "sha1" | "sha256" = "sha1", nonce?: Buffer) =>
    buildOcspRequest(harness.context.issuers.get("issuing-1").row.certificate, serial, hash, nonce);

  const overHttp = (method: string, path: string, options: RawRequestOptions = {}): Promise<Answer> =>
    rawRequest(method, `${base}${path}`, options);

  async function throughRoutes(
    method: "GET" | "POST" | "HEAD",
    path: string,
    options: { headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Answer> {
    const response = await harness.app.inject({
      method,
      url: path,
      headers: options.headers ?? {},
      ...(options.body ? { payload: options.body } : {}),
    });
    return {
      status: response.statusCode,
      headers: response.headers as Record<string, string | undefined>,
      body: response.rawPayload,
    };
  }

  const getPath = (der: Buffer, encode = true) =>
    `/ocsp/issuing-1/${encode ? encodeURIComponent(der.toString("base64")) : der.toString("base64")}`;
  const statusOf = (answer: Answer) => parseOcspResponse(answer.body);

  it("answers GET and POST as the routes do: good, revoked, SHA-256, unknown issuer, garbage", async () => {
    const cases: [string, "GET" | "POST", string, Buffer | undefined][] = [
      ["GET good", "GET", getPath(ocspRequest(good)), undefined],
      ["GET good, not percent-encoded", "GET", getPath(ocspRequest(good), false), undefined],
      ["GET revoked", "GET", getPath(ocspRequest(revoked)), undefined],
      ["GET SHA-256", "GET", getPath(ocspRequest(good, "sha256")), undefined],
      [
        "GET unknown issuer",
        "GET",
        `/ocsp/nobody/${encodeURIComponent(ocspRequest(good).toString("base64"))}`,
        undefined,
      ],
      [
        "GET bad issuer id",
        "GET",
        `/ocsp/UPPER/${encodeURIComponent(ocspRequest(good).toString("base64"))}`,
        undefined,
      ],
      ["GET not base64", "GET", "/ocsp/issuing-1/not*base64", undefined],
      ["GET base64 of garbage", "GET", getPath(Buffer.from("garbage")), undefined],
      ["POST good", "POST", "/ocsp/issuing-1", ocspRequest(good)],
      ["POST revoked", "POST", "/ocsp/issuing-1", ocspRequest(revoked)],
      ["POST unknown issuer", "POST", "/ocsp/nobody", ocspRequest(good)],
      ["POST garbage", "POST", "/ocsp/issuing-1", Buffer.from([0x30, 0x03, 0x02, 0x01])],
      ["POST empty", "POST", "/ocsp/issuing-1", Buffer.alloc(0)],
    ];
    for (const [name, method, path, body] of cases) {
      // Twice over HTTP: the second GET is answered from the URL memo.
      for (let round = 0; round < 2; round++) {
        const lane = await overHttp(method, path, body ? { body } : {});
        const routes = await throughRoutes(method, path, body ? { body } : {});
        expect(comparable(lane), `${name} (${round})`).toEqual(comparable(routes));
        expect(lane.headers["content-length"], name).toBe(String(lane.body.length));
      }
    }
    expect(statusOf(await overHttp("GET", getPath(ocspRequest(revoked)))).basic?.responses[0]?.status).toBe(
      "revoked",
    );
    expect(fromMemory).toHaveBeenCalled(); // the lane answered the requests over HTTP
  });

  it("answers live (nonce) POSTs no-store, echoing the nonce", async () => {
    const nonce = Buffer.alloc(32, 7);
    const lane = await overHttp("POST", "/ocsp/issuing-1", { body: ocspRequest(good, "sha1", nonce) });
    expect(lane.status).toBe(200);
    expect(lane.headers["cache-control"]).toBe("no-store");
    const parsed = statusOf(lane);
    expect(parsed.basic?.nonce?.equals(nonce)).toBe(true);
    expect(parsed.basic?.responses[0]?.status).toBe("good");
  });

  it("answers conditional GETs with 304, from memory as by the routes", async () => {
    const path = getPath(ocspRequest(good));
    const first = await overHttp("GET", path);
    const etag = first.headers.etag!;
    const lastModified = first.headers["last-modified"]!;
    const conditions: Record<string, string>[] = [
      { "if-none-match": etag },
      { "if-none-match": `"other", ${etag}` },
      { "if-none-match": "*" },
      { "if-modified-since": lastModified },
    ];
    for (const headers of conditions) {
      const lane = await overHttp("GET", path, { headers });
      expect(lane.status, JSON.stringify(headers)).toBe(304);
      expect(lane.body.length).toBe(0);
      expect(lane.headers.etag).toBe(etag);
      expect(comparable(lane)).toEqual(comparable(await throughRoutes("GET", path, { headers })));
    }
    const changed = await overHttp("GET", path, { headers: { "if-none-match": '"other"' } });
    expect(changed.status).toBe(200);
    expect(changed.body.equals(first.body)).toBe(true);
  });

  it("leaves to the routes what it does not take, and they answer it", async () => {
    const der = ocspRequest(good);
    const goodAnswer = (answer: Answer) => {
      expect(answer.status).toBe(200);
      expect(statusOf(answer).basic?.responses[0]?.status).toBe("good");
    };
    goodAnswer(await overHttp("GET", `${getPath(der)}?cache-buster=1`)); // a query string
    goodAnswer(await overHttp("POST", "/ocsp/issuing-1", { body: der, chunked: true })); // no Content-Length
    expect(fromMemory).not.toHaveBeenCalledWith(expect.stringContaining("?"), undefined, undefined);

    const head = await overHttp("HEAD", getPath(der));
    expect(head.status).toBe(200);
    expect(head.headers["content-type"]).toBe("application/ocsp-response");
    expect(head.body.length).toBe(0);

    for (const [name, answer] of [
      ["undecodable percent-encoding", await overHttp("GET", "/ocsp/issuing-1/%E0%A4%A")],
      [
        "a body over the limit",
        await overHttp("POST", "/ocsp/issuing-1", { body: Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x30) }),
      ],
    ] as const) {
      expect(answer.status, name).toBe(200);
      expect(statusOf(answer).status, name).toBe(1); // malformedRequest (RFC 6960 §2.3)
      expect(answer.headers["cache-control"], name).toBe("no-store");
    }
  });

  it("stops answering a URL from memory once the certificate's status changed", async () => {
    const serial = (await issueTlsServer(harness, "lane-change")).serial;
    const path = getPath(ocspRequest(serial));
    for (let round = 0; round < 2; round++)
      expect(statusOf(await overHttp("GET", path)).basic?.responses[0]?.status).toBe("good");
    const hold = await harness.app.inject({
      method: "POST",
      url: `/api/v1/certificates/${serial}/hold`,
      headers: { authorization: `Bearer ${harness.adminToken}` },
      payload: {},
    });
    expect(hold.statusCode, hold.body).toBe(200);
    const after = statusOf(await overHttp("GET", path)).basic?.responses[0];
    expect(after?.status).toBe("revoked");
    expect(after?.reason).toBe(6); // certificateHold
  });
});
