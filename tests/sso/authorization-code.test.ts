/**
 * The authorization code flow end to end, openid-client v6 as the relying party over real
 * HTTP: discovery, code + PKCE, ID token validation, userinfo, refresh with rotation,
 * introspection, revocation, single sign-on to a second application, RP-initiated logout
 * with back-channel logout tokens to every application of the session; and the pitfalls
 * that need a logged-in user: code replay, a code redeemed by another client, refresh reuse
 * (also two concurrent refreshes), consent for third-party clients, prompt and max_age.
 */
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINES } from "../helpers/databases.js";
import {
  Browser,
  createSsoHarness,
  type LogoutReceiver,
  passwordLogin,
  type SsoHarness,
  startLogoutReceiver,
  type TestUser,
} from "../helpers/sso.js";

const PORTAL_CALLBACK = "https://portal.gov.test/callback";
const HR_CALLBACK = "https://hr.gov.test/callback";

interface Flow {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly url: URL;
}

async function startFlow(
  config: oidc.Configuration,
  redirectUri: string,
  extra: Record<string, string> = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid profile email org",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  });
  return { verifier, state, nonce, url } satisfies Flow;
}

const exchange = (config: oidc.Configuration, flow: Flow, callback: string) =>
  oidc.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: flow.verifier,
    expectedState: flow.state,
    expectedNonce: flow.nonce,
    idTokenExpected: true,
  });

