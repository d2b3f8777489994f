/**
 * Expiry notices to a webhook, against a real HTTP receiver on 127.0.0.1, on both engines:
 * exactly the good certificates entering the window, each once; a failed delivery records
 * nothing and is sent again; the injected clock brings new certificates into the window.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { findBySerial } from "../../db/stores/certificates.js";
import { cliActor, systemActor } from "../../src/auth/principal.js";
import { expiryNotify } from "../../src/cli/expiry.js";
import { FixedClock } from "../../src/clock.js";
import type { ServiceContext } from "../../src/context.js";
import {
  type ExpiryNoticeItem,
  type ExpiryNoticePayload,
  ExpiryNotices,
} from "../../src/operations/expiry-notices.js";
import { buildCsrPem, sharedTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

interface Received {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: ExpiryNoticePayload;
}

/** A webhook receiver: records each request, answers with `answer` (status, or a handler). */
class Receiver {
  readonly received: Received[] = [];
  answer: number | ((request: IncomingMessage, response: ServerResponse) => void) = 204;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      let text = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => {
        text += chunk;
      });
      request.on("end", () => {
        this.received.push({
          method: request.method!,
          url: request.url!,
          contentType: request.headers["content-type"],
          body: JSON.parse(text) as ExpiryNoticePayload,
        });
        if (typeof this.answer === "function") this.answer(request, response);
        else response.writeHead(this.answer).end();
      });
    });
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Serials received, in order. */
  serials(): string[] {
    return this.received.flatMap((request) => request.body.certificates.map((item) => item.serial));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const at = (iso: string) => new Date(iso);
const NOW = at("2026-06-10T10:00:00Z");
const TOKEN = "s3cr3t-hook-token";

describe.each(ENGINES)("expiry notices on %s", (engine) => {
  const receiver = new Receiver();
  const clock = new FixedClock(at("2025-01-01T00:00:00Z"));
  const moveTo = (iso: string) => clock.advance(at(iso).getTime() - clock.now().getTime());
  let harness: Harness;
  let base = "";
  const issued = new Map<string, ExpiryNoticeItem>();

  const issue = async (name: string, profile: "tls-client" | "user-signing", orgUnit: string) => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
      payload: {
        csr: buildCsrPem({ key: sharedTestKey("p256") }),
        profile,
        subject: { orgUnit, commonName: name },
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    const body = response.json();
    const [row] = await findBySerial(harness.context.db, body.serial);
    issued.set(name, {
      serial: body.serial,
      issuer: "issuing-1",
      subject: body.subject,
      orgUnit,
      ownerId: row!.owner_id,
      profile,
      notAfter: body.notAfter,
    });
    return body.serial as string;
  };
  const change = async (name: string, operation: "revoke" | "hold") => {
    const response = await harness.app.inject({
      method: "POST",
      url: `/api/v1/certificates/${issued.get(name)!.serial}/${operation}`,
      headers: bearer(harness.adminToken),
      payload: operation === "revoke" ? { reason: "superseded" } : {},
    });
    expect(response.statusCode, response.body).toBe(200);
  };
  const recorded = async () =>
    (
      await harness.context.db.query<{ serial: string; window_days: number }>(
        "SELECT serial, window_days FROM expiry_notices ORDER BY not_after, serial",
      )
    ).rows;
  const auditRecords = async () =>
    (
      await harness.context.db.query<{ actor: string; target: string; details: Record<string, unknown> }>(
        "SELECT actor, target, details FROM audit_log WHERE action = 'certificate.expiry-notice' ORDER BY id",
      )
    ).rows;

  beforeAll(async () => {
    base = await receiver.start();
    harness = await createHarness(engine, {
      clock,
      env: { CA_EXPIRY_WEBHOOK_URL: `${base}/hooks/expiry?token=${TOKEN}`, CA_EXPIRY_NOTICE_DAYS: "30" },
    });
    await harness.orgUnit("gov/east", "region");
    await harness.orgUnit("gov/west", "region");
    // tls-client lives 397 days: issued 2025-01-01 it has expired at NOW (2026-06-10T10:00Z);
    // issued 2025-05-20 it expires 2026-06-21, 2025-06-01 → 2026-07-03 (both within 30 days),
    // 2025-08-01 → 2026-09-02 (beyond, until the clock moves).
    await issue("expired", "tls-client", "gov/east");
    moveTo("2025-05-20T00:00:00Z");
    await issue("soon-1", "tls-client", "gov/east");
    await issue("revoked", "tls-client", "gov/east");
    await issue("held", "tls-client", "gov/west");
    await issue("long", "user-signing", "gov/west"); // 2027-05-20
    moveTo("2025-06-01T00:00:00Z");
    await issue("soon-2", "tls-client", "gov/west");
    moveTo("2025-08-01T00:00:00Z");
    await issue("later", "tls-client", "gov");
    moveTo("2026-06-01T00:00:00Z");
    await change("revoked", "revoke");
    await change("held", "hold");
    moveTo(NOW.toISOString());
  });
  afterAll(async () => {
    await harness?.close();
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.answer = 204;
  });

  it("POSTs exactly the good certificates entering the window, as JSON, once across two runs", async () => {
    const first = await harness.context.expiryNotices.notify(systemActor);
    expect(first).toEqual({ sent: [issued.get("soon-1"), issued.get("soon-2")] });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request).toMatchObject({
      method: "POST",
      url: `/hooks/expiry?token=${TOKEN}`,
      contentType: "application/json",
    });
    expect(request!.body).toEqual({
      windowDays: 30,
      generatedAt: NOW.toISOString(),
      certificates: [issued.get("soon-1"), issued.get("soon-2")], // soonest first
    });
    expect(request!.body.certificates[0]).toMatchObject({
      issuer: "issuing-1",
      orgUnit: "gov/east",
      profile: "tls-client",
      notAfter: expect.stringMatching(/^2026-06-20T23:58:59/),
      subject: expect.stringContaining("CN=soon-1"),
    });
    expect(await recorded()).toEqual([
      { serial: issued.get("soon-1")!.serial, window_days: 30 },
      { serial: issued.get("soon-2")!.serial, window_days: 30 },
    ]);

    const second = await harness.context.expiryNotices.notify(systemActor);
    expect(second).toEqual({ sent: [] });
    expect(receiver.received).toHaveLength(1); // nothing new: not even an empty POST
  });

  it("writes one audit record per delivered batch, naming the receiver's origin but not its path or token", async () => {
    const records = await auditRecords();
    expect(records).toEqual([
      {
        actor: "system",
        target: `webhook:${base}`,
        details: {
          windowDays: 30,
          status: 204,
          count: 2,
          certificates: [
            `issuing-1/${issued.get("soon-1")!.serial}`,
            `issuing-1/${issued.get("soon-2")!.serial}`,
          ],
        },
      },
    ]);
    expect(JSON.stringify(records)).not.toContain(TOKEN);
  });

  it("records nothing when the receiver answers 500, and sends again at the next run", async () => {
    moveTo("2026-08-10T10:00:00Z"); // the window now reaches 2026-09-09: "later" enters
    receiver.answer = 500;
    const failed = await harness.context.expiryNotices.notify(systemActor);
    expect(failed).toEqual({ sent: [], failure: { ok: false, status: 500, reason: "answered HTTP 500" } });
    expect(receiver.serials()).toEqual([issued.get("later")!.serial]);
    expect(await recorded()).toHaveLength(2);
    expect(await auditRecords()).toHaveLength(1);

    receiver.answer = 200;
    const retried = await harness.context.expiryNotices.notify(systemActor);
    expect(retried).toEqual({ sent: [issued.get("later")] });
    expect(receiver.serials()).toEqual([issued.get("later")!.serial, issued.get("later")!.serial]);
    expect(await recorded()).toHaveLength(3);
    expect(await auditRecords()).toHaveLength(2);
  });

  it("follows no redirect: a 3xx is a failed delivery", async () => {
    moveTo("2027-04-25T10:00:00Z"); // "long" (2027-05-20) enters
    receiver.answer = (_request, response) => response.writeHead(302, { location: "/elsewhere" }).end();
    const round = await harness.context.expiryNotices.notify(systemActor);
    expect(round.failure).toEqual({
      ok: false,
      status: 302,
      reason: "answered HTTP 302 (redirects are not followed)",
    });
    expect(receiver.received.map((request) => request.url)).toEqual([`/hooks/expiry?token=${TOKEN}`]);
    expect(await recorded()).toHaveLength(3);
  });

  it("gives up on a receiver that does not answer in time, and sends again later", async () => {
    const notices = new ExpiryNotices(harness.context.db, clock, {
      windowDays: 30,
      webhookUrl: `${base}/slow`,
      timeoutMs: 200,
    });
    receiver.answer = () => undefined; // never answers
    const round = await notices.notify(systemActor);
    expect(round).toEqual({ sent: [], failure: { ok: false, reason: "did not answer within 0.2 s" } });
    expect(await recorded()).toHaveLength(3);
    receiver.answer = 202;
    expect((await notices.notify(systemActor)).sent).toEqual([issued.get("long")]);
  });

  it("sends in batches of at most batchSize, soonest first, each batch recorded once", async () => {
    moveTo("2027-06-01T00:00:00Z");
    for (let i = 0; i < 5; i++) await issue(`bulk-${i}`, "tls-client", "gov/east"); // 2028-07-02
    const notices = new ExpiryNotices(harness.context.db, clock, {
      windowDays: 400,
      webhookUrl: `${base}/bulk`,
      batchSize: 2,
    });
    const batches: number[] = [];
    const round = await notices.notify(cliActor("test"), (batch) => batches.push(batch.length));
    expect(batches).toEqual([2, 2, 1]);
    expect(receiver.received.map((request) => request.body.certificates.length)).toEqual([2, 2, 1]);
    expect(receiver.received.every((request) => request.body.windowDays === 400)).toBe(true);
    const expected = [0, 1, 2, 3, 4].map((i) => issued.get(`bulk-${i}`)!.serial);
    expect(receiver.serials().sort()).toEqual([...expected].sort());
    expect(round.sent.map((item) => item.serial)).toEqual(receiver.serials());
    expect((await notices.notify(systemActor)).sent).toEqual([]);
    expect((await auditRecords()).slice(-3).map((record) => record.details.count)).toEqual([2, 2, 1]);
  });

  it("lets one round at a time send: two nodes running at once send each certificate once", async () => {
    moveTo("2027-07-01T00:00:00Z");
    for (let i = 0; i < 3; i++) await issue(`race-${i}`, "tls-client", "gov/west"); // 2028-08-01
    receiver.answer = (_request, response) => setTimeout(() => response.writeHead(200).end(), 200);
    const node = () =>
      new ExpiryNotices(harness.context.db, clock, {
        windowDays: 400,
        webhookUrl: `${base}/race`,
        batchSize: 1,
      });
    const rounds = await Promise.all([node().notify(systemActor), node().notify(systemActor)]);
    const sent = rounds.flatMap((round) => round.sent.map((item) => item.serial));
    expect(sent.sort()).toEqual([0, 1, 2].map((i) => issued.get(`race-${i}`)!.serial).sort());
    expect(receiver.serials().sort()).toEqual(sent);
  });

  it("does nothing without a webhook URL", async () => {
    const notices = new ExpiryNotices(harness.context.db, clock, { windowDays: 30, webhookUrl: undefined });
    expect(await notices.notify(systemActor)).toEqual({ sent: [], skipped: "no-webhook" });
    notices.start(); // no timer either
    await notices.stop();
    expect(receiver.received).toEqual([]);
  });

  it("runs as a periodic job: warns with the status on failure, never throws, delivers at a later run", async () => {
    moveTo("2027-08-01T00:00:00Z");
    const fresh = await issue("job", "tls-client", "gov"); // 2028-09-01
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    const notices = new ExpiryNotices(harness.context.db, clock, {
      windowDays: 400,
      webhookUrl: `${base}/job?token=${TOKEN}`,
      firstRunDelayMs: 10,
      intervalMs: 100,
    });
    try {
      receiver.answer = 503;
      notices.start();
      await expect.poll(() => warnings.length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(warnings[0]).toBe(
        `expiry notices: the webhook ${base} answered HTTP 503; the certificates not delivered are sent again at the next run`,
      );
      receiver.answer = 200;
      await expect
        .poll(async () => (await recorded()).some((row) => row.serial === fresh), { timeout: 10_000 })
        .toBe(true);
    } finally {
      await notices.stop();
      process.off("warning", onWarning);
    }
    expect(warnings.join("\n")).not.toContain(TOKEN);
    const deliveries = receiver.received.filter((request) => request.url.startsWith("/job")).length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received.filter((request) => request.url.startsWith("/job")).length).toBe(deliveries); // stopped
  });

  it("ca expiry notify: prints each certificate sent and a summary; exit 1 when the delivery fails or no URL is set", async () => {
    moveTo("2027-09-01T00:00:00Z");
    const serial = await issue("cli", "tls-client", "gov/east"); // 2028-10-02
    const lines: string[] = [];
    const errors: string[] = [];
    const output = {
      out: (line: string) => lines.push(line),
      err: (line: string) => errors.push(line),
      progress: () => {},
    };
    const wide: ServiceContext = {
      ...harness.context,
      config: { ...harness.context.config, expiryNotice: { noticeDays: 400, webhookUrl: `${base}/cli` } },
      expiryNotices: new ExpiryNotices(harness.context.db, clock, {
        windowDays: 400,
        webhookUrl: `${base}/cli`,
      }),
    };
    receiver.answer = 500;
    expect(await expiryNotify(wide, cliActor("operator"), output)).toBe(1);
    expect(errors).toEqual([
      `error: the webhook ${base} answered HTTP 500; the rest is sent at the next run`,
    ]);
    receiver.answer = 200;
    lines.length = 0;
    expect(await expiryNotify(wide, cliActor("operator"), output)).toBe(0);
    const item = issued.get("cli")!;
    expect(lines).toEqual([
      `issuing-1/${serial}\t${item.notAfter}\tgov/east\t${item.subject}`,
      `expiry notices: 1 certificate(s) expiring within 400 days sent to ${base}`,
    ]);
    const audit = await auditRecords();
    expect(audit.at(-1)).toMatchObject({ actor: "cli:operator", details: { count: 1 } });

    const unset: ServiceContext = {
      ...harness.context,
      config: { ...harness.context.config, expiryNotice: { noticeDays: 30, webhookUrl: undefined } },
    };
    errors.length = 0;
    expect(await expiryNotify(unset, cliActor("operator"), output)).toBe(1);
    expect(errors).toEqual([
      "error: CA_EXPIRY_WEBHOOK_URL is not set: there is nowhere to send expiry notices",
    ]);
  });
});
