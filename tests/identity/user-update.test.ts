/**
 * PATCH /api/v1/users/{id} and Directory.update: who may change a directory user's name,
 * email, org unit and roles; that nobody changes its own roles and the last enabled security
 * admin keeps the role; the audit record; and that roles feed RBAC at once, for access tokens
 * and (cached) API keys alike.
 */
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actorOf, cliActor, type Principal } from "../../src/auth/principal.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer } from "../helpers/harness.js";
import { Browser, createSsoHarness, passwordLogin, type SsoHarness, type TestUser } from "../helpers/sso.js";

const CALLBACK = "https://console.gov.test/cb";
const MISSING = "00000000-0000-4000-8000-000000000000";

describe.each(ENGINES)("changing directory users on %s", (engine) => {
  let harness: SsoHarness;
  let raToken: string;
  let console_: oidc.Configuration;

  const call = (method: "GET" | "PATCH", url: string, token: string, payload?: object) =>
    harness.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
  const patch = (id: string, token: string, payload: object) =>
    call("PATCH", `/api/v1/users/${id}`, token, payload);

  /** The user's access token for the admin API, by a password + TOTP login through the console client. */
  async function accessToken(user: TestUser): Promise<string> {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(console_, {
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const callback = await passwordLogin(new Browser(), harness.issuer, url, user);
    const tokens = await oidc.authorizationCodeGrant(console_, new URL(callback), {
      pkceCodeVerifier: verifier,
      idTokenExpected: true,
    });
    return tokens.access_token;
  }

  const apiKey = async (user: TestUser) =>
    (await harness.context.accounts.createApiKey(cliActor("test"), user.id, null)).token;

  const principalOf = async (id: string): Promise<Principal> => {
    const user = (await harness.context.directory.get(id))!;
    return { id, kind: "user", name: user.name, roles: user.roles, orgUnit: user.orgUnit, dnsNames: [] };
  };

  beforeAll(async () => {
    // API keys cached for 5 minutes: a demotion must evict them, not wait for the cache.
    harness = await createSsoHarness(engine, { env: { CA_API_KEY_CACHE_SECONDS: "300" } });
    await harness.context.configuration.ensureListening(); // as `ca serve` does (PostgreSQL)
    await harness.orgUnit("gov/gz/tianhe", "county");
    await harness.orgUnit("gov/sz", "city");
    raToken = (await harness.account("ra-operator", "gov/gz")).token;
    const registered = await harness.client({
      clientId: "admin-console",
      name: "Admin console",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["authorization_code"],
      redirectUris: [CALLBACK],
      firstParty: true,
      audience: [harness.issuer],
    });
    console_ = await harness.discover(registered.clientId, registered.clientSecret!);
  });
  afterAll(async () => harness?.close());

  it("lets a security admin change anyone's name, email, org unit and roles, audited with before and after", async () => {
    const user = await harness.user(["subscriber"], "gov/gz/tianhe");
    const before = (await call("GET", `/api/v1/users/${user.id}`, harness.adminToken)).json();
    const changed = await patch(user.id, harness.adminToken, {
      name: "  Chen Jing ",
      email: "chen.jing@sz.gov.test",
      orgUnit: "gov/sz",
      roles: ["ra-operator", "auditor"],
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toEqual({
      ...before,
      name: "Chen Jing",
      email: "chen.jing@sz.gov.test",
      orgUnit: "gov/sz",
      roles: ["ra-operator", "auditor"],
    });
    expect((await call("GET", `/api/v1/users/${user.id}`, harness.adminToken)).json()).toEqual(
      changed.json(),
    );

    const audit = await call(
      "GET",
      `/api/v1/audit?action=user.update&target=principal:${user.id}`,
      harness.adminToken,
    );
    expect(audit.json().items).toHaveLength(1);
    expect(audit.json().items[0]).toMatchObject({
      actor: expect.stringMatching(/^service-account:/),
      details: {
        before: { name: before.name, email: before.email, orgUnit: "gov/gz/tianhe", roles: ["subscriber"] },
        after: {
          name: "Chen Jing",
          email: "chen.jing@sz.gov.test",
          orgUnit: "gov/sz",
          roles: ["ra-operator", "auditor"],
        },
      },
    });

    const cleared = await patch(user.id, harness.adminToken, { email: null });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toMatchObject({
      email: null,
      orgUnit: "gov/sz",
      roles: ["ra-operator", "auditor"],
    });
  });

  it("lets an RA operator change subscribers of its subtree who stay subscribers there, and nothing else", async () => {
    const subscriber = await harness.user(["subscriber"], "gov/gz/tianhe");
    const renamed = await patch(subscriber.id, raToken, { name: "Wu Fang", orgUnit: "gov/gz" });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ name: "Wu Fang", orgUnit: "gov/gz", roles: ["subscriber"] });

    const outside = await patch(subscriber.id, raToken, { orgUnit: "gov/sz" });
    expect(outside.statusCode).toBe(403);
    expect(outside.json().detail).toBe('org unit "gov/sz" is outside this RA operator\'s subtree "gov/gz"');
    const toRoot = await patch(subscriber.id, raToken, { orgUnit: null });
    expect(toRoot.statusCode).toBe(403);

    const grant = await patch(subscriber.id, raToken, { roles: ["subscriber", "auditor"] });
    expect(grant.statusCode).toBe(403);
    expect(grant.json().detail).toContain("an RA operator manages subscribers only; this user holds auditor");

    const auditor = await harness.user(["subscriber", "auditor"], "gov/gz");
    const demote = await patch(auditor.id, raToken, { roles: ["subscriber"] });
    expect(demote.statusCode).toBe(403);
    expect(demote.json().detail).toContain("this user holds auditor");

    const elsewhere = await harness.user(["subscriber"], "gov/sz");
    const unseen = await patch(elsewhere.id, raToken, { name: "Nope" });
    expect(unseen.statusCode).toBe(404);

    // Nothing of the refused changes was written.
    expect((await harness.context.directory.get(subscriber.id))!).toMatchObject({
      name: "Wu Fang",
      orgUnit: "gov/gz",
      roles: ["subscriber"],
    });
    expect((await harness.context.directory.get(auditor.id))!.roles).toEqual(["subscriber", "auditor"]);
  });

  it("refuses anyone changing its own roles, but lets it change its name", async () => {
    const admin = await harness.user(["security-admin"], "gov");
    const token = await accessToken(admin);
    const escalate = await patch(admin.id, token, { roles: ["security-admin", "auditor"] });
    expect(escalate.statusCode).toBe(403);
    expect(escalate.json()).toMatchObject({
      code: "own-roles",
      detail: "nobody changes its own roles: another security admin must",
    });
    const lockOut = await patch(admin.id, token, { roles: ["subscriber"] });
    expect(lockOut.statusCode).toBe(403);
    expect(lockOut.json().code).toBe("own-roles");
    const renamed = await patch(admin.id, token, { name: "Zhou Lei", roles: ["security-admin"] });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ name: "Zhou Lei", roles: ["security-admin"] });
  });

  it("takes a demoted security admin's permission away at once, for its access token and its cached API key", async () => {
    const admin = await harness.user(["security-admin"], "gov");
    const token = await accessToken(admin);
    const key = await apiKey(admin);
    for (const credential of [token, key])
      expect((await call("GET", "/api/v1/clients", credential)).statusCode).toBe(200); // the key is now cached

    const demoted = await patch(admin.id, harness.adminToken, { roles: ["subscriber"] });
    expect(demoted.statusCode, demoted.body).toBe(200);
    for (const credential of [token, key]) {
      const refused = await call("GET", "/api/v1/clients", credential);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().detail).toBe("the subscriber role does not have the client:read permission");
    }
    const promoted = await patch(admin.id, harness.adminToken, { roles: ["auditor"] });
    expect(promoted.statusCode).toBe(200);
    for (const credential of [token, key])
      expect((await call("GET", "/api/v1/clients", credential)).statusCode).toBe(200);
  });

  it("answers precise 4xx for bad input, and writes nothing", async () => {
    const user = await harness.user(["subscriber"], "gov/gz");
    const cases: [object, string, string | RegExp][] = [
      [{ orgUnit: "gov/nowhere" }, "org-unit-unknown", 'org unit "gov/nowhere" does not exist'],
      [
        { orgUnit: "Gov//X" },
        "org-unit-path-invalid",
        /org unit path "Gov\/\/X" must be lower-case segments/,
      ],
      [{ roles: [] }, "validation-failed", /roles/],
      [{ roles: ["subscriber", "subscriber"] }, "validation-failed", /roles/],
      [{ roles: ["root"] }, "validation-failed", /roles/],
      [{ employeeNumber: "X-1" }, "validation-failed", 'unknown field "employeeNumber"'],
      [{}, "validation-failed", /body/],
      [{ name: "   " }, "name-invalid", "the name is empty"],
      [{ email: "not-an-address" }, "email-invalid", '"not-an-address" is not an email address'],
      [
        { roles: ["ra-operator"], orgUnit: null },
        "org-unit-required",
        "an ra-operator must be given the org unit whose subtree it serves",
      ],
    ];
    for (const [payload, code, detail] of cases) {
      const response = await patch(user.id, harness.adminToken, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().code, JSON.stringify(payload)).toBe(code);
      if (typeof detail === "string") expect(response.json().detail).toContain(detail);
      else expect(response.json().detail).toMatch(detail);
    }
    const missing = await patch(MISSING, harness.adminToken, { name: "Nobody" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().detail).toBe(`user "${MISSING}" does not exist`);
    expect((await patch("not-a-uuid", harness.adminToken, { name: "X" })).statusCode).toBe(400);
    const unchanged = (await harness.context.directory.get(user.id))!;
    expect(unchanged).toMatchObject({ orgUnit: "gov/gz", roles: ["subscriber"], email: expect.any(String) });
    const audit = await call(
      "GET",
      `/api/v1/audit?action=user.update&target=principal:${user.id}`,
      harness.adminToken,
    );
    expect(audit.json().items).toEqual([]);
  });

  it("keeps the last enabled security admin, even when two admins demote each other at once (409)", async () => {
    // Leave exactly two enabled security admins, a and b.
    const directory = harness.context.directory;
    const me = (await call("GET", "/api/v1/me", harness.adminToken)).json();
    const a = await harness.user(["security-admin", "auditor"], "gov");
    const b = await harness.user(["security-admin"], "gov");
    const others = (
      await harness.context.db.query<{ id: string; kind: string }>(
        "SELECT id, kind FROM principals WHERE disabled_at IS NULL AND 'security-admin' = ANY (roles) AND id <> ALL ($1)",
        [[a.id, b.id]],
      )
    ).rows;
    expect(others.map((row) => row.id)).toContain(me.id);
    for (const other of others)
      if (other.kind === "user") await directory.disable(cliActor("test"), other.id);
      else await harness.context.accounts.disable(cliActor("test"), other.id);

    const [asA, asB] = [actorOf(await principalOf(a.id)), actorOf(await principalOf(b.id))];
    const outcomes = await Promise.allSettled([
      directory.update(asA, b.id, { roles: ["subscriber"] }),
      directory.update(asB, a.id, { roles: ["auditor"] }),
    ]);
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
      status: 409,
      code: "last-security-admin",
    });

    const last = (await directory.get(a.id))!.roles.includes("security-admin") ? a : b;
    const loser = last === a ? b : a;
    expect((await directory.get(loser.id))!.roles).not.toContain("security-admin");
    await expect(
      directory.update(cliActor("test"), last.id, { roles: ["subscriber"] }),
    ).rejects.toMatchObject({
      status: 409,
      code: "last-security-admin",
      message: `user "${last.id}" is the last enabled security admin: make another one first`,
    });
    // A disabled security admin is no administrator: it may lose the role.
    const dormant = await harness.user(["security-admin"], "gov");
    await directory.disable(cliActor("test"), dormant.id);
    const dropped = await directory.update(cliActor("test"), dormant.id, { roles: ["subscriber"] });
    expect(dropped.roles).toEqual(["subscriber"]);
    expect((await directory.get(last.id))!.roles).toContain("security-admin");
  });
});
