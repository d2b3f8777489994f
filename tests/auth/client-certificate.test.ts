/**
 * ClientCertificates.verify: a certificate is accepted only when a CA of this service issued
 * it (RFC 5280 §6.1.3 signature and name, path validity), it is valid by the service clock,
 * fit for client authentication (keyUsage digitalSignature, id-kp-clientAuth), on record and
 * good, and (for a login) owned by a directory principal; with no network fetch at all. Its
 * status is remembered per node, and forgotten at once on a status change, on this node and
 * (PostgreSQL) on the other nodes before the change's call returns.
 */

import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../db/database.js";
import { retireIssuer } from "../../db/stores/issuers.js";
import type { ClientCertificatePurpose } from "../../src/auth/client-certificate.js";
import { cliActor } from "../../src/auth/principal.js";
import { FixedClock } from "../../src/clock.js";
import { openContext, type ServiceContext } from "../../src/context.js";
import { OCSP_INVALIDATION } from "../../src/revocation/ocsp/invalidation.js";
import {
  type ClientCertificate,
  forgeClientCertificate,
  issueClientCertificate,
  refusal,
  thumbprint,
} from "../helpers/client-certificates.js";
import { nameDer } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { createHarness, type Harness } from "../helpers/harness.js";

const DAY = 86_400_000;
const actor = cliActor("test");

/** Counts the database queries `work` makes through `context.db`. */
async function queriesDuring(context: ServiceContext, work: () => Promise<unknown>): Promise<number> {
  const db = context.db as Database;
  const original = db.query;
  let count = 0;
  db.query = ((...args: Parameters<Database["query"]>) => {
    count++;
    return original.apply(db, args);
  }) as Database["query"];
  try {
    await work();
  } finally {
    db.query = original;
  }
  return count;
}

