/**
 * The OAuth/OIDC pitfalls others fell into (shared/REFERENCES.md), each as a test against a
 * listening provider: redirect_uri variants, PKCE downgrade, `alg: none` and HS256 signed
 * with the public key, client assertion jti replay, open redirect at logout.
 */
import { createHmac, createPublicKey } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSsoHarness, type SsoHarness } from "../helpers/sso.js";

const CALLBACK = "https://portal.gov.test/callback";
const CHALLENGE = oidc.calculatePKCECodeChallenge;

describe("OIDC pitfalls", () => {
  let harness: SsoHarness;
  let secret: string;

  beforeAll(async () => {
    harness = await createSsoHarness("pglite");
    secret = (
      await harness.client({
        clientId: "portal",
        name: "Government portal",
        tokenEndpointAuthMethod: "client_secret_basic",
        grantTypes: ["authorization_code", "refresh_token", "client_credentials"],
        redirectUris: [CALLBACK, "http://127.0.0.1/native-callback"],
        postLogoutRedirectUris: ["https://portal.gov.test/bye"],
        firstParty: true,
      })
    ).clientSecret!;
  });
  afterAll(async () => harness?.close());

  const authorize = async (params: Record<string, string>) =>
    fetch(`${harness.issuer}/oauth/authorize?${new URLSearchParams(params)}`, { redirect: "manual" });

  const valid = async () => ({
    client_id: "portal",
    response_type: "code",
    scope: "openid",
    redirect_uri: CALLBACK,
    state: "s1",
    code_challenge: await CHALLENGE(oidc.randomPKCECodeVerifier()),
    code_challenge_method: "S256",
  });

  describe("redirect_uri is matched exactly (RFC 9700 §4.1.3) and never redirected to when it is not", () => {
    const variants = [
      "https://portal.gov.test/callback/",
      "https://portal.gov.test/Callback",
      "https://PORTAL.gov.test/callback",
      "https://portal.gov.test/callback?extra=1",
      "https://portal.gov.test/callback#fragment",
      "https://portal.gov.test@evil.test/callback",
      "https://evil.test@portal.gov.test/callback",
      "https://portal.gov.test/callback/..;/evil",
      "https://portal.gov.test.evil.test/callback",
      "https://portal.gov.test:444/callback",
      "http://portal.gov.test/callback",
      "javascript:alert(1)//https://portal.gov.test/callback",
      "data:text/html,<script>alert(1)</script>",
      "http://localhost/native-callback",
      "http://127.0.0.1:8080/native-callback/../other",
    ];
    for (const variant of variants)
      it(`refuses ${variant} with an error page`, async () => {
        const response = await authorize({ ...(await valid()), redirect_uri: variant });
        expect(response.status).toBe(400);
        expect(response.headers.get("location")).toBeNull();
        expect(response.headers.get("content-type")).toContain("text/html");
        expect(await response.text()).toContain("redirect_uri is not registered");
      });

    it("accepts any port on a loopback IP redirect (RFC 8252 §7.3)", async () => {
      const response = await authorize({
        ...(await valid()),
        redirect_uri: "http://127.0.0.1:53412/native-callback",
      });
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toMatch(/^\/login\?interaction=/);
    });

    it("refuses to register wildcards, http hosts and fragments", async () => {
      for (const uri of [
        "https://*.gov.test/cb",
        "http://portal.gov.test/cb",
        "https://portal.gov.test/cb#x",
        "javascript:x",
      ]) {
        const response = await harness.app.inject({
          method: "POST",
          url: "/api/v1/clients",
          headers: { authorization: `Bearer ${harness.adminToken}` },
          payload: {
            name: "bad",
            tokenEndpointAuthMethod: "client_secret_basic",
            grantTypes: ["authorization_code"],
            redirectUris: [uri],
          },
        });
        expect(response.statusCode, uri).toBe(400);
        expect(response.json().code).toBe("client-invalid");
      }
    });
  });

  describe("PKCE is required, S256 only (RFC 7636, RFC 9700 §2.1.1)", () => {
    const expectError = async (params: Record<string, string>, error: string, pattern: RegExp) => {
      const response = await authorize(params);
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get("location")!);
      expect(location.origin + location.pathname).toBe(CALLBACK);
      expect(location.searchParams.get("error")).toBe(error);
      expect(location.searchParams.get("error_description")).toMatch(pattern);
      expect(location.searchParams.get("state")).toBe("s1");
      expect(location.searchParams.get("iss")).toBe(harness.issuer); // RFC 9207
    };

    it("refuses a request without code_challenge", async () => {
      const { code_challenge: _, ...params } = await valid();
      await expectError(params, "invalid_request", /code_challenge is required/);
    });
    it("refuses the plain method and a missing method (which means plain)", async () => {
      await expectError(
        { ...(await valid()), code_challenge_method: "plain" },
        "invalid_request",
        /plain is not accepted/,
      );
      const { code_challenge_method: _, ...params } = await valid();
      await expectError(params, "invalid_request", /plain is not accepted/);
    });
    it("refuses a challenge that is not a SHA-256", async () => {
      await expectError({ ...(await valid()), code_challenge: "short" }, "invalid_request", /43-character/);
    });
    it("refuses response types other than code", async () => {
      await expectError(
        { ...(await valid()), response_type: "token" },
        "unsupported_response_type",
        /only response_type=code/,
      );
    });
    it("answers login_required to prompt=none without a session", async () => {
      await expectError({ ...(await valid()), prompt: "none" }, "login_required", /not logged in/);
    });
  });

  describe("forged tokens are never active (RFC 8725 §2.1, §3.1)", () => {
    let resourceServer: oidc.Configuration;
    let genuine: string;
    beforeAll(async () => {
      resourceServer = await harness.discover("portal", secret);
      genuine = (await oidc.clientCredentialsGrant(resourceServer)).access_token;
    });

    const forge = (header: object, payloadFrom: string, sign: (input: string) => string) => {
      const payload = payloadFrom.split(".")[1]!;
      const input = `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${payload}`;
      return `${input}.${sign(input)}`;
    };

    it("refuses alg: none", async () => {
      const token = forge({ alg: "none", typ: "at+jwt" }, genuine, () => "");
      expect(await oidc.tokenIntrospection(resourceServer, token)).toEqual({ active: false });
      const withSignature = forge({ alg: "none", typ: "at+jwt" }, genuine, () => "AAAA");
      expect(await oidc.tokenIntrospection(resourceServer, withSignature)).toEqual({ active: false });
    });

    it("refuses HS256 keyed with the published public key", async () => {
      const jwks = (await (await fetch(`${harness.issuer}/oauth/jwks`)).json()) as {
        keys: { kid: string }[];
      };
      const jwk = jwks.keys[0]!;
      const pem = createPublicKey({ key: jwk as never, format: "jwk" }).export({
        format: "pem",
        type: "spki",
      });
      for (const key of [pem, JSON.stringify(jwk)]) {
        const token = forge({ alg: "HS256", typ: "at+jwt", kid: jwk.kid }, genuine, (input) =>
          createHmac("sha256", key).update(input).digest("base64url"),
        );
        expect(await oidc.tokenIntrospection(resourceServer, token)).toEqual({ active: false });
        const userinfo = await fetch(`${harness.issuer}/oauth/userinfo`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(userinfo.status).toBe(401);
        expect(userinfo.headers.get("www-authenticate")).toContain('error="invalid_token"');
      }
    });

    it("refuses a genuine token whose payload was altered", async () => {
      const [header, payload, signature] = genuine.split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
      const altered = Buffer.from(JSON.stringify({ ...claims, scope: "admin" })).toString("base64url");
      expect(await oidc.tokenIntrospection(resourceServer, `${header}.${altered}.${signature}`)).toEqual({
        active: false,
      });
    });
  });

  describe("private_key_jwt (RFC 7523)", () => {
    it("accepts an assertion once and refuses its jti replayed", async () => {
      const { publicKey, privateKey } = await generateKeyPair("ES256");
      await harness.client({
        clientId: "signer-app",
        name: "Signs its assertions",
        tokenEndpointAuthMethod: "private_key_jwt",
        grantTypes: ["client_credentials"],
        scopes: [],
        jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: "ES256", use: "sig" }] },
      });
      const config = await oidc.discovery(
        new URL(harness.issuer),
        "signer-app",
        undefined,
        oidc.PrivateKeyJwt(privateKey),
        {
          execute: [oidc.allowInsecureRequests],
        },
      );
      expect((await oidc.clientCredentialsGrant(config)).access_token).toBeTruthy();

      const assertion = await new SignJWT({ jti: "fixed-jti-1" })
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer("signer-app")
        .setSubject("signer-app")
        .setAudience(harness.issuer)
        .setIssuedAt()
        .setExpirationTime("2m")
        .sign(privateKey);
      const send = () =>
        fetch(`${harness.issuer}/oauth/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "client_credentials",
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: assertion,
          }),
        });
      expect((await send()).status).toBe(200);
      const replay = await send();
      expect(replay.status).toBe(401);
      expect(await replay.json()).toMatchObject({
        error: "invalid_client",
        error_description: expect.stringMatching(/already used/),
      });
    });

    it("refuses an assertion MACed with HS256", async () => {
      const token = await new SignJWT({ jti: "hs-1" })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("signer-app")
        .setSubject("signer-app")
        .setAudience(harness.issuer)
        .setExpirationTime("2m")
        .sign(new TextEncoder().encode("x".repeat(32)));
      const response = await fetch(`${harness.issuer}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          client_assertion: token,
        }),
      });
      expect(response.status).toBe(401);
    });
  });

  describe("RP-initiated logout is no open redirector", () => {
    it("refuses an unregistered post_logout_redirect_uri with an error page", async () => {
      for (const uri of [
        "https://evil.test/",
        "https://portal.gov.test/bye/",
        "https://portal.gov.test/bye?x=1",
      ]) {
        const response = await fetch(
          `${harness.issuer}/oauth/logout?${new URLSearchParams({ client_id: "portal", post_logout_redirect_uri: uri })}`,
          { redirect: "manual" },
        );
        expect(response.status, uri).toBe(400);
        expect(response.headers.get("location")).toBeNull();
      }
    });
    it("redirects to a registered one with the state", async () => {
      const response = await fetch(
        `${harness.issuer}/oauth/logout?${new URLSearchParams({ client_id: "portal", post_logout_redirect_uri: "https://portal.gov.test/bye", state: "z" })}`,
        { redirect: "manual" },
      );
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe("https://portal.gov.test/bye?state=z");
    });
  });
});
