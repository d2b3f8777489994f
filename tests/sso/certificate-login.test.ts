/**
 * Certificate login and certificate-bound clients over real TLS: a civil servant's browser
 * (undici Agent with the user's key and certificate, trusting our root) logs in on the mTLS
 * listener; revoking or suspending that certificate ends the session everywhere at once
 * (introspection, userinfo, refresh, back-channel logout). A business system authenticates
 * with `tls_client_auth` (RFC 8705 §2.1) and gets certificate-bound tokens (§3).
 */
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oidc from "openid-client";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueClientCertificate } from "../helpers/client-certificates.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer } from "../helpers/harness.js";
import {
  Browser,
  createSsoHarness,
  type LogoutReceiver,
  type SsoHarness,
  startLogoutReceiver,
  type TestUser,
} from "../helpers/sso.js";

const CALLBACK = "https://portal.gov.test/callback";

describe.each(ENGINES)("certificate login and mTLS clients (%s)", (engine) => {
  let harness: SsoHarness;
  let portal: oidc.Configuration;
  let receiver: LogoutReceiver;

  beforeAll(async () => {
    receiver = await startLogoutReceiver();
    harness = await createSsoHarness(engine, { mtls: true });
    const client = await harness.client({
      clientId: "portal",
      name: "Government portal",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["authorization_code", "refresh_token"],
      redirectUris: [CALLBACK],
      firstParty: true,
      backchannelLogoutUri: `${receiver.url}/portal`,
    });
    portal = await harness.discover(client.clientId, client.clientSecret!);
  });
  afterAll(async () => {
    await harness?.close();
    await receiver?.close();
  });

  /** A browser holding the user's certificate; logs in with it and returns the tokens. */
  async function certificateLogin(user: TestUser, extra: Record<string, string> = {}) {
    const certificate = await harness.userCertificate(user);
    const agent = new Agent({
      connect: { key: certificate.keyPem, cert: certificate.certificatePem, ca: harness.rootPem },
    });
    const browser = new Browser(agent);
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(portal, {
      redirect_uri: CALLBACK,
      scope: "openid profile",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      nonce,
      ...extra,
    });
    const loginPage = await browser.follow(url.href, harness.issuer);
    const link = /id="certificate-login" href="([^"]+)"/.exec(await loginPage.response.text())?.[1];
    expect(link).toMatch(new RegExp(`^${harness.mtlsUrl}/login/certificate\\?interaction=`));
    const atMtls = await browser.request(link!.replaceAll("&amp;", "&"));
    expect(atMtls.status, await atMtls.clone().text()).toBe(303);
    const resumed = await browser.follow(atMtls.headers.get("location")!, harness.issuer);
    const tokens = await oidc.authorizationCodeGrant(portal, new URL(resumed.location!), {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    return { certificate, agent, browser, tokens };
  }

  /** A new authorization request in `browser`, to its login page: the certificate login's link. */
  async function certificateLoginLink(browser: Browser): Promise<string> {
    const url = oidc.buildAuthorizationUrl(portal, {
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: "S256",
    });
    const page = await browser.follow(url.href, harness.issuer);
    return /id="certificate-login" href="([^"]+)"/
      .exec(await page.response.text())![1]!
      .replaceAll("&amp;", "&");
  }

  it("logs a civil servant in with the certificate: amr x509", async () => {
    const user = await harness.user();
    const { tokens } = await certificateLogin(user);
    expect(tokens.claims()).toMatchObject({ sub: user.id, amr: ["x509"], acr: "urn:gov-ca:acr:x509" });
    expect(await oidc.fetchUserInfo(portal, tokens.access_token, user.id)).toMatchObject({ sub: user.id });
  });

  it("ends the session at once when the login certificate is revoked: introspection, userinfo, refresh, back-channel logout", async () => {
    const user = await harness.user();
    const { certificate, tokens, browser } = await certificateLogin(user);
    const sid = tokens.claims()!.sid;
    expect((await oidc.tokenIntrospection(portal, tokens.access_token)).active).toBe(true);
    const revoked = await harness.app.inject({
      method: "POST",
      url: `/api/v1/certificates/${certificate.serial}/revoke`,
      headers: bearer(harness.adminToken),
      payload: { reason: "keyCompromise" },
    });
    expect(revoked.statusCode).toBe(200);
    // No waiting: the revoke call returned, so the session and its tokens are over.
    expect(await oidc.tokenIntrospection(portal, tokens.access_token)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(portal, tokens.refresh_token!)).toEqual({ active: false });
    await expect(oidc.fetchUserInfo(portal, tokens.access_token, user.id)).rejects.toMatchObject({
      status: 401,
    });
    await expect(oidc.refreshTokenGrant(portal, tokens.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
    });
    await harness.context.sso.backchannel.drain();
    const jwks = createRemoteJWKSet(new URL(`${harness.issuer}/oauth/jwks`));
    const sids = await Promise.all(
      receiver.received.map(
        async ({ token }) =>
          (await jwtVerify(token, jwks, { audience: "portal", typ: "logout+jwt" })).payload.sid,
      ),
    );
    expect(sids).toContain(sid);
    // The revoked certificate cannot log in again, and the browser's session is gone.
    const refused = await browser.request(await certificateLoginLink(browser));
    expect(refused.status).toBe(401);
    expect(await refused.text()).toMatch(/revoked/);
  });

  it("ends the session when the certificate is put on hold, and logs in again once released", async () => {
    const user = await harness.user();
    const first = await certificateLogin(user);
    const act = (action: "hold" | "release") =>
      harness.app.inject({
        method: "POST",
        url: `/api/v1/certificates/${first.certificate.serial}/${action}`,
        headers: bearer(harness.adminToken),
        payload: {},
      });
    expect((await act("hold")).statusCode).toBe(200);
    expect((await oidc.tokenIntrospection(portal, first.tokens.access_token)).active).toBe(false);
    expect((await act("release")).statusCode).toBe(200);
    expect((await oidc.tokenIntrospection(portal, first.tokens.access_token)).active).toBe(false); // ended stays ended
  });

  it("completes a login request once: the same certificate login again leaves no second session or audit record", async () => {
    const user = await harness.user();
    const certificate = await harness.userCertificate(user);
    const browser = new Browser(
      new Agent({
        connect: { key: certificate.keyPem, cert: certificate.certificatePem, ca: harness.rootPem },
      }),
    );
    const link = await certificateLoginLink(browser);
    const sessionsAndAudit = async () => {
      const sessions = await harness.context.db.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM sso_sessions WHERE principal_id = $1",
        [user.id],
      );
      const starts = await harness.context.db.query<{ n: number }>(
        "SELECT count(*)::int8 AS n FROM audit_log WHERE action = 'sso.session.start' AND target = $1",
        [`principal:${user.id}`],
      );
      return { sessions: sessions.rows[0]!.n, starts: starts.rows[0]!.n };
    };
    expect((await browser.request(link)).status).toBe(303);
    expect(await sessionsAndAudit()).toEqual({ sessions: 1, starts: 1 });
    const again = await browser.request(link);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("already completed");
    expect(await sessionsAndAudit()).toEqual({ sessions: 1, starts: 1 });
  });

  it("refuses a login without a certificate, and one whose user is disabled", async () => {
    const noCertificate = new Browser(new Agent({ connect: { ca: harness.rootPem } }));
    const response = await noCertificate.request(
      `${harness.mtlsUrl}/login/certificate?interaction=AAAAAAAAAAAAAAAAAAAAAA`,
    );
    expect(response.status).toBe(401);
    expect(await response.text()).toContain("needs a TLS client certificate");

    const user = await harness.user();
    const certificate = await harness.userCertificate(user);
    await harness.context.directory.disable({ audit: { actor: "cli:test" } }, user.id);
    const browser = new Browser(
      new Agent({
        connect: { key: certificate.keyPem, cert: certificate.certificatePem, ca: harness.rootPem },
      }),
    );
    const disabled = await browser.request(
      `${harness.mtlsUrl}/login/certificate?interaction=AAAAAAAAAAAAAAAAAAAAAA`,
    );
    expect(disabled.status).toBe(401);
    expect(await disabled.text()).toContain("disabled");
  });

  it("authenticates a business system with tls_client_auth and binds its tokens to the certificate (RFC 8705)", async () => {
    const system = await issueClientCertificate(harness, { profile: "tls-client", commonName: "tax-system" });
    const agent = new Agent({
      connect: { key: system.keyPem, cert: system.certificatePem, ca: harness.rootPem },
    });
    const me = await fetch(`${harness.mtlsUrl}/api/v1/me/certificate`, { dispatcher: agent } as RequestInit);
    const subjectDn = ((await me.json()) as { subject: string }).subject;
    await harness.client({
      clientId: "tax-system",
      name: "Tax system",
      tokenEndpointAuthMethod: "tls_client_auth",
      tlsClientAuthSubjectDn: subjectDn,
      grantTypes: ["client_credentials"],
      scopes: ["tax.read"],
    });
    const config = await oidc.discovery(
      new URL(harness.issuer),
      "tax-system",
      { use_mtls_endpoint_aliases: true },
      oidc.TlsClientAuth(),
      { execute: [oidc.allowInsecureRequests] },
    );
    config[oidc.customFetch] = (url, options) => fetch(url, { ...options, dispatcher: agent } as RequestInit);
    expect(config.serverMetadata().mtls_endpoint_aliases?.token_endpoint).toBe(
      `${harness.mtlsUrl}/oauth/token`,
    );
    const tokens = await oidc.clientCredentialsGrant(config, { scope: "tax.read" });
    const thumbprint = (await import("node:crypto"))
      .createHash("sha256")
      .update(system.der)
      .digest("base64url");
    const introspected = await oidc.tokenIntrospection(portal, tokens.access_token);
    expect(introspected).toMatchObject({
      active: true,
      client_id: "tax-system",
      cnf: { "x5t#S256": thumbprint },
    });

    // A bound token is accepted only with its certificate (RFC 8705 §3): userinfo checks the
    // binding first (then refuses a client's own token for lack of a user: 403).
    const withoutCertificate = await fetch(`${harness.issuer}/oauth/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(withoutCertificate.status).toBe(401);
    expect(withoutCertificate.headers.get("www-authenticate")).toContain("RFC 8705");
    const withCertificate = await fetch(`${harness.mtlsUrl}/oauth/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
      dispatcher: agent,
    } as RequestInit);
    expect(withCertificate.status).toBe(403);

    // Without the certificate (plain endpoint) and with another one, tls_client_auth fails.
    const plain = await fetch(`${harness.issuer}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&client_id=tax-system",
    });
    expect(plain.status).toBe(401);
    const other = await issueClientCertificate(harness, {
      profile: "tls-client",
      commonName: "someone-else",
    });
    const wrong = await fetch(`${harness.mtlsUrl}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials&client_id=tax-system",
      dispatcher: new Agent({
        connect: { key: other.keyPem, cert: other.certificatePem, ca: harness.rootPem },
      }),
    } as RequestInit);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({
      error: "invalid_client",
      error_description: expect.stringMatching(/subject/),
    });
  });
});