describe.each(ENGINES)("ClientCertificates.verify on %s (RFC 5280 §6, RFC 8705)", (engine) => {
  let harness: Harness;
  let clock: FixedClock;
  let urlServer: Server;
  let urlHits = 0;
  let subscriber: { id: string; token: string };

  beforeAll(async () => {
    // Every URL in the certificates (AIA, CRL distribution point, OCSP) points at this server.
    urlServer = createServer((_request, response) => {
      urlHits++;
      response.end();
    });
    await new Promise<void>((resolve) => urlServer.listen(0, "127.0.0.1", resolve));
    const publicUrl = `http://127.0.0.1:${(urlServer.address() as AddressInfo).port}`;
    clock = new FixedClock(new Date(Math.floor(Date.now() / 1000) * 1000));
    harness = await createHarness(engine, { clock, env: { CA_PUBLIC_URL: publicUrl } });
    await harness.context.ocsp.invalidation.ensureListening(); // PostgreSQL: the memory is on only while it listens
    expect(harness.context.clientCertificates.statuses.enabled).toBe(true);
    subscriber = await harness.account("subscriber");
  });
  afterAll(async () => {
    await harness?.close();
    await new Promise((resolve) => urlServer?.close(resolve));
  });

  const verify = (certificate: ClientCertificate, purpose: ClientCertificatePurpose = "client-auth") =>
    harness.context.clientCertificates.verify({ der: certificate.der }, purpose);

  it("accepts a civil servant's user-signing certificate for login and client authentication, fetching no URL", async () => {
    const certificate = await issueClientCertificate(harness, {
      profile: "user-signing",
      token: subscriber.token,
    });
    const parsed = new X509Certificate(certificate.der);
    expect(parsed.infoAccess).toContain("http://127.0.0.1:"); // AIA names the counting server
    const { rows } = await harness.context.db.query<{ subject: string; spki_sha256: Buffer }>(
      "SELECT subject, spki_sha256 FROM certificates WHERE serial = $1",
      [certificate.serial],
    );
    for (const purpose of ["user-login", "client-auth"] as const)
      expect(await verify(certificate, purpose)).toEqual({
        issuerId: "issuing-1",
        serial: certificate.serial,
        subjectDn: rows[0]!.subject,
        sans: [],
        ownerId: subscriber.id,
        orgUnit: "gov",
        profile: "user-signing",
        notBefore: new Date(parsed.validFrom),
        notAfter: new Date(parsed.validTo),
        x5tS256: thumbprint(certificate.der),
        spkiSha256: rows[0]!.spki_sha256.toString("hex"),
      });
    expect(rows[0]!.subject).toMatch(/^CN=subscriber-[a-z0-9]+,OU=Provincial Government,O=.*,C=CN$/);
    expect(urlHits).toBe(0);
  });

  it("authenticates a business system's tls-client certificate as a client, never as a person (certificate-unmapped)", async () => {
    const certificate = await issueClientCertificate(harness, { profile: "tls-client" });
    expect(await verify(certificate, "client-auth")).toMatchObject({ ownerId: null, profile: "tls-client" });
    expect(await refusal(verify(certificate, "user-login"), "certificate-unmapped")).toBe(
      `certificate ${certificate.serial} of issuer "issuing-1" was not issued to a directory user, so it cannot log one in`,
    );
  });

  it("refuses certificates that are not for TLS client authentication (RFC 5280 §4.2.1.3, §4.2.1.12)", async () => {
    const server = await issueClientCertificate(harness, {
      profile: "tls-server",
      names: [{ type: "dns", value: "web.gov.test" }],
      commonName: "web.gov.test",
    });
    expect(await refusal(verify(server), "certificate-eku")).toContain(
      "lacks id-kp-clientAuth (RFC 5280 §4.2.1.12)",
    );
    const encryption = await issueClientCertificate(harness, { profile: "user-encryption" }); // EC: keyAgreement only
    expect(await refusal(verify(encryption), "certificate-key-usage")).toContain(
      "does not allow digitalSignature (keyUsage: keyAgreement",
    );
  });

  it("refuses what no CA of this service signed: a foreign CA under our CA's name, and a foreign CA's name", async () => {
    const foreignKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const impostor = await forgeClientCertificate(harness, { foreignKey });
    expect(await refusal(verify(impostor), "certificate-untrusted")).toContain(
      "but its signature does not verify with that CA's key (RFC 5280 §6.1.3)",
    );
    const foreign = await forgeClientCertificate(harness, {
      foreignKey,
      issuerName: nameDer("Other Province CA"),
    });
    expect(await refusal(verify(foreign), "certificate-untrusted")).toBe(
      'the client certificate was issued by "CN=Other Province CA", which is not a CA of this service',
    );
  });

  it("refuses a certificate signed with our CA's key that is not on record, or differs from the one on record", async () => {
    const unrecorded = await forgeClientCertificate(harness);
    expect(await refusal(verify(unrecorded), "certificate-unknown")).toContain("is not on record");
    const genuine = await issueClientCertificate(harness, { profile: "tls-client" });
    const twin = await forgeClientCertificate(harness, { serial: genuine.serial, commonName: "twin" });
    expect(await refusal(verify(twin), "certificate-unknown")).toContain(
      "differs from the certificate on record under that serial",
    );
  });

  it("refuses input that is not a DER certificate (certificate-malformed)", async () => {
    const genuine = await issueClientCertificate(harness, { profile: "tls-client" });
    for (const der of [
      Buffer.from("not a certificate"),
      Buffer.concat([genuine.der, Buffer.from([0])]),
      genuine.der.subarray(0, 100),
    ])
      await refusal(
        harness.context.clientCertificates.verify({ der }, "client-auth"),
        "certificate-malformed",
      );
  });

  it("checks validity by the service clock: not yet valid, expired, and a CA of the path outside its validity", async () => {
    clock.advance(DAY);
    let moved = DAY;
    try {
      const certificate = await issueClientCertificate(harness, { profile: "tls-client" });
      const { validFrom, validTo } = new X509Certificate(certificate.der);
      clock.advance(-DAY / 2);
      moved -= DAY / 2;
      expect(await refusal(verify(certificate), "certificate-not-yet-valid")).toContain(
        `is not valid before ${new Date(validFrom).toISOString()}`,
      );
      const toExpiry = Date.parse(validTo) - clock.now().getTime() + 1000;
      clock.advance(toExpiry);
      moved += toExpiry;
      expect(await refusal(verify(certificate), "certificate-expired")).toContain(
        `expired at ${new Date(validTo).toISOString()}`,
      );
      const issuing = harness.context.issuers.get("issuing-1").row;
      const pastCa = issuing.not_after.getTime() - clock.now().getTime() + 1000;
      clock.advance(pastCa);
      moved += pastCa;
      expect(await refusal(verify(certificate), "certificate-untrusted")).toContain(
        'the certificate of CA "issuing-1" in the path is valid from',
      );
    } finally {
      clock.advance(-moved);
    }
  });

  it("remembers a good status, refuses at once after hold and revocation, and accepts again on release", async () => {
    const certificate = await issueClientCertificate(harness, {
      profile: "user-signing",
      token: subscriber.token,
    });
    const ref = { serial: certificate.serial };
    await verify(certificate, "user-login");
    expect(await queriesDuring(harness.context, () => verify(certificate, "user-login"))).toBe(0);

    await harness.context.revocations.hold(actor, ref);
    expect(await refusal(verify(certificate, "user-login"), "certificate-on-hold")).toContain(
      "is on hold (certificateHold) since",
    );
    await harness.context.revocations.release(actor, ref);
    expect((await verify(certificate, "user-login")).serial).toBe(certificate.serial);
    await harness.context.revocations.revoke(actor, ref, "keyCompromise");
    expect(await refusal(verify(certificate, "user-login"), "certificate-revoked")).toMatch(
      /was revoked at \d{4}-.*Z \(keyCompromise\)$/,
    );
  });

  it("asks the database once for concurrent checks of a certificate it does not remember", async () => {
    const certificate = await issueClientCertificate(harness, { profile: "tls-client" });
    harness.context.clientCertificates.statuses.clear();
    const queries = await queriesDuring(harness.context, () =>
      Promise.all(Array.from({ length: 20 }, () => verify(certificate))),
    );
    expect(queries).toBeGreaterThan(0);
    expect(queries).toBeLessThanOrEqual(2); // the first alone, all the others together (CoalescedLookup)
  });

  it("accepts the certificates of a retired issuing CA: it issues nothing new, what it issued stays valid", async () => {
    const certificate = await issueClientCertificate(harness, { profile: "tls-client" });
    await retireIssuer(harness.context.db, "issuing-1");
    await harness.context.issuers.reload();
    try {
      expect(harness.context.issuers.get("issuing-1").row.status).toBe("retired");
      expect((await verify(certificate)).issuerId).toBe("issuing-1");
    } finally {
      await harness.context.db.query("UPDATE issuers SET status = 'active' WHERE id = 'issuing-1'");
      await harness.context.issuers.reload();
    }
  });
});

