/**
 * POST /api/v1/profiles and PUT /api/v1/profiles/{name}: security admins create and replace
 * profiles, validated as the seeded ones are (src/ca/profile.ts), audited with the old and new
 * definition; issued certificates are untouched; an OCSP signing profile stays security-admin
 * only (RFC 6960 §4.2.2.2). And across two nodes on one PostgreSQL database, a change made on
 * one is in force on the other when the call returns.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../db/database.js";
import { actorOf } from "../../src/auth/principal.js";
import { DEFAULT_PROFILES } from "../../src/ca/profiles.js";
import { openContext, type ServiceContext } from "../../src/context.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness, issueTlsServer } from "../helpers/harness.js";

const tlsServer = DEFAULT_PROFILES["tls-server"] as Record<string, unknown>;
const ocspSigner = DEFAULT_PROFILES["ocsp-signer"] as Record<string, unknown>;

describe.each(ENGINES)("managing certificate profiles on %s", (engine) => {
  let harness: Harness;

  const send = (method: "POST" | "PUT" | "GET", url: string, payload?: object, token = harness.adminToken) =>
    harness.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    harness = await createHarness(engine);
  });
  afterAll(async () => harness?.close());

  it("creates a profile (201), serves it, issues with it, and refuses the name twice (409)", async () => {
    const created = await send("POST", "/api/v1/profiles", {
      name: "tls-server-short",
      ...tlsServer,
      description: "TLS server, 90 days",
      validityDays: 90,
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toEqual({
      name: "tls-server-short",
      ...tlsServer,
      description: "TLS server, 90 days",
      validityDays: 90,
    });
    expect((await send("GET", "/api/v1/profiles/tls-server-short")).json()).toEqual(created.json());

    const issued = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
      payload: {
        csr: buildCsrPem({ key: generateTestKey("p256"), names: [{ type: "dns", value: "short.gov.test" }] }),
        profile: "tls-server-short",
        subject: { orgUnit: "gov" },
      },
    });
    expect(issued.statusCode, issued.body).toBe(201);
    const certificate = new X509Certificate(issued.json().certificate);
    const days = (Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(90);

    const again = await send("POST", "/api/v1/profiles", { name: "tls-server-short", ...tlsServer });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: "profile-exists",
      detail: 'profile "tls-server-short" exists already: replace it with PUT',
    });
    const audit = await send("GET", "/api/v1/audit?action=profile.create&target=profile:tls-server-short");
    expect(audit.json().items).toHaveLength(1);
    expect(audit.json().items[0].details.definition.validityDays).toBe(90);
  });

  it("replaces a profile: new certificates follow it, issued ones stay as they were, the audit has both", async () => {
    const before = await issueTlsServer(harness, "before");
    const replaced = await send("PUT", "/api/v1/profiles/tls-server", { ...tlsServer, validityDays: 30 });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toEqual({ name: "tls-server", ...tlsServer, validityDays: 30 });
    expect(harness.context.profiles.require("tls-server").validityDays).toBe(30);

    const after = await issueTlsServer(harness, "after");
    const validity = (pem: string) => {
      const certificate = new X509Certificate(pem);
      return Math.round((Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / 86_400_000);
    };
    expect(validity(after.certificate)).toBe(30);
    expect(validity(before.certificate)).toBe(397);
    const stored = await harness.app.inject({
      method: "GET",
      url: `/api/v1/certificates/${before.serial}`,
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
    });
    expect(stored.json().certificate).toBe(before.certificate);

    const audit = await send("GET", "/api/v1/audit?action=profile.replace&target=profile:tls-server");
    expect(audit.json().items).toHaveLength(1);
    expect(audit.json().items[0].details).toEqual({
      before: tlsServer,
      after: { ...tlsServer, validityDays: 30 },
    });
    // The body may name the profile, as GET answers it; the same name only.
    const restored = await send("PUT", "/api/v1/profiles/tls-server", { name: "tls-server", ...tlsServer });
    expect(restored.statusCode).toBe(200);
    expect(harness.context.profiles.require("tls-server").validityDays).toBe(397);
  });

  it("refuses bad definitions with the validator's message, and writes nothing", async () => {
    const cases: [string, "POST" | "PUT", object, string][] = [
      [
        "/api/v1/profiles/tls-server",
        "PUT",
        { ...tlsServer, keys: ["ec:P-521", "rsa:1024"] },
        'profile "tls-server" is invalid: /keys/0 must match pattern "^(ec:P-(256|384)|rsa:(2048|3072|4096)|ed25519)$"; /keys/1 must match pattern "^(ec:P-(256|384)|rsa:(2048|3072|4096)|ed25519)$"',
      ],
      [
        "/api/v1/profiles/tls-server",
        "PUT",
        { ...tlsServer, validityDays: 3651 },
        'profile "tls-server" is invalid: /validityDays must be <= 3650',
      ],
      [
        "/api/v1/profiles/tls-server",
        "PUT",
        { ...tlsServer, validityDays: 0 },
        'profile "tls-server" is invalid: /validityDays must be >= 1',
      ],
      [
        "/api/v1/profiles/tls-server",
        "PUT",
        { ...tlsServer, validity: 30 },
        'profile "tls-server" is invalid: / has unknown field "validity"',
      ],
      [
        "/api/v1/profiles/tls-server",
        "PUT",
        { ...tlsServer, requesters: ["root"] },
        'profile "tls-server" is invalid: /requesters/0 must be one of security-admin, ra-operator, auditor, subscriber',
      ],
      [
        "/api/v1/profiles/tls-server",
        "PUT",
        { ...tlsServer, subjectAltNames: { dns: [5, 1] } },
        'profile "tls-server" is invalid: /subjectAltNames/dns must be [min, max] with min <= max',
      ],
      [
        "/api/v1/profiles/tls-server",
        "PUT",
        { ...tlsServer, keys: ["ed25519"] },
        'profile "tls-server" is invalid: /keyUsage has no key usages for the ed25519 keys of /keys',
      ],
      [
        "/api/v1/profiles",
        "POST",
        { name: "Bad_Name", ...tlsServer },
        'profile name "Bad_Name" must be 1 to 63 lower-case letters, digits or "-", not starting with "-"',
      ],
      [
        "/api/v1/profiles",
        "POST",
        { name: "half", description: "no more" },
        "profile \"half\" is invalid: / must have required property 'validityDays'",
      ],
    ];
    for (const [url, method, payload, detail] of cases) {
      const response = await send(method, url, payload);
      expect(response.statusCode, `${method} ${url} ${JSON.stringify(payload)}`).toBe(400);
      expect(response.json()).toMatchObject({ code: "profile-invalid" });
      expect(response.json().detail).toContain(detail);
    }
    const renamed = await send("PUT", "/api/v1/profiles/tls-server", { name: "tls-server-2", ...tlsServer });
    expect(renamed.statusCode).toBe(400);
    expect(renamed.json()).toMatchObject({
      code: "profile-name-mismatch",
      detail: 'a profile\'s name cannot change: the body names "tls-server-2", the path "tls-server"',
    });
    const missing = await send("PUT", "/api/v1/profiles/no-such-profile", tlsServer);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().detail).toBe('profile "no-such-profile" does not exist');
    expect((await send("POST", "/api/v1/profiles", tlsServer)).statusCode).toBe(400); // no name

    expect(harness.context.profiles.require("tls-server")).toEqual({ name: "tls-server", ...tlsServer });
    const rows = await harness.context.db.query<{ definition: unknown }>(
      "SELECT definition FROM profiles WHERE name = 'tls-server'",
    );
    expect(rows.rows[0]!.definition).toEqual(tlsServer);
    expect((await harness.context.db.query("SELECT 1 FROM profiles WHERE name = 'half'")).rowCount).toBe(0);
  });

  it("keeps OCSP signing profiles for security admins only (RFC 6960 §4.2.2.2) and ocsp-signer an OCSP signer", async () => {
    const widened = await send("PUT", "/api/v1/profiles/ocsp-signer", {
      ...ocspSigner,
      requesters: ["security-admin", "ra-operator"],
    });
    expect(widened.statusCode).toBe(400);
    expect(widened.json().detail).toBe(
      'profile "ocsp-signer" is invalid: /requesters must be only security-admin for an OCSP signing profile (RFC 6960 §4.2.2.2)',
    );
    const sneaky = await send("POST", "/api/v1/profiles", {
      name: "responder",
      ...tlsServer,
      extendedKeyUsage: ["serverAuth", "ocspSigning"],
    });
    expect(sneaky.statusCode).toBe(400);
    expect(sneaky.json().detail).toContain(
      "/requesters must be only security-admin for an OCSP signing profile",
    );
    const noCheck = await send("POST", "/api/v1/profiles", {
      name: "no-check",
      ...tlsServer,
      ocspNoCheck: true,
      requesters: ["security-admin"],
    });
    expect(noCheck.json().detail).toContain(
      "/ocspNoCheck needs the ocspSigning extended key usage (RFC 6960 §4.2.2.2.1)",
    );
    const gutted = await send("PUT", "/api/v1/profiles/ocsp-signer", {
      ...ocspSigner,
      extendedKeyUsage: ["clientAuth"],
      ocspNoCheck: false,
    });
    expect(gutted.statusCode).toBe(400);
    expect(gutted.json().detail).toContain('the OCSP responder issues its signers with "ocsp-signer"');
    const shorter = await send("PUT", "/api/v1/profiles/ocsp-signer", { ...ocspSigner, validityDays: 7 });
    expect(shorter.statusCode, shorter.body).toBe(200);
  });

  it("lets only security admins manage profiles; RA operators still read them", async () => {
    const ra = await harness.account("ra-operator", "gov");
    const refused = await send("PUT", "/api/v1/profiles/tls-server", tlsServer, ra.token);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().detail).toBe("the ra-operator role does not have the profile:manage permission");
    expect((await send("POST", "/api/v1/profiles", { name: "x", ...tlsServer }, ra.token)).statusCode).toBe(
      403,
    );
    expect((await send("GET", "/api/v1/profiles/tls-server", undefined, ra.token)).statusCode).toBe(200);
  });
});

describe("profiles and directory roles across two nodes on one PostgreSQL database", () => {
  let harness: Harness;
  let secondDb: Database;
  let nodeB: ServiceContext;

  beforeAll(async () => {
    harness = await createHarness("postgres");
    await harness.context.configuration.ensureListening(); // as `ca serve` does
    secondDb = await openDatabase({ url: harness.database.url!, poolSize: 4 });
    // Node B caches API keys for 5 minutes: only the invalidation can make it forget one.
    nodeB = await openContext(
      { ...harness.context.config, apiKeyCacheSeconds: 300 },
      { db: secondDb, keyStore: harness.context.keyStore },
    );
    expect(await nodeB.configuration.ensureListening()).toBe(true);
  });
  afterAll(async () => {
    await nodeB?.configuration.stop();
    await nodeB?.sso.stop();
    await nodeB?.ocsp.stop();
    await secondDb?.close();
    await harness?.close();
  });

  it("has a profile created or replaced on one node in force on the other when the call returns", async () => {
    expect(nodeB.profiles.enabled).toBe(true); // B answers from memory, kept by the invalidation
    for (let round = 1; round <= 5; round++) {
      const replaced = await harness.app.inject({
        method: "PUT",
        url: "/api/v1/profiles/tls-client",
        headers: bearer(harness.adminToken),
        payload: { ...(DEFAULT_PROFILES["tls-client"] as object), validityDays: 100 + round },
      });
      expect(replaced.statusCode, replaced.body).toBe(200);
      expect(nodeB.profiles.find("tls-client")!.validityDays).toBe(100 + round);
    }
    await nodeB.profiles.create(
      actorOf((await nodeB.authenticator.authenticate(harness.adminToken))!),
      "made-on-b",
      {
        ...tlsServer,
        validityDays: 42,
      },
    );
    expect(harness.context.profiles.find("made-on-b")!.validityDays).toBe(42);
  });

  it("takes a demoted user's permission from its API key cached on the other node at once", async () => {
    const user = await harness.context.directory.create(
      actorOf(await harness.context.authenticator.authenticate(harness.adminToken)),
      {
        name: "Two Nodes",
        employeeNumber: "NODES-1",
        orgUnit: "gov",
        roles: ["security-admin"],
      },
    );
    const key = (
      await harness.context.accounts.createApiKey(
        actorOf(await harness.context.authenticator.authenticate(harness.adminToken)),
        user.id,
        null,
      )
    ).token;
    expect((await nodeB.authenticator.authenticate(key)).roles).toEqual(["security-admin"]); // cached on B
    const demoted = await harness.app.inject({
      method: "PATCH",
      url: `/api/v1/users/${user.id}`,
      headers: bearer(harness.adminToken),
      payload: { roles: ["subscriber"] },
    });
    expect(demoted.statusCode, demoted.body).toBe(200);
    expect((await nodeB.authenticator.authenticate(key)).roles).toEqual(["subscriber"]);
  });
});
