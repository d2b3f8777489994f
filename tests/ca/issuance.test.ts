import { X509Certificate } from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCsrPem, sharedTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe.each(ENGINES)("issuance over HTTP on %s", (engine) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness(engine);
  });
  afterAll(async () => harness?.close());

  const issue = (token: string, body: object, accept = "application/json") =>
    harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(token), accept },
      payload: body,
    });

  it("issues a tls-server certificate whose subject comes from the caller, not the CSR", async () => {
    const csr = buildCsrPem({
      commonName: "evil.example.com",
      names: [{ type: "dns", value: "www.gov.test" }],
    });
    const response = await issue(harness.adminToken, {
      csr,
      profile: "tls-server",
      subject: { orgUnit: "gov" },
    });
    expect(response.statusCode, response.body).toBe(201);
    const body = response.json();
    const certificate = new X509Certificate(body.certificate);
    expect(certificate.subject).toContain("CN=www.gov.test");
    expect(certificate.subject).not.toContain("evil");
    expect(certificate.serialNumber).toHaveLength(32);
    expect(body.chain).toHaveLength(2);
    const rows = await harness.context.db.query("SELECT serial FROM certificates");
    expect(rows.rows).toEqual([{ serial: body.serial }]);
  });

  it("answers with a PEM chain by default and DER on request", async () => {
    const csr = buildCsrPem({ key: sharedTestKey("p384"), names: [{ type: "dns", value: "a.gov.test" }] });
    const pem = await issue(
      harness.adminToken,
      { csr, profile: "tls-server", subject: { orgUnit: "gov" } },
      "*/*",
    );
    expect(pem.headers["content-type"]).toContain("application/pem-certificate-chain");
    expect(pem.body.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const der = await issue(
      harness.adminToken,
      { csr, profile: "tls-server", subject: { orgUnit: "gov" } },
      "application/pkix-cert",
    );
    expect(der.headers["content-type"]).toContain("application/pkix-cert");
    expect(der.rawPayload[0]).toBe(0x30);
  });
});

describe.each(ENGINES)("compromised-key blocklist on %s", (engine) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness(engine);
  });
  afterAll(async () => harness?.close());

  it("refuses to certify a blocklisted key, even among concurrent requests for other keys", async () => {
    const { createPublicKey } = await import("node:crypto");
    const { blockKey } = await import("../../db/stores/blocklist.js");
    const { spkiSha256 } = await import("../../src/pki/public-key.js");
    const { generateTestKey } = await import("../helpers/csr.js");
    const compromised = generateTestKey("p256");
    const spki = createPublicKey(compromised).export({ format: "der", type: "spki" });
    await blockKey(harness.context.db, spkiSha256(spki), "keyCompromise");
    const post = (key = generateTestKey("p256")) =>
      harness.app.inject({
        method: "POST",
        url: "/api/v1/certificates",
        headers: bearer(harness.adminToken),
        payload: {
          csr: buildCsrPem({ key }),
          profile: "tls-client",
          subject: { orgUnit: "gov", commonName: "x" },
        },
      });
    const responses = await Promise.all([post(), post(compromised), post(), post()]);
    expect(responses.map((r) => r.statusCode)).toEqual([201, 400, 201, 201]);
    expect(responses[1]!.json()).toMatchObject({ code: "csr-key-blocklisted" });
    const stored = await harness.context.db.query("SELECT 1 FROM certificates WHERE spki_sha256 = $1", [
      spkiSha256(spki),
    ]);
    expect(stored.rows).toHaveLength(0);
  });
});