describe("client certificate status across two nodes on one PostgreSQL database", () => {
  let harness: Harness;
  let secondDb: Database;
  let nodeB: ServiceContext;

  beforeAll(async () => {
    harness = await createHarness("postgres");
    secondDb = await openDatabase({ url: harness.database.url!, poolSize: 4 });
    nodeB = await openContext(harness.context.config, { db: secondDb, keyStore: harness.context.keyStore });
    expect(await harness.context.ocsp.invalidation.ensureListening()).toBe(true);
    expect(await nodeB.ocsp.invalidation.ensureListening()).toBe(true);
  });
  afterAll(async () => {
    await nodeB?.ocsp.stop();
    await nodeB?.auditSealer.close();
    await secondDb?.close();
    await harness?.close();
  });

  it("forgets a remembered good status on the other node before the revocation returns", async () => {
    for (const change of ["hold", "revoke"] as const) {
      const certificate = await issueClientCertificate(harness, { profile: "tls-client" });
      await nodeB.clientCertificates.verify({ der: certificate.der }, "client-auth");
      expect(nodeB.clientCertificates.statuses.get("issuing-1", certificate.serial)?.status).toBe("good");
      if (change === "hold") await harness.context.revocations.hold(actor, { serial: certificate.serial });
      else await harness.context.revocations.revoke(actor, { serial: certificate.serial }, "superseded");
      expect(nodeB.clientCertificates.statuses.get("issuing-1", certificate.serial)).toBeUndefined();
      await refusal(
        nodeB.clientCertificates.verify({ der: certificate.der }, "client-auth"),
        change === "hold" ? "certificate-on-hold" : "certificate-revoked",
      );
    }
  });

  it("remembers nothing while it cannot hear the other nodes' changes", async () => {
    const certificate = await issueClientCertificate(harness, { profile: "tls-client" });
    await nodeB.clientCertificates.verify({ der: certificate.der }, "client-auth");
    await harness.context.db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [`${OCSP_INVALIDATION.applicationPrefix}${nodeB.ocsp.invalidation.nodeId}`],
    );
    const statuses = nodeB.clientCertificates.statuses;
    for (let i = 0; i < 200 && statuses.enabled; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(statuses.enabled).toBe(false);
    expect(statuses.size).toBe(0);
    await harness.context.revocations.revoke(actor, { serial: certificate.serial }, "superseded");
    await refusal(
      nodeB.clientCertificates.verify({ der: certificate.der }, "client-auth"),
      "certificate-revoked",
    );
    expect(await nodeB.ocsp.invalidation.ensureListening()).toBe(true);
    expect(statuses.enabled).toBe(true);
  });
});
