/**
 * Pre-signed OCSP responses (RFC 5019): signed at issuance, re-signed at once on revoke /
 * hold / release and half-way to nextUpdate, renewed responders, RFC 5019 §6.2 caching
 * headers, a hot path without database or signature, a bounded memory, and consistency
 * across two nodes on one PostgreSQL database (LISTEN/NOTIFY with acknowledgements): once a
 * revocation has returned on one node, the other answers revoked.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../db/database.js";
import { KeyStoreError } from "../../hsm-adapters/key-store.js";
import { buildApp } from "../../src/app.js";
import { FixedClock } from "../../src/clock.js";
import { openContext, type ServiceContext } from "../../src/context.js";
import { sequence } from "../../src/pki/der.js";
import { OID } from "../../src/pki/oids.js";
import { cacheKey } from "../../src/revocation/ocsp/cache.js";
import { encodeCertId, issuerHashes } from "../../src/revocation/ocsp/cert-id.js";
import { OCSP_INVALIDATION } from "../../src/revocation/ocsp/invalidation.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";
import { buildOcspRequest, parseOcspResponse } from "../helpers/ocsp.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

type Inject = Harness["app"]["inject"];

/** An OCSPRequest for one serial of issuing-1, as a client would build it. */
const ocspRequest = (
  context: ServiceContext,
  serial: string,
  hash: "sha1" | "sha256" = "sha1",
  nonce?: Buffer,
) => buildOcspRequest(context.issuers.get("issuing-1").row.certificate, serial, hash, nonce);

const ocspGet = (inject: Inject, request: Buffer, headers: Record<string, string> = {}) =>
  inject({
    method: "GET",
    url: `/ocsp/issuing-1/${encodeURIComponent(request.toString("base64"))}`,
    headers,
  });

function singleStatus(response: LightMyRequestResponse) {
  expect(response.statusCode, response.body).toBe(200);
  const parsed = parseOcspResponse(response.rawPayload);
  expect(parsed.status).toBe(0);
  return { ...parsed.basic!.responses[0]!, responderKeyHash: parsed.basic!.responderKeyHash, parsed };
}

