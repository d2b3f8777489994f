/**
 * The enrolment workflow over HTTP, on both databases: auto profiles issue at once; profiles
 * that wait for an RA operator stay pending until an RA operator of the requester's subtree
 * (not the requester) approves or rejects; withdrawal; expiry; scope (404 outside it); the
 * subscriber's direct issuance refused; every transition audited with the requester notified.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listRecords } from "../../db/stores/audit.js";
import { cliActor } from "../../src/auth/principal.js";
import { FixedClock } from "../../src/clock.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

interface Person {
  id: string;
  token: string;
}

describe.each(ENGINES)("enrolment workflow (%s)", (engine) => {
  let harness: Harness;
  const clock = new FixedClock(new Date("2026-03-02T08:00:00Z"));
  let servant: Person; // a civil servant (directory user, subscriber) in gov/gz/tianhe
  let operator: Person; // RA operator of gov/gz
  let otherOperator: Person; // RA operator of gov/sz
  let auditor: Person;

  /** A directory user with an API key of its own (a service account cannot carry the directory's employee number). */
  async function directoryUser(
    name: string,
    roles: ("subscriber" | "ra-operator")[],
    orgUnit: string,
  ): Promise<Person> {
    const user = await harness.context.directory.create(cliActor("test"), {
      name,
      employeeNumber: `E-${name.replace(/\W/g, "")}`,
      orgUnit,
      roles,
      email: `${name.toLowerCase().replace(/\W/g, ".")}@gov.test`,
    });
    const key = await harness.context.accounts.createApiKey(cliActor("test"), user.id, null);
    return { id: user.id, token: key.token };
  }

  const post = (token: string, url: string, payload?: object) =>
    harness.app.inject({ method: "POST", url, headers: bearer(token), ...(payload ? { payload } : {}) });
  const get = (token: string, url: string) =>
    harness.app.inject({ method: "GET", url, headers: bearer(token) });
  const submit = (token: string, body: object) => post(token, "/api/v1/enrollments", body);
  const csr = () => buildCsrPem({ key: generateTestKey("p256") });
  // Records are chained by the sealer just after commit: seal before reading them in order.
  const sealed = async () => harness.context.auditSealer.seal();
  const records = async (id: string) => {
    await sealed();
    return listRecords(harness.context.db, { target: `enrollment:${id}`, limit: 100 });
  };
  const audit = async (id: string) =>
    (await records(id)).map((r) => ({
      action: r.action,
      actor: r.actor,
      outcome: r.outcome,
    }));
  const rowCount = async () =>
    Number(
      (await harness.context.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM enrollments")).rows[0]!
        .n,
    );

  beforeAll(async () => {
    harness = await createHarness(engine, { clock });
    await harness.orgUnit("gov/gz/tianhe");
    await harness.orgUnit("gov/sz");
    servant = await directoryUser("Zhang San", ["subscriber"], "gov/gz/tianhe");
    operator = await directoryUser("Li Si", ["ra-operator"], "gov/gz");
    otherOperator = await directoryUser("Wang Wu", ["ra-operator"], "gov/sz");
    auditor = await harness.account("auditor");
  });
  afterAll(async () => harness?.close());

  it("issues an auto profile at once, with the enrolment recorded as issued", async () => {
    const service = await harness.account("subscriber", "gov", ["erp.gov.test"]);
    const response = await submit(service.token, {
      profile: "tls-client",
      method: "csr",
      csr: csr(),
      subjectAltNames: [{ type: "dns", value: "erp.gov.test" }],
    });
    expect(response.statusCode, response.body).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ status: "issued", profile: "tls-client", method: "csr", decidedBy: null });
    expect(response.headers.location).toBe(`/api/v1/enrollments/${body.id}`);
    expect(body.certificate).toEqual({
      issuer: "issuing-1",
      serial: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(await audit(body.id)).toEqual([
      { action: "enrollment.submit", actor: `service-account:${service.id}`, outcome: "success" },
      { action: "enrollment.issue", actor: `service-account:${service.id}`, outcome: "success" },
    ]);
  });

  it("refuses a subscriber's direct issuance of a profile that needs an RA operator (403 naming /api/v1/enrollments)", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: bearer(servant.token),
      payload: { csr: csr(), profile: "user-signing" },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({
      code: "forbidden",
      detail:
        'profile "user-signing" needs an RA operator\'s approval: submit an enrolment request with POST /api/v1/enrollments',
    });
    // An RA operator, who approves, still issues directly in its subtree.
    const direct = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(operator.token), accept: "application/json" },
      payload: {
        csr: csr(),
        profile: "user-signing",
        subject: { orgUnit: "gov/gz/tianhe", commonName: "Zhao Liu" },
      },
    });
    expect(direct.statusCode, direct.body).toBe(201);
  });

  it("keeps user-signing pending until an RA operator of the subtree approves; the certificate names the requester", async () => {
    const submitted = await submit(servant.token, {
      profile: "user-signing",
      method: "browser",
      csr: csr(),
      subjectAltNames: [{ type: "email", value: "zhang.san@gov.test" }],
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const pending = submitted.json();
    expect(pending).toMatchObject({
      status: "pending",
      method: "browser",
      certificate: null,
      requester: {
        id: servant.id,
        name: "Zhang San",
        employeeNumber: "E-ZhangSan",
        orgUnit: "gov/gz/tianhe",
      },
      expiresAt: new Date(clock.now().getTime() + 14 * 86_400_000).toISOString(),
    });

    // The RA queue of the operator of gov/gz shows it with the requester's directory data.
    const queue = (await get(operator.token, "/api/v1/enrollments?status=pending")).json();
    expect(queue.items.map((item: { id: string }) => item.id)).toContain(pending.id);
    expect(queue.items.find((item: { id: string }) => item.id === pending.id).requester).toEqual({
      id: servant.id,
      name: "Zhang San",
      employeeNumber: "E-ZhangSan",
      orgUnit: "gov/gz/tianhe",
      email: "zhang.san@gov.test",
    });

    // Another unit's RA operator neither sees nor decides it: 404, existence does not leak.
    expect((await get(otherOperator.token, "/api/v1/enrollments")).json().items).toEqual([]);
    const hidden = await get(otherOperator.token, `/api/v1/enrollments/${pending.id}`);
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json().code).toBe("not-found");
    expect((await post(otherOperator.token, `/api/v1/enrollments/${pending.id}/approve`)).statusCode).toBe(
      404,
    );

    const approved = await post(operator.token, `/api/v1/enrollments/${pending.id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    const done = approved.json();
    expect(done).toMatchObject({ status: "issued", decidedBy: `user:${operator.id}`, issueError: null });

    const certificate = await harness.app.inject({
      method: "GET",
      url: `/api/v1/certificates/${done.certificate.serial}`,
      headers: { ...bearer(servant.token), accept: "application/pkix-cert" },
    });
    expect(certificate.statusCode).toBe(200);
    const x509 = new X509Certificate(certificate.rawPayload);
    expect(x509.subject).toContain("CN=Zhang San");
    expect(x509.subject).toContain("OU=Unit gov/gz/tianhe");
    expect(x509.subjectAltName).toBe("email:zhang.san@gov.test");
    const owner = await harness.context.db.query<{ owner_id: string }>(
      "SELECT owner_id FROM certificates WHERE serial = $1",
      [done.certificate.serial],
    );
    expect(owner.rows[0]!.owner_id).toBe(servant.id);

    expect(await audit(pending.id)).toEqual([
      { action: "enrollment.submit", actor: `user:${servant.id}`, outcome: "success" },
      { action: "enrollment.approve", actor: `user:${operator.id}`, outcome: "success" },
      { action: "enrollment.issue", actor: `user:${operator.id}`, outcome: "success" },
    ]);
    await sealed();
    const issueRecord = await listRecords(harness.context.db, {
      target: `certificate:issuing-1/${done.certificate.serial}`,
      limit: 5,
    });
    expect(issueRecord[0]).toMatchObject({
      actor: `user:${operator.id}`,
      details: { enrollment: pending.id },
    });

    const inbox = (await get(servant.token, "/api/v1/me/notifications")).json();
    expect(
      inbox.items
        .filter((n: { enrollment: string }) => n.enrollment === pending.id)
        .map((n: { kind: string }) => n.kind)
        .sort(),
    ).toEqual(["enrollment.approved", "enrollment.issued"]);

    // Decided once: approving again (nothing to retry) or rejecting is a 409.
    const again = await post(operator.token, `/api/v1/enrollments/${pending.id}/approve`);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: "enrollment-decided",
      detail: `enrolment request "${pending.id}" is issued, not pending or approved`,
    });
  });

  it("lets nobody decide their own request (four eyes), and lets an auditor read but not decide", async () => {
    const own = await directoryUser("Sun Qi", ["ra-operator", "subscriber"], "gov/gz");
    // An RA operator's own request is issued at once (it is an approver); a subscriber's waits.
    const mine = await submit(own.token, { profile: "user-signing", method: "csr", csr: csr() });
    expect(mine.json().status).toBe("issued");
    const pending = (
      await submit(servant.token, { profile: "user-encryption", method: "csr", csr: csr() })
    ).json();
    expect(pending.status).toBe("pending");
    const self = await post(servant.token, `/api/v1/enrollments/${pending.id}/approve`);
    expect(self.statusCode).toBe(403); // a subscriber has no enrollment:decide
    await expect(
      harness.context.enrollments.approve(
        {
          audit: { actor: `user:${servant.id}` },
          principal: {
            id: servant.id,
            kind: "user",
            name: "Zhang San",
            roles: ["ra-operator", "subscriber"],
            orgUnit: "gov/gz/tianhe",
            dnsNames: [],
          },
        },
        pending.id,
      ),
    ).rejects.toThrow(/four eyes/);
    expect((await get(auditor.token, `/api/v1/enrollments/${pending.id}`)).statusCode).toBe(200);
    expect((await post(auditor.token, `/api/v1/enrollments/${pending.id}/approve`)).statusCode).toBe(403);
    const shown = (await get(operator.token, `/api/v1/enrollments/${pending.id}`)).json();
    expect(shown.csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
  });

  it("rejects with a reason (required), notifying the requester", async () => {
    const pending = (
      await submit(servant.token, { profile: "user-signing", method: "csr", csr: csr() })
    ).json();
    const noReason = await post(operator.token, `/api/v1/enrollments/${pending.id}/reject`, {});
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().code).toBe("validation-failed");
    const blank = await post(operator.token, `/api/v1/enrollments/${pending.id}/reject`, { reason: "   " });
    expect(blank.json()).toMatchObject({ code: "reason-required" });
    const rejected = await post(operator.token, `/api/v1/enrollments/${pending.id}/reject`, {
      reason: "not employed in this unit",
    });
    expect(rejected.statusCode).toBe(200);
    expect(rejected.json()).toMatchObject({ status: "rejected", reason: "not employed in this unit" });
    expect((await post(operator.token, `/api/v1/enrollments/${pending.id}/approve`)).statusCode).toBe(409);
    const inbox = (await get(servant.token, "/api/v1/me/notifications")).json();
    const note = inbox.items.find((n: { enrollment: string }) => n.enrollment === pending.id);
    expect(note).toMatchObject({ kind: "enrollment.rejected", readAt: null });
    expect(note.message).toContain("not employed in this unit");
    const read = await post(servant.token, `/api/v1/me/notifications/${note.id}/read`);
    expect(read.json().readAt).toBe(clock.now().toISOString());
    expect((await post(operator.token, `/api/v1/me/notifications/${note.id}/read`)).statusCode).toBe(404);
    expect(await audit(pending.id)).toEqual([
      { action: "enrollment.submit", actor: `user:${servant.id}`, outcome: "success" },
      { action: "enrollment.reject", actor: `user:${operator.id}`, outcome: "success" },
    ]);
  });

  it("lets the requester, and only it, withdraw a pending request", async () => {
    const pending = (
      await submit(servant.token, { profile: "user-signing", method: "csr", csr: csr() })
    ).json();
    expect((await post(operator.token, `/api/v1/enrollments/${pending.id}/withdraw`)).statusCode).toBe(403);
    const withdrawn = await post(servant.token, `/api/v1/enrollments/${pending.id}/withdraw`);
    expect(withdrawn.json()).toMatchObject({ status: "withdrawn" });
    expect((await post(servant.token, `/api/v1/enrollments/${pending.id}/withdraw`)).statusCode).toBe(409);
    expect((await post(operator.token, `/api/v1/enrollments/${pending.id}/approve`)).statusCode).toBe(409);
    expect((await audit(pending.id)).map((r) => r.action)).toEqual([
      "enrollment.submit",
      "enrollment.withdraw",
    ]);
  });

  it("expires pending requests after CA_ENROLLMENT_PENDING_DAYS, by the periodic job, notifying the requester", async () => {
    const pending = (
      await submit(servant.token, { profile: "user-signing", method: "csr", csr: csr() })
    ).json();
    clock.advance(14 * 86_400_000 - 1000);
    await harness.context.enrollmentExpiry.expireDue();
    expect((await get(servant.token, `/api/v1/enrollments/${pending.id}`)).json().status).toBe("pending");
    clock.advance(1000);
    // Past its time and before the job ran, it can no longer be approved.
    const late = await post(operator.token, `/api/v1/enrollments/${pending.id}/approve`);
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe("enrollment-expired");
    expect(await harness.context.enrollmentExpiry.expireDue()).toBeGreaterThanOrEqual(1);
    expect((await get(servant.token, `/api/v1/enrollments/${pending.id}`)).json().status).toBe("expired");
    expect(await audit(pending.id)).toEqual([
      { action: "enrollment.submit", actor: `user:${servant.id}`, outcome: "success" },
      { action: "enrollment.expire", actor: "system", outcome: "success" },
    ]);
    // Unread first, newest first: the expiry notices lead the inbox; one page at a time.
    const first = (await get(servant.token, "/api/v1/me/notifications?limit=1")).json();
    expect(first.items[0]).toMatchObject({ kind: "enrollment.expired", readAt: null });
    const rest = (
      await get(servant.token, `/api/v1/me/notifications?limit=50&cursor=${first.nextCursor}`)
    ).json();
    const all = [...first.items, ...rest.items];
    expect(new Set(all.map((n: { id: string }) => n.id)).size).toBe(all.length);
    expect(all.find((n: { enrollment: string }) => n.enrollment === pending.id)).toMatchObject({
      kind: "enrollment.expired",
    });
    const readAt = all.map((n: { readAt: string | null }) => n.readAt !== null);
    expect(readAt).toEqual([...readAt].sort((a, b) => Number(a) - Number(b))); // unread before read
  });

  it("keeps an approved request whose issuance failed approved, with the error, and retries on approval", async () => {
    const pending = (
      await submit(servant.token, { profile: "user-signing", method: "csr", csr: csr() })
    ).json();
    await harness.context.directory.disable(cliActor("test"), servant.id);
    try {
      const failed = await harness.context.enrollments.approve(cliActor("test"), pending.id).catch((e) => e);
      expect(failed).toMatchObject({
        status: 409,
        code: "requester-disabled",
        extensions: { enrollmentStatus: "approved" },
      });
      const row = await harness.context.enrollments.get(cliActor("test"), pending.id);
      expect(row).toMatchObject({ status: "approved", certificate: null });
      expect(row.issueError).toContain("requester-disabled");
    } finally {
      await harness.context.directory.enable(cliActor("test"), servant.id);
    }
    const retried = await post(operator.token, `/api/v1/enrollments/${pending.id}/approve`);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ status: "issued", issueError: null });
    expect(await audit(pending.id)).toEqual([
      { action: "enrollment.submit", actor: `user:${servant.id}`, outcome: "success" },
      { action: "enrollment.approve", actor: "cli:test", outcome: "success" },
      { action: "enrollment.issue", actor: "cli:test", outcome: "failure" },
      { action: "enrollment.issue", actor: `user:${operator.id}`, outcome: "success" },
    ]);
  });

  it("pages the list by cursor and filters by requester and profile", async () => {
    const first = (await get(operator.token, `/api/v1/enrollments?requester=${servant.id}&limit=2`)).json();
    expect(first.items).toHaveLength(2);
    const second = (
      await get(
        operator.token,
        `/api/v1/enrollments?requester=${servant.id}&limit=2&cursor=${first.nextCursor}`,
      )
    ).json();
    expect(second.items.map((i: { id: string }) => i.id)).not.toContain(first.items[0].id);
    const mine = (await get(servant.token, "/api/v1/enrollments?profile=user-encryption")).json();
    expect(
      mine.items.every(
        (i: { profile: string; requester: { id: string } }) =>
          i.profile === "user-encryption" && i.requester.id === servant.id,
      ),
    ).toBe(true);
    expect((await get(servant.token, "/api/v1/enrollments?cursor=bm9wZQ")).json().code).toBe(
      "cursor-invalid",
    );
  });

  it("refuses bad input at submission with a precise 4xx and writes nothing", async () => {
    const before = await rowCount();
    const cases: [object, number, string][] = [
      [{ profile: "nope", method: "csr", csr: csr() }, 400, "profile-unknown"],
      [
        {
          profile: "user-signing",
          method: "csr",
          csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
        },
        400,
        "csr-malformed",
      ],
      [{ profile: "user-signing", method: "csr", csr: "!!" }, 400, "csr-malformed"],
      [{ profile: "user-signing", method: "csr" }, 400, "csr-required"],
      [
        { profile: "user-encryption", method: "csr", csr: buildCsrPem({ key: generateTestKey("ed25519") }) },
        400,
        "csr-key-not-allowed",
      ],
      [
        { profile: "user-signing", method: "csr", csr: buildCsrPem({ corruptSignature: true }) },
        400,
        "csr-signature-invalid",
      ],
      [
        {
          profile: "user-signing",
          method: "csr",
          csr: csr(),
          subjectAltNames: [{ type: "dns", value: "x.gov.test" }],
        },
        400,
        "san-not-allowed",
      ],
      [{ profile: "ocsp-signer", method: "csr", csr: csr() }, 403, "forbidden"],
      [{ profile: "user-signing", method: "csr", csr: csr(), issuer: "root-1" }, 400, "issuer-not-issuing"],
      [{ profile: "user-signing", method: "server-keygen" }, 400, "key-generation-required"],
      [{ profile: "user-signing", method: "server-keygen", csr: csr() }, 400, "enrollment-invalid"],
      [
        {
          profile: "user-signing",
          method: "csr",
          csr: csr(),
          serverKeyGeneration: { algorithm: "ec:P-256", passphrase: "long enough" },
        },
        400,
        "enrollment-invalid",
      ],
      [
        {
          profile: "user-signing",
          method: "server-keygen",
          serverKeyGeneration: { algorithm: "ec:P-256", passphrase: "short" },
        },
        400,
        "passphrase-too-short",
      ],
      [
        {
          profile: "user-encryption",
          method: "server-keygen",
          serverKeyGeneration: { algorithm: "rsa:1024", passphrase: "long enough" },
        },
        400,
        "validation-failed",
      ],
      [
        {
          profile: "tls-server",
          method: "server-keygen",
          serverKeyGeneration: { algorithm: "ec:P-256", passphrase: "long enough" },
        },
        400,
        "san-required",
      ],
      [{ profile: "user-signing", method: "csr", csr: csr(), extra: 1 }, 400, "validation-failed"],
    ];
    for (const [body, status, code] of cases) {
      const response = await submit(servant.token, body);
      expect(response.statusCode, `${JSON.stringify(body).slice(0, 120)}: ${response.body}`).toBe(status);
      expect(response.json().code, JSON.stringify(body).slice(0, 120)).toBe(code);
      expect(response.headers["content-type"]).toContain("application/problem+json");
    }
    expect(await rowCount()).toBe(before);
    const unknown = await get(operator.token, "/api/v1/enrollments/00000000-0000-4000-8000-000000000000");
    expect(unknown.statusCode).toBe(404);
    expect((await get(operator.token, "/api/v1/enrollments/not-a-uuid")).statusCode).toBe(400);
  });
});