describe.each(ENGINES)("authorization code flow with openid-client (%s)", (engine) => {
  let harness: SsoHarness;
  let portal: oidc.Configuration;
  let hr: oidc.Configuration;
  let user: TestUser;
  let receiver: LogoutReceiver;

  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    harness = await createSsoHarness(engine);
    const portalClient = await harness.client({
      clientId: "portal",
      name: "Government portal",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["authorization_code", "refresh_token"],
      redirectUris: [PORTAL_CALLBACK],
      postLogoutRedirectUris: ["https://portal.gov.test/bye"],
      firstParty: true,
      backchannelLogoutUri: `${receiver.url}/portal`,
    });
    portal = await harness.discover(portalClient.clientId, portalClient.clientSecret!);
    const hrClient = await harness.client({
      clientId: "hr-app",
      name: "Human resources",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["authorization_code", "refresh_token"],
      redirectUris: [HR_CALLBACK],
      firstParty: true,
      backchannelLogoutUri: `${receiver.url}/hr-app`,
    });
    hr = await harness.discover(hrClient.clientId, hrClient.clientSecret!);
    user = await harness.user();
  });
  afterAll(async () => {
    await harness?.close();
    await receiver?.close();
  });

  it("logs in once, and the session covers a second application; logout reaches both", async () => {
    const browser = new Browser();
    // Step 1: the portal sends the user to log in (password + TOTP).
    const flow = await startFlow(portal, PORTAL_CALLBACK);
    const callback = await passwordLogin(browser, harness.issuer, flow.url, user);
    expect(new URL(callback).searchParams.get("iss")).toBe(harness.issuer); // RFC 9207
    const tokens = await exchange(portal, flow, callback);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: harness.issuer,
      sub: user.id,
      aud: "portal",
      nonce: flow.nonce,
      acr: "urn:gov-ca:acr:pwd-otp",
      amr: ["pwd", "otp"],
      employee_number: user.employeeNumber,
      org_unit: "gov",
    });
    expect(claims.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(tokens.refresh_token).toBeTruthy();

    // Step 2: userinfo, and the access token verifies locally (RFC 9068).
    const info = await oidc.fetchUserInfo(portal, tokens.access_token, user.id);
    expect(info).toMatchObject({
      sub: user.id,
      email: expect.stringMatching(/@gov\.test$/),
      roles: ["subscriber"],
    });
    const jwks = createRemoteJWKSet(new URL(`${harness.issuer}/oauth/jwks`));
    const access = await jwtVerify(tokens.access_token, jwks, {
      issuer: harness.issuer,
      audience: "portal",
      typ: "at+jwt",
    });
    expect(access.payload).toMatchObject({
      sub: user.id,
      client_id: "portal",
      sid: claims.sid,
      amr: ["pwd", "otp"],
    });

    // Step 3: single sign-on: HR gets a code without a login page.
    const hrFlow = await startFlow(hr, HR_CALLBACK);
    const hrStart = await browser.follow(hrFlow.url.href, harness.issuer);
    expect(hrStart.location).toMatch(/^https:\/\/hr\.gov\.test\/callback\?code=/);
    const hrTokens = await exchange(hr, hrFlow, hrStart.location!);
    expect(hrTokens.claims()!.sid).toBe(claims.sid);

    // Step 4: refresh rotates the refresh token.
    const refreshed = await oidc.refreshTokenGrant(portal, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await oidc.tokenIntrospection(hr, refreshed.access_token)).active).toBe(true);
    expect(await oidc.tokenIntrospection(hr, refreshed.refresh_token!)).toMatchObject({
      active: true,
      token_type: "refresh_token",
      client_id: "portal",
      sub: user.id,
    });

    // Step 5: RP-initiated logout with the ID token as hint ends the session everywhere.
    const logout = oidc.buildEndSessionUrl(portal, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: "https://portal.gov.test/bye",
      state: "after-logout",
    });
    const ended = await browser.request(logout.href);
    expect(ended.status).toBe(303);
    expect(ended.headers.get("location")).toBe("https://portal.gov.test/bye?state=after-logout");
    for (const token of [
      refreshed.access_token,
      hrTokens.access_token,
      refreshed.refresh_token!,
      hrTokens.refresh_token!,
    ])
      expect(await oidc.tokenIntrospection(hr, token)).toEqual({ active: false });
    await expect(oidc.fetchUserInfo(hr, hrTokens.access_token, user.id)).rejects.toMatchObject({
      status: 401,
    });
    await expect(oidc.refreshTokenGrant(hr, hrTokens.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
    });

    // Step 6: one back-channel logout token per application, with sid and sub (Back-Channel Logout 1.0 §2.4).
    await harness.context.sso.backchannel.drain();
    const received = receiver.received.filter((entry) => entry.token.includes("."));
    expect(received.map((entry) => entry.client).sort()).toEqual(["hr-app", "portal"]);
    for (const entry of received) {
      const { payload, protectedHeader } = await jwtVerify(entry.token, jwks, {
        issuer: harness.issuer,
        audience: entry.client,
        typ: "logout+jwt",
      });
      expect(protectedHeader.typ).toBe("logout+jwt");
      expect(payload).toMatchObject({
        sub: user.id,
        sid: claims.sid,
        events: { "http://schemas.openid.net/event/backchannel-logout": {} },
      });
      expect(payload.nonce).toBeUndefined();
    }

    // Step 7: the browser is logged out: the next authorization asks for a login again.
    const again = await browser.follow((await startFlow(portal, PORTAL_CALLBACK)).url.href, harness.issuer);
    expect(again.location).toBeUndefined();
    expect(await again.response.text()).toContain('action="/login/password"');
  });

  it("revokes what a code produced when the code is replayed (RFC 6749 §4.1.2)", async () => {
    const browser = new Browser();
    const flow = await startFlow(portal, PORTAL_CALLBACK);
    const callback = await passwordLogin(browser, harness.issuer, flow.url, await harness.user());
    const tokens = await exchange(portal, flow, callback);
    await expect(exchange(portal, flow, callback)).rejects.toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringMatching(/already used/),
    });
    expect(await oidc.tokenIntrospection(portal, tokens.access_token)).toEqual({ active: false });
    await expect(oidc.refreshTokenGrant(portal, tokens.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
    });
  });

  it("refuses a code redeemed by another client, a wrong verifier and a missing one", async () => {
    const browser = new Browser();
    const flow = await startFlow(portal, PORTAL_CALLBACK);
    const callback = await passwordLogin(browser, harness.issuer, flow.url, await harness.user());
    const code = new URL(callback).searchParams.get("code")!;
    const token = (clientId: string, secret: string, params: Record<string, string>) =>
      fetch(`${harness.issuer}/oauth/token`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: PORTAL_CALLBACK,
          ...params,
        }),
      });
    const hrSecret = (hr.clientMetadata() as { client_secret: string }).client_secret;
    const stolen = await token("hr-app", hrSecret, { code_verifier: flow.verifier });
    expect(stolen.status).toBe(400);
    expect(await stolen.json()).toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringMatching(/another client/),
    });
    const portalSecret = (portal.clientMetadata() as { client_secret: string }).client_secret;
    const missing = await token("portal", portalSecret, {});
    expect(await missing.json()).toMatchObject({
      error: "invalid_request",
      error_description: expect.stringMatching(/PKCE/),
    });
    const wrong = await token("portal", portalSecret, { code_verifier: oidc.randomPKCECodeVerifier() });
    expect(await wrong.json()).toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringMatching(/RFC 7636/),
    });
    // The rightful client still can (the failed attempts did not spend the code).
    expect((await exchange(portal, flow, callback)).access_token).toBeTruthy();
  });

  it("revokes the whole family when a refresh token is reused, also by two concurrent refreshes", async () => {
    const browser = new Browser();
    const flow = await startFlow(portal, PORTAL_CALLBACK);
    const tokens = await exchange(
      portal,
      flow,
      await passwordLogin(browser, harness.issuer, flow.url, await harness.user()),
    );
    const first = await oidc.refreshTokenGrant(portal, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(portal, tokens.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringMatching(/already used/),
    });
    expect(await oidc.tokenIntrospection(portal, first.access_token)).toEqual({ active: false });
    await expect(oidc.refreshTokenGrant(portal, first.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
    });

    const flow2 = await startFlow(portal, PORTAL_CALLBACK, { prompt: "login" });
    const tokens2 = await exchange(
      portal,
      flow2,
      await passwordLogin(browser, harness.issuer, flow2.url, await harness.user()),
    );
    const results = await Promise.allSettled([
      oidc.refreshTokenGrant(portal, tokens2.refresh_token!),
      oidc.refreshTokenGrant(portal, tokens2.refresh_token!),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
    const winner = results.find(
      (result) => result.status === "fulfilled",
    ) as PromiseFulfilledResult<oidc.TokenEndpointResponse>;
    expect(await oidc.tokenIntrospection(portal, winner.value.access_token)).toEqual({ active: false });
  });

  it("asks a third-party client's user for consent once, and honours deny", async () => {
    const registered = await harness.client({
      clientId: "third-party",
      name: "Partner service",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["authorization_code"],
      redirectUris: ["https://partner.test/cb"],
      scopes: ["openid", "email"],
    });
    const partner = await harness.discover(registered.clientId, registered.clientSecret!);
    const browser = new Browser();
    const person = await harness.user();
    const denied = await startFlow(partner, "https://partner.test/cb", { scope: "openid email" });
    const start = await browser.follow(denied.url.href, harness.issuer);
    const page = await start.response.text();
    const interaction = /name="interaction" value="([^"]+)"/.exec(page)![1]!;
    const consent = await browser.follow(`${harness.issuer}/login/password`, harness.issuer, {
      form: {
        interaction,
        login: person.employeeNumber,
        password: person.password,
        otp: (await import("../helpers/sso.js")).totp(person.totpSecret),
      },
    });
    expect(consent.location).toBeUndefined();
    const consentHtml = await consent.response.text();
    expect(consentHtml).toContain("Partner service");
    expect(consentHtml).toContain("<li>email</li>");
    const deny = await browser.follow(`${harness.issuer}/consent`, harness.issuer, {
      form: { interaction, decision: "deny" },
    });
    expect(new URL(deny.location!).searchParams.get("error")).toBe("access_denied");

    const allowed = await startFlow(partner, "https://partner.test/cb", { scope: "openid email" });
    const ask = await browser.follow(allowed.url.href, harness.issuer);
    const askInteraction = /name="interaction" value="([^"]+)"/.exec(await ask.response.text())![1]!;
    const allow = await browser.follow(`${harness.issuer}/consent`, harness.issuer, {
      form: { interaction: askInteraction, decision: "allow" },
    });
    if (!allow.location) throw new Error(`${allow.response.status} ${await allow.response.text()}`);
    const tokens = await exchange(partner, allowed, allow.location);
    expect(tokens.claims()!.sub).toBe(person.id);
    // Remembered: the next request goes straight back with a code.
    const remembered = await startFlow(partner, "https://partner.test/cb", { scope: "openid email" });
    expect((await browser.follow(remembered.url.href, harness.issuer)).location).toMatch(/code=/);
  });

  it("re-authenticates for prompt=login and an exceeded max_age, and answers prompt=none from the session", async () => {
    const browser = new Browser();
    const person = await harness.user();
    const flow = await startFlow(portal, PORTAL_CALLBACK);
    await exchange(portal, flow, await passwordLogin(browser, harness.issuer, flow.url, person));
    const silent = await startFlow(portal, PORTAL_CALLBACK, { prompt: "none" });
    expect((await browser.follow(silent.url.href, harness.issuer)).location).toMatch(/code=/);
    for (const extra of [{ prompt: "login" }, { max_age: "0" }] as Record<string, string>[]) {
      const forced = await startFlow(portal, PORTAL_CALLBACK, extra);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const result = await browser.follow(forced.url.href, harness.issuer);
      expect(result.location, JSON.stringify(extra)).toBeUndefined();
      expect(await result.response.text()).toContain('action="/login/password"');
    }
  });

  it("refuses to resume a login in another browser (interaction bound to its cookie)", async () => {
    const browser = new Browser();
    const flow = await startFlow(portal, PORTAL_CALLBACK);
    const start = await browser.follow(flow.url.href, harness.issuer);
    const interaction = /name="interaction" value="([^"]+)"/.exec(await start.response.text())![1]!;
    const attacker = new Browser();
    const response = await attacker.request(
      `${harness.issuer}/oauth/authorize/resume?interaction=${interaction}`,
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("started in another browser");
  });
});
