/**
 * The admin API accepts our own access tokens: the user's directory roles decide (RBAC), the
 * token must be meant for the API (aud = issuer) and live. And nothing secret reaches the
 * log: a whole login, token exchange, refresh, introspection and logout at log level trace
 * leave no password, one-time code, code, token, client secret or cookie in it.
 */
import { Writable } from "node:stream";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, createSsoHarness, passwordLogin, type SsoHarness, totp } from "../helpers/sso.js";

const CALLBACK = "https://console.gov.test/cb";

describe("admin API with access tokens; no secrets in logs", () => {
  let harness: SsoHarness;
  let console_: oidc.Configuration;
  let secret: string;
  let log = "";

  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        log += chunk.toString();
        done();
      },
    });
    harness = await createSsoHarness("pglite", { env: { LOG_LEVEL: "trace" }, logStream });
    const registered = await harness.client({
      clientId: "admin-console",
      name: "Admin console",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["authorization_code", "refresh_token"],
      redirectUris: [CALLBACK],
      firstParty: true,
      audience: [harness.issuer],
    });
    secret = registered.clientSecret!;
    console_ = await harness.discover(registered.clientId, secret);
  });
  afterAll(async () => harness?.close());

  async function login(roles: ("security-admin" | "subscriber" | "auditor")[]) {
    const user = await harness.user(roles);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(console_, {
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const browser = new Browser();
    const callback = await passwordLogin(browser, harness.issuer, url, user);
    const tokens = await oidc.authorizationCodeGrant(console_, new URL(callback), {
      pkceCodeVerifier: verifier,
      idTokenExpected: true,
    });
    return { user, tokens, browser, callback };
  }

  const me = (token: string) =>
    fetch(`${harness.issuer}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });

  it("lets a user act with the roles the directory gives it", async () => {
    const admin = await login(["security-admin", "auditor"]);
    const response = await me(admin.tokens.access_token);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: admin.user.id,
      kind: "user",
      roles: ["security-admin", "auditor"],
    });
    const clients = await fetch(`${harness.issuer}/api/v1/clients`, {
      headers: { authorization: `Bearer ${admin.tokens.access_token}` },
    });
    expect(clients.status).toBe(200);

    const subscriber = await login(["subscriber"]);
    const refused = await fetch(`${harness.issuer}/api/v1/clients`, {
      headers: { authorization: `Bearer ${subscriber.tokens.access_token}` },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toContain("client:read");
  });

  it("refuses a token for another audience, a client's own token, and a token whose session ended", async () => {
    const other = await harness.client({
      clientId: "batch-job",
      name: "Batch",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: [],
      audience: [harness.issuer],
    });
    const batch = await harness.discover(other.clientId, other.clientSecret!);
    const clientToken = (await oidc.clientCredentialsGrant(batch)).access_token;
    const notUser = await me(clientToken);
    expect(notUser.status).toBe(401);
    expect(((await notUser.json()) as { detail: string }).detail).toContain(
      "not issued for a directory user",
    );

    const { tokens } = await login(["security-admin"]);
    const bye = oidc.buildEndSessionUrl(console_, { id_token_hint: tokens.id_token! });
    const browserless = await me(tokens.access_token);
    expect(browserless.status).toBe(200);
    const admin = await login(["auditor"]);
    await admin.browser.request(
      oidc.buildEndSessionUrl(console_, { id_token_hint: admin.tokens.id_token! }).href,
    );
    const ended = await me(admin.tokens.access_token);
    expect(ended.status).toBe(401);
    expect(((await ended.json()) as { detail: string }).detail).toBe("the access token is not active");
    expect(bye.href).toContain("id_token_hint");
  });

  it("ends a disabled user's sessions and refuses its tokens", async () => {
    const { user, tokens } = await login(["auditor"]);
    expect((await me(tokens.access_token)).status).toBe(200);
    const adminKey = harness.adminToken;
    const disabled = await fetch(`${harness.issuer}/api/v1/users/${user.id}/disable`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(disabled.status).toBeLessThan(300);
    expect((await me(tokens.access_token)).status).toBe(401);
    expect(await oidc.tokenIntrospection(console_, tokens.access_token)).toEqual({ active: false });
    await expect(oidc.refreshTokenGrant(console_, tokens.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
    });
  });

  it("writes no password, one-time code, code, token, secret or cookie to the log", async () => {
    const { user, tokens, browser, callback } = await login(["subscriber"]);
    const refreshed = await oidc.refreshTokenGrant(console_, tokens.refresh_token!);
    await oidc.tokenIntrospection(console_, refreshed.access_token);
    await oidc.fetchUserInfo(console_, refreshed.access_token, user.id);
    await browser.request(oidc.buildEndSessionUrl(console_, { id_token_hint: tokens.id_token! }).href);
    expect(log.length).toBeGreaterThan(1000); // the log did record these requests
    const secrets = [
      user.password,
      totp(user.totpSecret),
      user.totpSecret,
      new URL(callback).searchParams.get("code")!,
      tokens.access_token,
      tokens.refresh_token!,
      tokens.id_token!,
      refreshed.access_token,
      refreshed.refresh_token!,
      secret,
      ...[...browser.cookies.values()],
    ];
    for (const value of secrets)
      expect(log, `a secret (${value.slice(0, 6)}…) is in the log`).not.toContain(value);
    for (const value of [tokens.access_token, refreshed.refresh_token!])
      expect(log).not.toContain(value.split(".").at(-1)!);
  });
});
