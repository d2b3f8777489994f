/**
 * Whatever a client or a browser sends, the provider answers with an OAuth error, an error
 * page or a redirect: never a 5xx, never a crash (fast-check over the form and query
 * parameters of every endpoint, with and without valid client credentials).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSsoHarness, type SsoHarness } from "../helpers/sso.js";

const PARAMETERS = [
  "grant_type",
  "code",
  "redirect_uri",
  "code_verifier",
  "refresh_token",
  "scope",
  "client_id",
  "client_assertion",
  "client_assertion_type",
  "token",
  "token_type_hint",
  "response_type",
  "code_challenge",
  "code_challenge_method",
  "state",
  "nonce",
  "prompt",
  "max_age",
  "request",
  "id_token_hint",
  "post_logout_redirect_uri",
  "interaction",
  "login",
  "password",
  "otp",
  "decision",
];
const VALUES = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom(
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "code",
    "S256",
    "plain",
    "none",
    "openid",
    "https://portal.gov.test/cb",
    "portal",
    "allow",
    "",
  ),
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{10,40}\.[A-Za-z0-9_-]{10,80}\.[A-Za-z0-9_-]{0,40}$/),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
);
const FORM = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom(...PARAMETERS), fc.string({ maxLength: 12 })), VALUES),
  { maxLength: 8 },
);

const encode = (pairs: [string, string][]) =>
  pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");

describe("OAuth endpoints under random input (fast-check)", () => {
  let harness: SsoHarness;
  let basic: string;

  beforeAll(async () => {
    harness = await createSsoHarness("pglite");
    const client = await harness.client({
      clientId: "portal",
      name: "Portal",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["authorization_code", "refresh_token", "client_credentials"],
      redirectUris: ["https://portal.gov.test/cb"],
      firstParty: true,
    });
    basic = `Basic ${Buffer.from(`portal:${client.clientSecret}`).toString("base64")}`;
  });
  afterAll(async () => harness?.close());

  it("answers every POST endpoint with a 4xx OAuth error or a 2xx/3xx, never a 5xx", async () => {
    const endpoints = [
      "/oauth/token",
      "/oauth/introspect",
      "/oauth/revoke",
      "/oauth/userinfo",
      "/oauth/authorize",
      "/oauth/logout",
      "/login/password",
      "/consent",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...endpoints),
        FORM,
        fc.boolean(),
        fc.option(fc.string({ maxLength: 60 })),
        async (url, form, authenticated, header) => {
          const response = await harness.app.inject({
            method: "POST",
            url,
            headers: {
              "content-type": "application/x-www-form-urlencoded",
              ...(authenticated ? { authorization: basic } : header ? { authorization: header } : {}),
            },
            payload: encode(form),
          });
          expect(response.statusCode, `${url} ${encode(form)}`).toBeLessThan(500);
          if (
            response.statusCode >= 400 &&
            url.startsWith("/oauth/") &&
            !["/oauth/authorize", "/oauth/logout"].includes(url)
          )
            expect(response.json()).toHaveProperty("error");
        },
      ),
      { numRuns: 400 },
    );
  });

  it("answers every GET endpoint's random query with a page, a redirect or an error, never a 5xx", async () => {
    const endpoints = [
      "/oauth/authorize",
      "/oauth/authorize/resume",
      "/oauth/logout",
      "/login",
      "/consent",
      "/oauth/userinfo",
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), FORM, async (url, query) => {
        const response = await harness.app.inject({ method: "GET", url: `${url}?${encode(query)}` });
        expect(response.statusCode, `${url}?${encode(query)}`).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
  });

  it("refuses bodies of another type and oversized ones with a 4xx", async () => {
    for (const [type, payload] of [
      ["application/json", '{"grant_type":"client_credentials"}'],
      ["application/x-www-form-urlencoded", `grant_type=client_credentials&scope=${"a".repeat(70 * 1024)}`],
      ["application/x-www-form-urlencoded", "grant_type=%zz"],
    ] as const) {
      const response = await harness.app.inject({
        method: "POST",
        url: "/oauth/token",
        headers: { "content-type": type, authorization: basic },
        payload,
      });
      expect(response.statusCode, type).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, type).toBeLessThan(500);
    }
  });
});
