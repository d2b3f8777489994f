/**
 * The whole CA on a SoftHSMv2 token: the hierarchy is generated on the token, issued
 * certificates verify with `openssl verify`, and when the token disappears the API answers
 * 503 hsm-unavailable and /readyz says so, until the token is back (no restart).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openKeyStore } from "../../hsm-adapters/open.js";
import { createSoftHsmToken, type SoftHsmToken } from "../../hsm-adapters/softhsm.js";
import { encodePem } from "../../src/pki/pem.js";
import { buildCsrPem, sharedTestKey } from "../helpers/csr.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

const run = promisify(execFile);

describe("the CA on a SoftHSMv2 token", () => {
  let directory: string;
  let token: SoftHsmToken;
  let harness: Harness;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "ca-softhsm-"));
    token = await createSoftHsmToken({ directory: join(directory, "token"), label: "gov-ca" });
    const keyStore = await openKeyStore(token.uri({ "x-probe-seconds": 1 }));
    harness = await createHarness("pglite", { keyStore });
  });
  afterAll(async () => {
    await harness?.close();
    await rm(directory, { recursive: true, force: true });
  });

  const issue = (profile: string, payload: Record<string, unknown>) =>
    harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/pem-certificate-chain" },
      payload: { profile, subject: { orgUnit: "gov", commonName: "Li Lei" }, ...payload },
    });

  it("generated the CA keys on the token", async () => {
    expect(harness.context.keyStore.kind).toBe("pkcs11");
    for (const issuer of harness.context.issuers.all()) {
      const key = await harness.context.keyStore.getKey({ label: issuer.row.key_label });
      expect(key?.algorithm).toBe("ecdsa-p256");
    }
    const records = await harness.context.db.query<{ details: { keyStore: string } }>(
      "SELECT details FROM audit_log WHERE action LIKE 'ca.create-%'",
    );
    expect(records.rows.map((row) => row.details.keyStore)).toEqual(["pkcs11", "pkcs11"]);
  });

  it("signs SSO tokens on the token: the JWKS key is the token's, and a token verifies with it", async () => {
    const key = harness.context.sso.keys.active();
    const onToken = await harness.context.keyStore.getKey({ label: key.label });
    expect(onToken?.algorithm).toBe("ecdsa-p256");
    const jwks = await harness.app.inject({ method: "GET", url: "/oauth/jwks" });
    const published = jwks.json().keys[0];
    expect(published.kid).toBe(key.kid);
    const client = await harness.app.inject({
      method: "POST",
      url: "/api/v1/clients",
      headers: bearer(harness.adminToken),
      payload: {
        clientId: "hsm-check",
        name: "HSM",
        tokenEndpointAuthMethod: "client_secret_basic",
        grantTypes: ["client_credentials"],
        scopes: [],
      },
    });
    const response = await harness.app.inject({
      method: "POST",
      url: "/oauth/token",
      headers: {
        authorization: `Basic ${Buffer.from(`hsm-check:${client.json().clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: "grant_type=client_credentials",
    });
    expect(response.statusCode).toBe(200);
    const { payload } = await jwtVerify(response.json().access_token, createLocalJWKSet(jwks.json()), {
      issuer: "http://ca.test",
      typ: "at+jwt",
    });
    expect(payload.client_id).toBe("hsm-check");
  });

  it("issues certificates that openssl verify accepts", async () => {
    const root = harness.context.issuers.get("root-1").row.certificate;
    await writeFile(join(directory, "root.pem"), encodePem("CERTIFICATE", root));
    const cases = [
      [
        "tls-server",
        {
          csr: buildCsrPem({ names: [{ type: "dns", value: "hsm.gov.test" }] }),
          subject: { orgUnit: "gov" },
        },
      ],
      ["user-signing", { csr: buildCsrPem({ key: sharedTestKey("p384") }) }],
      ["tls-client", { csr: buildCsrPem({ key: sharedTestKey("ed25519") }) }],
    ] as const;
    for (const [profile, payload] of cases) {
      const response = await issue(profile, payload);
      expect(response.statusCode, response.body).toBe(201);
      const chain = join(directory, `${profile}.pem`);
      await writeFile(chain, response.body);
      const { stdout } = await run("openssl", [
        "verify",
        "-CAfile",
        join(directory, "root.pem"),
        "-untrusted",
        chain,
        chain,
      ]);
      expect(stdout.trim()).toBe(`${chain}: OK`);
    }
  });

  it("answers 503 hsm-unavailable while the token is gone and recovers by itself", async () => {
    const csr = buildCsrPem({ names: [{ type: "dns", value: "down.gov.test" }] });
    await rename(token.tokenDirectory, `${token.tokenDirectory}.away`);
    try {
      let response = await issue("tls-server", { csr, subject: { orgUnit: "gov" } });
      for (let i = 0; i < 50 && response.statusCode === 201; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        response = await issue("tls-server", { csr, subject: { orgUnit: "gov" } });
      }
      expect(response.statusCode).toBe(503);
      expect(response.headers["content-type"]).toContain("application/problem+json");
      expect(response.json()).toMatchObject({
        code: "hsm-unavailable",
        type: "urn:gov-ca:problem:hsm-unavailable",
      });
      const ready = await harness.app.inject({ url: "/readyz" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks.keyStore).toBe("unavailable");
    } finally {
      await rename(`${token.tokenDirectory}.away`, token.tokenDirectory);
    }
    let recovered = 0;
    for (let i = 0; i < 100 && recovered === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if ((await issue("tls-server", { csr, subject: { orgUnit: "gov" } })).statusCode === 201) recovered++;
    }
    expect(recovered).toBe(1);
    expect((await harness.app.inject({ url: "/readyz" })).statusCode).toBe(200);
  });
});
