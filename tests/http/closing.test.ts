/**
 * While the service closes (SIGTERM, a deploy), requests still arriving get 503 with
 * `Connection: close` (Fastify's return503OnClosing), so that a load balancer retries them on
 * another node — also the OCSP and OAuth requests the main listener's lanes answer before
 * Fastify (src/lanes.ts), which would otherwise still be answered by a node going away.
 */
import { describe, expect, it } from "vitest";
import { createHarness } from "../helpers/harness.js";
import { buildOcspRequest } from "../helpers/ocsp.js";
import { type RawAnswer, rawRequest } from "../helpers/raw-http.js";

describe("a closing service", () => {
  it("answers 503 with Connection: close on every path, the lanes' included", async () => {
    const harness = await createHarness("pglite");
    let base = "";
    const ocsp = buildOcspRequest(harness.context.issuers.get("issuing-1").row.certificate, "01");
    const requests = {
      ocspGet: () =>
        rawRequest("GET", `${base}/ocsp/issuing-1/${encodeURIComponent(ocsp.toString("base64"))}`),
      ocspPost: () =>
        rawRequest("POST", `${base}/ocsp/issuing-1`, {
          headers: { "content-type": "application/ocsp-request" },
          body: ocsp,
        }),
      token: () =>
        rawRequest("POST", `${base}/oauth/token`, {
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: Buffer.from("grant_type=client_credentials&client_id=nobody&client_secret=x"),
        }),
      health: () => rawRequest("GET", `${base}/healthz`),
    };
    type Answers = Record<string, RawAnswer>;
    const ask = async (): Promise<Answers> => {
      const answers: Answers = {};
      for (const [name, send] of Object.entries(requests)) answers[name] = await send();
      return answers;
    };
    let duringClose: Answers | undefined;
    // Registered after the application's own preClose hook, so it runs once closing has begun,
    // before the server stops listening.
    harness.app.addHook("preClose", async () => {
      duringClose = await ask();
    });
    base = await harness.app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const before = await ask();
      expect(before.ocspGet!.status).toBe(200);
      expect(before.ocspPost!.status).toBe(200);
      expect(before.token!.status).toBe(401);
      expect(before.health!.status).toBe(200);
    } finally {
      await harness.close();
    }
    expect(duringClose).toBeDefined();
    for (const [name, answer] of Object.entries(duringClose!)) {
      expect({ name, status: answer.status, connection: answer.headers.connection }).toEqual({
        name,
        status: 503,
        connection: "close",
      });
    }
  });
});
