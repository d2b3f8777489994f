/**
 * Staged signing-key rotation (against Hydra #2535): a new key is in the JWKS before it
 * signs, the old one keeps signing until then, and stays published until every token it
 * signed has expired; tokens signed by either verify throughout.
 */
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliActor } from "../../src/auth/principal.js";
import { FixedClock } from "../../src/clock.js";
import { createSsoHarness, type SsoHarness } from "../helpers/sso.js";

const kidOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString()).kid as string;

describe("signing key rotation", () => {
  const clock = new FixedClock(new Date("2026-11-24T08:00:00Z"));
  let harness: SsoHarness;
  let config: oidc.Configuration;

  beforeAll(async () => {
    harness = await createSsoHarness("pglite", {
      clock,
      env: {
        CA_SSO_KEY_PUBLISH_HOURS: "24",
        CA_SSO_ACCESS_TOKEN_MINUTES: "10",
        CA_SSO_ID_TOKEN_MINUTES: "10",
      },
    });
    const client = await harness.client({
      clientId: "rotation",
      name: "Rotation",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: [],
    });
    config = await harness.discover(client.clientId, client.clientSecret!);
  });
  afterAll(async () => harness?.close());

  const jwks = async () =>
    ((await (await fetch(`${harness.issuer}/oauth/jwks`)).json()) as { keys: { kid: string }[] }).keys.map(
      (key) => key.kid,
    );
  const mint = async () => (await oidc.clientCredentialsGrant(config)).access_token;
  const active = async (token: string) => (await oidc.tokenIntrospection(config, token)).active;

  it("publishes first, signs later, and retires only after the old tokens expired", async () => {
    const [original] = await jwks();
    const before = await mint();
    expect(kidOf(before)).toBe(original);

    const next = await harness.context.sso.keys.rotate(cliActor("test"));
    expect(await jwks()).toEqual([original, next.kid]); // published at once…
    expect(kidOf(await mint())).toBe(original); // …but not signing yet

    clock.advance(24 * 3600_000 - 60_000); // a minute before activation
    expect(kidOf(await mint())).toBe(original);
    const lastOfOld = await mint();
    clock.advance(60_000);
    const firstOfNew = await mint();
    expect(kidOf(firstOfNew)).toBe(next.kid);
    expect(await jwks()).toEqual([original, next.kid]); // the old key's tokens still live
    expect(await active(lastOfOld)).toBe(true);
    expect(await active(firstOfNew)).toBe(true);

    clock.advance(10 * 60_000 + 1000); // every token of the old key has expired
    expect(await jwks()).toEqual([next.kid]);
    expect(await active(lastOfOld)).toBe(false);
    expect(await active(await mint())).toBe(true);
  });
});

describe("RS256 signing (CA_SSO_SIGNING_ALG)", () => {
  let harness: SsoHarness;
  beforeAll(async () => {
    harness = await createSsoHarness("pglite", { env: { CA_SSO_SIGNING_ALG: "RS256" } });
  });
  afterAll(async () => harness?.close());

  it("signs with an RSA key from the key store and says so in discovery", async () => {
    const client = await harness.client({
      clientId: "rsa-user",
      name: "RSA",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: [],
    });
    const config = await harness.discover(client.clientId, client.clientSecret!);
    expect(config.serverMetadata().id_token_signing_alg_values_supported).toEqual(["RS256"]);
    const token = (await oidc.clientCredentialsGrant(config)).access_token;
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(`${harness.issuer}/oauth/jwks`)),
      {
        issuer: harness.issuer,
        algorithms: ["RS256"],
      },
    );
    expect(protectedHeader).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    expect(payload.client_id).toBe("rsa-user");
  });
});
