/**
 * Service-to-service calls (RFC 6749 §4.4) with openid-client as the client, and resource
 * servers validating the token both ways: locally with the JWKS (RFC 9068) and through
 * introspection (RFC 7662); then revocation (RFC 7009) and a disabled client.
 */
import { Agent, request as httpRequest } from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINES } from "../helpers/databases.js";
import { bearer } from "../helpers/harness.js";
import { createSsoHarness, type SsoHarness } from "../helpers/sso.js";

describe.each(ENGINES)("client credentials, JWT access tokens, introspection (%s)", (engine) => {
  let harness: SsoHarness;
  let service: oidc.Configuration;
  let resourceServer: oidc.Configuration;

  beforeAll(async () => {
    harness = await createSsoHarness(engine);
    const registered = await harness.client({
      clientId: "tax-batch",
      name: "Tax office batch",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: ["tax.read", "tax.write"],
      audience: ["https://tax.gov.test"],
    });
    service = await harness.discover(registered.clientId, registered.clientSecret!);
    const rs = await harness.client({
      clientId: "tax-api",
      name: "Tax API (resource server)",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: [],
    });
    resourceServer = await harness.discover(rs.clientId, rs.clientSecret!);
  });
  afterAll(async () => harness?.close());

  it("publishes discovery metadata that openid-client accepts", () => {
    const metadata = service.serverMetadata();
    expect(metadata.issuer).toBe(harness.issuer);
    expect(metadata.code_challenge_methods_supported).toEqual(["S256"]);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
  });

  it("issues an RFC 9068 access token that verifies with the JWKS", async () => {
    const tokens = await oidc.clientCredentialsGrant(service, { scope: "tax.read" });
    expect(tokens.token_type).toBe("bearer");
    expect(tokens.scope).toBe("tax.read");
    expect(tokens.refresh_token).toBeUndefined();
    const jwks = createRemoteJWKSet(new URL(service.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: harness.issuer,
      audience: "https://tax.gov.test",
      typ: "at+jwt",
    });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({ sub: "tax-batch", client_id: "tax-batch", scope: "tax.read" });
  });

  it("answers no-store on the token endpoint", async () => {
    const response = await fetch(`${harness.issuer}/oauth/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from("nobody:nothing").toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("www-authenticate")).toContain("Basic");
    expect(await response.json()).toMatchObject({ error: "invalid_client" });
  });

  it("refuses a scope the client was not given (invalid_scope)", async () => {
    await expect(oidc.clientCredentialsGrant(service, { scope: "tax.admin" })).rejects.toMatchObject({
      error: "invalid_scope",
    });
  });

  it("refuses a wrong secret, and a parameter given twice", async () => {
    const wrong = await harness.discover("tax-batch", "not-the-secret");
    await expect(oidc.clientCredentialsGrant(wrong)).rejects.toMatchObject({
      status: 401,
      code: "OAUTH_WWW_AUTHENTICATE_CHALLENGE",
    });
    const response = await fetch(`${harness.issuer}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&grant_type=client_credentials",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_request" });
  });

  it("introspects active tokens, and inactive once revoked (RFC 7009)", async () => {
    const tokens = await oidc.clientCredentialsGrant(service, { scope: "tax.write" });
    const active = await oidc.tokenIntrospection(resourceServer, tokens.access_token);
    expect(active).toMatchObject({
      active: true,
      client_id: "tax-batch",
      scope: "tax.write",
      token_type: "Bearer",
    });
    // Another client's revocation request does nothing (RFC 7009 §2.1).
    await oidc.tokenRevocation(resourceServer, tokens.access_token);
    expect((await oidc.tokenIntrospection(resourceServer, tokens.access_token)).active).toBe(true);
    await oidc.tokenRevocation(service, tokens.access_token);
    expect(await oidc.tokenIntrospection(resourceServer, tokens.access_token)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(resourceServer, "garbage")).toEqual({ active: false });
  });

  it("checks Basic credentials again on a kept-alive connection whenever they or the client change", async () => {
    const registered = await harness.client({
      clientId: "keep-alive",
      name: "One connection",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: [],
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const post = (path: string, secret: string, body: string) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const outgoing = httpRequest(
          `${harness.issuer}${path}`,
          {
            method: "POST",
            agent,
            headers: {
              authorization: `Basic ${Buffer.from(`keep-alive:${secret}`).toString("base64")}`,
              "content-type": "application/x-www-form-urlencoded",
            },
          },
          (response) => {
            sockets.add(response.socket);
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () =>
              resolve({ status: response.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }),
            );
          },
        );
        outgoing.on("error", reject);
        outgoing.end(body);
      });
    const secret = registered.clientSecret!;
    const grant = "grant_type=client_credentials";
    try {
      expect((await post("/oauth/token", secret, grant)).status).toBe(200);
      expect((await post("/oauth/token", secret, grant)).status).toBe(200);
      // Another last character (a fixed "A" would be no change at all for 1 secret in 64).
      const wrong = await post(
        "/oauth/token",
        `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`,
        grant,
      );
      expect(wrong).toMatchObject({ status: 401, body: { error: "invalid_client" } });
      expect((await post("/oauth/introspect", secret, "token=x")).body).toEqual({ active: false });
      const twoMethods = await post(
        "/oauth/token",
        secret,
        `${grant}&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=x.y.z`,
      );
      expect(twoMethods).toMatchObject({ status: 400, body: { error: "invalid_request" } });
      const otherId = await post("/oauth/token", secret, `${grant}&client_id=tax-batch`);
      expect(otherId).toMatchObject({ status: 400, body: { error: "invalid_request" } });
      const disabled = await harness.app.inject({
        method: "POST",
        url: "/api/v1/clients/keep-alive/disable",
        headers: bearer(harness.adminToken),
      });
      expect(disabled.statusCode).toBe(204);
      const afterwards = await post("/oauth/token", secret, grant);
      expect(afterwards).toMatchObject({ status: 401, body: { error: "invalid_client" } });
      expect(sockets.size).toBe(1); // all on one connection
    } finally {
      agent.destroy();
    }
  });

  it("makes a disabled client's tokens inactive", async () => {
    const extra = await harness.client({
      clientId: "short-lived",
      name: "To be disabled",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: [],
    });
    const config = await harness.discover(extra.clientId, extra.clientSecret!);
    const tokens = await oidc.clientCredentialsGrant(config);
    expect((await oidc.tokenIntrospection(resourceServer, tokens.access_token)).active).toBe(true);
    const disabled = await harness.app.inject({
      method: "POST",
      url: "/api/v1/clients/short-lived/disable",
      headers: bearer(harness.adminToken),
    });
    expect(disabled.statusCode).toBe(204);
    expect((await oidc.tokenIntrospection(resourceServer, tokens.access_token)).active).toBe(false);
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({
      status: 401,
      code: "OAUTH_WWW_AUTHENTICATE_CHALLENGE",
    });
  });
});