async function issueOn(inject: Inject, adminToken: string, name = "cache"): Promise<string> {
  const response = await inject({
    method: "POST",
    url: "/api/v1/certificates",
    headers: { ...bearer(adminToken), accept: "application/json" },
    payload: {
      csr: buildCsrPem({ key: generateTestKey("p256"), names: [{ type: "dns", value: `${name}.gov.test` }] }),
      profile: "tls-server",
      subject: { orgUnit: "gov" },
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().serial as string;
}

async function actOn(
  inject: Inject,
  adminToken: string,
  serial: string,
  operation: string,
  payload: object = {},
) {
  const response = await inject({
    method: "POST",
    url: `/api/v1/certificates/${serial}/${operation}`,
    headers: bearer(adminToken),
    payload,
  });
  expect(response.statusCode, response.body).toBe(200);
}

/** Counts database statements and signatures while `work` runs. */
async function counting(context: ServiceContext, work: () => Promise<void>) {
  const db = context.db as Database & Record<string, unknown>;
  const keyStore = context.keyStore;
  const originals = { query: db.query, transaction: db.transaction, sign: keyStore.sign };
  const counts = { queries: 0, signatures: 0 };
  db.query = ((...args: Parameters<Database["query"]>) => {
    counts.queries++;
    return originals.query.apply(db, args);
  }) as Database["query"];
  db.transaction = ((...args: Parameters<Database["transaction"]>) => {
    counts.queries++;
    return originals.transaction.apply(db, args);
  }) as Database["transaction"];
  keyStore.sign = (request) => {
    counts.signatures++;
    return originals.sign.call(keyStore, request);
  };
  try {
    await work();
  } finally {
    db.query = originals.query;
    db.transaction = originals.transaction;
    keyStore.sign = originals.sign;
  }
  return counts;
}

describe.each(ENGINES)("pre-signed OCSP responses on %s", (engine) => {
  let harness: Harness;
  let clock: FixedClock;
  const issue = (name?: string) => issueOn(harness.app.inject.bind(harness.app), harness.adminToken, name);
  const act = (serial: string, operation: string, payload?: object) =>
    actOn(harness.app.inject.bind(harness.app), harness.adminToken, serial, operation, payload);
  const get = (serial: string, headers?: Record<string, string>, hash?: "sha1" | "sha256") =>
    ocspGet(harness.app.inject.bind(harness.app), ocspRequest(harness.context, serial, hash), headers);
  const stored = async (serial: string) =>
    (
      await harness.context.db.query<{
        hash_alg: string;
        status: string;
        revocation_reason: number | null;
        this_update: Date;
        next_update: Date;
        refresh_at: Date;
      }>(
        "SELECT hash_alg, status, revocation_reason, this_update, next_update, refresh_at FROM ocsp_responses WHERE serial = $1 ORDER BY hash_alg",
        [serial],
      )
    ).rows;

  beforeAll(async () => {
    clock = new FixedClock(new Date(Math.floor(Date.now() / 1000) * 1000));
    harness = await createHarness(engine, { clock });
    await harness.context.ocsp.invalidation.ensureListening(); // PostgreSQL: memory is used once this node listens
  });
  afterAll(async () => harness?.close());

  it("has a delegated responder per issuer from setup, and signs both CertID digests at issuance", async () => {
    const { rows } = await harness.context.db.query<{ issuer_id: string }>(
      "SELECT issuer_id FROM ocsp_signers ORDER BY issuer_id",
    );
    expect(rows.map((row) => row.issuer_id)).toEqual(["issuing-1", "root-1"]);
    const serial = await issue();
    const now = clock.now();
    expect(await stored(serial)).toEqual(
      ["sha1", "sha256"].map((hash_alg) => ({
        hash_alg,
        status: "good",
        revocation_reason: null,
        this_update: now,
        next_update: new Date(now.getTime() + DAY), // CA_OCSP_VALIDITY_HOURS default 24
        refresh_at: new Date(now.getTime() + 12 * HOUR),
      })),
    );
    for (const hash of ["sha1", "sha256"] as const) {
      const answer = singleStatus(await get(serial, {}, hash));
      expect(answer).toMatchObject({ serialHex: serial, status: "good" });
    }
  });

  it("answers from memory with no database statement and no signature (the hot path)", async () => {
    const serial = await issue();
    const request = ocspRequest(harness.context, serial);
    await ocspGet(harness.app.inject.bind(harness.app), request); // in memory from here on
    const post = () =>
      harness.app.inject({
        method: "POST",
        url: "/ocsp/issuing-1",
        headers: { "content-type": "application/ocsp-request" },
        payload: request,
      });
    const counts = await counting(harness.context, async () => {
      for (let i = 0; i < 20; i++) {
        expect(singleStatus(await ocspGet(harness.app.inject.bind(harness.app), request)).status).toBe(
          "good",
        );
        expect(singleStatus(await post()).status).toBe("good");
      }
    });
    expect(counts).toEqual({ queries: 0, signatures: 0 });
    // A nonce makes the response unique: signed live, once per request (but the status still comes from memory).
    const live = await counting(harness.context, async () => {
      const response = await ocspGet(
        harness.app.inject.bind(harness.app),
        ocspRequest(harness.context, serial, "sha1", Buffer.alloc(8, 1)),
      );
      expect(singleStatus(response).parsed.basic!.nonce).toEqual(Buffer.alloc(8, 1));
      expect(response.headers["cache-control"]).toBe("no-store");
    });
    expect(live).toEqual({ queries: 0, signatures: 1 });
  });

  it("loads the stored responses into memory at start, and then answers with no database statement", async () => {
    const serials = [await issue("preload-a"), await issue("preload-b")];
    harness.context.ocsp.cache.clear(); // as in a node just started
    const progress: number[] = [];
    const loading = harness.context.ocsp.preload((count) => progress.push(count));
    const notYet = await harness.app.inject({ url: "/readyz" }); // joins a pool only once warm
    expect(notYet.statusCode).toBe(503);
    expect(notYet.json().checks.ocspMemory).toBe("loading");
    const loaded = await loading;
    expect((await harness.app.inject({ url: "/readyz" })).json().checks.ocspMemory).toBe("ok");
    const { rows } = await harness.context.db.query<{ count: string }>(
      "SELECT count(*) FROM ocsp_responses WHERE refresh_at > $1",
      [clock.now()],
    );
    expect(loaded).toBe(Number(rows[0]!.count)); // every stored response not yet due
    expect(harness.context.ocsp.cache.size).toBe(loaded);
    expect(progress.at(-1)).toBe(loaded);
    const counts = await counting(harness.context, async () => {
      for (const serial of serials)
        for (const hash of ["sha1", "sha256"] as const)
          expect(singleStatus(await get(serial, {}, hash)).status).toBe("good");
    });
    expect(counts).toEqual({ queries: 0, signatures: 0 });
    expect(await harness.context.ocsp.preload()).toBe(0); // what memory holds is not loaded again
  });

  it("sends RFC 5019 §6.2 caching headers and answers conditional requests with 304", async () => {
    const serial = await issue();
    const thisUpdate = clock.now();
    const first = await get(serial);
    expect(first.headers).toMatchObject({
      "content-type": "application/ocsp-response",
      "cache-control": "max-age=43200, public, no-transform, must-revalidate", // until re-signing, half-way
      "last-modified": thisUpdate.toUTCString(),
      expires: new Date(thisUpdate.getTime() + DAY).toUTCString(),
    });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    clock.advance(HOUR);
    const later = await get(serial);
    expect(later.headers["cache-control"]).toBe("max-age=39600, public, no-transform, must-revalidate");
    expect(later.headers.etag).toBe(etag);
    expect(later.rawPayload.equals(first.rawPayload)).toBe(true);
    for (const headers of [
      { "if-none-match": etag },
      { "if-none-match": `"other", ${etag}` },
      { "if-modified-since": thisUpdate.toUTCString() },
    ] as Record<string, string>[]) {
      const conditional = await get(serial, headers);
      expect(conditional.statusCode, JSON.stringify(headers)).toBe(304);
      expect(conditional.rawPayload.length).toBe(0);
      expect(conditional.headers.etag).toBe(etag);
    }
    expect((await get(serial, { "if-none-match": '"other"' })).statusCode).toBe(200);
    expect(
      (await get(serial, { "if-modified-since": new Date(thisUpdate.getTime() - 1000).toUTCString() }))
        .statusCode,
    ).toBe(200);
    const posted = await harness.app.inject({
      method: "POST",
      url: "/ocsp/issuing-1",
      headers: { "content-type": "application/ocsp-request" },
      payload: ocspRequest(harness.context, serial),
    });
    expect(posted.headers["content-type"]).toBe("application/ocsp-response");
    expect(posted.headers.etag).toBeUndefined(); // POST answers are not for HTTP caches
  });

  it("re-signs at once on revoke, hold and release, before the call returns", async () => {
    const held = await issue();
    const etag = (await get(held)).headers.etag;
    clock.advance(1000);
    await act(held, "hold");
    expect((await stored(held)).map((row) => [row.status, row.revocation_reason])).toEqual([
      ["revoked", 6],
      ["revoked", 6],
    ]);
    const onHold = await get(held);
    expect(onHold.headers.etag).not.toBe(etag);
    expect(singleStatus(onHold)).toMatchObject({ status: "revoked", reason: 6 });
    clock.advance(1000);
    await act(held, "release");
    expect(singleStatus(await get(held)).status).toBe("good");
    clock.advance(1000);
    await act(held, "revoke", { reason: "unspecified" });
    const revoked = singleStatus(await get(held, {}, "sha256"));
    expect(revoked.status).toBe("revoked");
    expect(revoked.reason).toBeUndefined(); // unspecified is left out (RFC 5280 §5.3.1)
    expect(revoked.revocationTime).toMatch(/^\d{14}Z$/);
  });

  it("answers several CertIDs in one live response, in request order, each with its own digest", async () => {
    const good = await issue();
    const revoked = await issue();
    await act(revoked, "revoke", { reason: "affiliationChanged" });
    const hashes = issuerHashes(harness.context.issuers.get("issuing-1").row.certificate);
    const ids = [
      encodeCertId(hashes.sha256, good),
      encodeCertId(hashes.sha1, revoked),
      encodeCertId(hashes.sha1, "0123456789"),
    ];
    const request = sequence(sequence(sequence(...ids.map((id) => sequence(id)))));
    const response = await harness.app.inject({
      method: "POST",
      url: "/ocsp/issuing-1",
      headers: { "content-type": "application/ocsp-request" },
      payload: request,
    });
    expect(response.headers["cache-control"]).toBe("no-store");
    const parsed = parseOcspResponse(response.rawPayload);
    expect(
      parsed.basic!.responses.map((single) => [
        single.hashOid,
        single.serialHex,
        single.status,
        single.reason,
      ]),
    ).toEqual([
      [OID.sha256, good, "good", undefined],
      [OID.sha1, revoked, "revoked", 3],
      [OID.sha1, "0123456789", "unknown", undefined],
    ]);
  });

  it("signs a missing response on demand and in the periodic job", async () => {
    const serial = await issue();
    await harness.context.db.query("DELETE FROM ocsp_responses WHERE serial = $1", [serial]);
    harness.context.ocsp.cache.clear();
    expect(singleStatus(await get(serial)).status).toBe("good");
    expect(await stored(serial)).toHaveLength(2);
    await harness.context.db.query("DELETE FROM ocsp_responses WHERE serial = $1", [serial]);
    expect(await harness.context.ocsp.refreshDue()).toBeGreaterThanOrEqual(1);
    expect(await stored(serial)).toHaveLength(2);
  });

  it("re-signs half-way to nextUpdate, and renews the responder when a third of its validity is left", async () => {
    const serial = await issue();
    const before = singleStatus(await get(serial));
    clock.advance(12 * HOUR);
    const resigned = await harness.context.ocsp.refreshDue();
    expect(resigned).toBeGreaterThanOrEqual(1);
    const after = await stored(serial);
    expect(after.map((row) => row.this_update)).toEqual([clock.now(), clock.now()]);
    expect(singleStatus(await get(serial)).thisUpdate).not.toBe(before.thisUpdate);
    expect(await harness.context.ocsp.refreshDue()).toBe(0); // nothing else is due

    const signers = async () =>
      (
        await harness.context.db.query<{ serial: string; not_after: Date }>(
          "SELECT serial, not_after FROM ocsp_signers WHERE issuer_id = 'issuing-1' ORDER BY not_after",
        )
      ).rows;
    const [first] = await signers();
    clock.advance(21 * DAY); // the 30-day responder certificate has 9 days left
    await harness.context.ocsp.refreshDue();
    const renewed = await signers();
    expect(renewed).toHaveLength(2);
    expect(renewed[0]!.serial).toBe(first!.serial);
    const { rows } = await harness.context.db.query<{ target: string }>(
      "SELECT target FROM audit_log WHERE action = 'ocsp.signer-issue' ORDER BY seq",
    );
    expect(rows.map((row) => row.target)).toContain(`ocsp-signer:issuing-1/${renewed[1]!.serial}`);
    const answer = singleStatus(await get(serial));
    expect(answer.thisUpdate).toBe(`${clock.now().toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`);
    const signer = answer.parsed.basic!.certificates[0]!;
    expect(signer.toString("hex")).toContain(renewed[1]!.serial);
    expect(answer.responderKeyHash.equals(before.responderKeyHash)).toBe(false);
  });

  it("never serves the old status when re-signing fails at revocation: tryLater until the key store is back", async () => {
    const serial = await issue();
    expect(singleStatus(await get(serial)).status).toBe("good");
    const keyStore = harness.context.keyStore;
    const sign = keyStore.sign;
    keyStore.sign = async () => {
      throw new KeyStoreError("unavailable", "the token is gone");
    };
    try {
      await act(serial, "revoke", { reason: "keyCompromise" }); // committed: the revocation itself succeeds
      expect(await stored(serial)).toEqual([]);
      const answer = await get(serial);
      expect(answer.statusCode).toBe(200);
      expect(parseOcspResponse(answer.rawPayload).status).toBe(3); // tryLater
    } finally {
      keyStore.sign = sign;
    }
    expect(singleStatus(await get(serial))).toMatchObject({ status: "revoked", reason: 1 });
  });
});

describe("the OCSP memory is bounded (CA_OCSP_CACHE_ENTRIES)", () => {
  it("loads SHA-1 CertIDs' responses first at start, up to the configured number", async () => {
    const harness = await createHarness("pglite", { env: { CA_OCSP_CACHE_ENTRIES: "3" } });
    try {
      const inject = harness.app.inject.bind(harness.app);
      const serials = [await issueOn(inject, harness.adminToken), await issueOn(inject, harness.adminToken)];
      harness.context.ocsp.cache.clear();
      expect(await harness.context.ocsp.preload()).toBe(3);
      expect(harness.context.ocsp.cache.size).toBe(3);
      const counts = await counting(harness.context, async () => {
        for (const serial of serials) // RFC 5019 §2.1.1: what lightweight clients ask with
          expect(
            singleStatus(await ocspGet(inject, ocspRequest(harness.context, serial, "sha1"))).status,
          ).toBe("good");
      });
      expect(counts.queries).toBe(0);
    } finally {
      await harness.close();
    }
  });

  it("keeps at most the configured number of responses, the oldest not asked for again out first", async () => {
    const harness = await createHarness("pglite", { env: { CA_OCSP_CACHE_ENTRIES: "3" } });
    try {
      const inject = harness.app.inject.bind(harness.app);
      const serials: string[] = [];
      for (let i = 0; i < 4; i++) serials.push(await issueOn(inject, harness.adminToken));
      for (const serial of serials)
        for (const hash of ["sha1", "sha256"] as const)
          expect(singleStatus(await ocspGet(inject, ocspRequest(harness.context, serial, hash))).status).toBe(
            "good",
          );
      expect(harness.context.ocsp.cache.size).toBe(3);
      const counts = await counting(harness.context, async () => {
        await ocspGet(inject, ocspRequest(harness.context, serials[3]!, "sha256")); // most recent: in memory
      });
      expect(counts.queries).toBe(0);
      const miss = await counting(harness.context, async () => {
        await ocspGet(inject, ocspRequest(harness.context, serials[0]!, "sha1")); // evicted: from the database
      });
      expect(miss.queries).toBeGreaterThan(0);
      expect(miss.signatures).toBe(0);
    } finally {
      await harness.close();
    }
  });
});

describe("OCSP across two nodes on one PostgreSQL database", () => {
  let harness: Harness;
  let secondDb: Database;
  let nodeB: ServiceContext;
  let appB: Harness["app"];
  let injectA: Inject;
  let injectB: Inject;

  beforeAll(async () => {
    harness = await createHarness("postgres");
    secondDb = await openDatabase({ url: harness.database.url!, poolSize: 4 });
    nodeB = await openContext(harness.context.config, { db: secondDb, keyStore: harness.context.keyStore });
    appB = await buildApp(nodeB);
    injectA = harness.app.inject.bind(harness.app);
    injectB = appB.inject.bind(appB);
    expect(await harness.context.ocsp.invalidation.ensureListening()).toBe(true);
    expect(await nodeB.ocsp.invalidation.ensureListening()).toBe(true);
  });
  afterEach(() => {
    expect(nodeB.ocsp.cache.enabled).toBe(true);
  });
  afterAll(async () => {
    await appB?.close();
    await nodeB?.ocsp.stop();
    await nodeB?.auditSealer.close();
    await secondDb?.close();
    await harness?.close();
  });

  /** Asks until the response comes from `node`'s memory. */
  const warm = async (inject: Inject, node: ServiceContext, serial: string) => {
    for (const hash of ["sha1", "sha256"] as const) {
      const request = ocspRequest(node, serial, hash);
      expect(singleStatus(await ocspGet(inject, request)).status).toBe("good");
      const counts = await counting(node, async () => {
        expect(singleStatus(await ocspGet(inject, request)).status).toBe("good");
      });
      expect(counts.queries, `${serial} ${hash} from memory`).toBe(0);
    }
  };

  it("answers revoked on the other node as soon as the revocation has returned (each way, 10 times)", async () => {
    for (let round = 0; round < 10; round++) {
      const [actor, observer, observerNode] =
        round % 2 ? [injectB, injectA, harness.context] : [injectA, injectB, nodeB];
      const serial = await issueOn(actor, harness.adminToken, `node${round}`);
      await warm(observer, observerNode, serial);
      await actOn(actor, harness.adminToken, serial, "revoke", { reason: "keyCompromise" });
      // The observer evicted before the call returned: the revoking node waited for its acknowledgement.
      for (const hash of ["sha1", "sha256"] as const)
        expect(observerNode.ocsp.cache.get(cacheKey("issuing-1", hash, serial), Date.now())).toBeUndefined();
      for (const hash of ["sha1", "sha256"] as const)
        expect(
          singleStatus(await ocspGet(observer, ocspRequest(observerNode, serial, hash))),
          `round ${round} ${hash}`,
        ).toMatchObject({ status: "revoked", reason: 1 });
    }
  });

  it("holds and releases across nodes, and the other node follows each step", async () => {
    const serial = await issueOn(injectA, harness.adminToken, "hold");
    await warm(injectB, nodeB, serial);
    await actOn(injectA, harness.adminToken, serial, "hold");
    expect(singleStatus(await ocspGet(injectB, ocspRequest(nodeB, serial)))).toMatchObject({
      status: "revoked",
      reason: 6,
    });
    await warm(injectA, harness.context, serial).catch(() => undefined); // A holds "revoked" in memory now
    await actOn(injectB, harness.adminToken, serial, "release");
    expect(singleStatus(await ocspGet(injectA, ocspRequest(harness.context, serial))).status).toBe("good");
    expect(singleStatus(await ocspGet(injectB, ocspRequest(nodeB, serial))).status).toBe("good");
  });

  it("serves from the database while a node cannot hear invalidations, and from memory again once it can", async () => {
    const serial = await issueOn(injectA, harness.adminToken, "fenced");
    await warm(injectB, nodeB, serial);
    await harness.context.db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [`${OCSP_INVALIDATION.applicationPrefix}${nodeB.ocsp.invalidation.nodeId}`],
    );
    for (let i = 0; i < 100 && nodeB.ocsp.cache.enabled; i++) await new Promise((r) => setTimeout(r, 20));
    expect(nodeB.ocsp.cache.enabled).toBe(false); // it noticed, and stopped trusting its memory
    await actOn(injectA, harness.adminToken, serial, "revoke", { reason: "superseded" });
    expect(singleStatus(await ocspGet(injectB, ocspRequest(nodeB, serial)))).toMatchObject({
      status: "revoked",
      reason: 4,
    });
    for (let i = 0; i < 200 && !nodeB.ocsp.cache.enabled; i++) await new Promise((r) => setTimeout(r, 20));
    expect(nodeB.ocsp.cache.enabled).toBe(true); // reconnected
    expect(singleStatus(await ocspGet(injectB, ocspRequest(nodeB, serial))).status).toBe("revoked");
  });
});
