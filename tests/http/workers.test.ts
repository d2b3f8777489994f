/**
 * `ca serve` with CA_WORKERS=2 on PostgreSQL, as an operator runs it: one port, two worker
 * processes, each a node with its own OCSP memory, and a revocation that both answer at once.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { createPostgresDatabase } from "../helpers/databases.js";
import { buildOcspRequest, parseOcspResponse } from "../helpers/ocsp.js";
import { freePort } from "../helpers/ports.js";

const BIN = join(import.meta.dirname, "../../bin/ca.mjs");

/** A GET on a connection of its own, so that the cluster hands each to the next worker. */
function getOnNewConnection(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

describe("ca serve with CA_WORKERS=2 on PostgreSQL", () => {
  let directory: string;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let child: ChildProcess;
  let output = "";
  let base: string;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "ca-workers-"));
    database = await createPostgresDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [BIN, "serve"], {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        CA_DATA_DIR: join(directory, "data"),
        CA_WORKERS: "2",
        PORT: String(port),
        CA_MTLS_PORT: String(await freePort()),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    const deadline = Date.now() + 90_000;
    while (!output.includes("2 worker processes")) {
      if (child.exitCode !== null) throw new Error(`ca serve exited with ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`ca serve did not start its workers:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 120_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await database?.drop();
    await rm(directory, { recursive: true, force: true });
  });

  it("runs two nodes that both answer revoked as soon as the revocation returns, and stops on SIGTERM", async () => {
    // Two OCSP invalidation listeners: one per worker, each a node of the service.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      let listeners = 0;
      for (let attempt = 0; attempt < 50 && listeners < 2; attempt++) {
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'gov-ca-ocsp:%'",
        );
        listeners = rows[0]!.n;
        if (listeners < 2) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(listeners).toBe(2);
    } finally {
      await client.end();
    }

    const token = (await readFile(join(directory, "data", "bootstrap-admin.key"), "utf8")).trim();
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const issued = await fetch(`${base}/api/v1/certificates`, {
      method: "POST",
      headers: { ...headers, accept: "application/json" },
      body: JSON.stringify({
        csr: buildCsrPem({
          key: generateTestKey("p256"),
          names: [{ type: "dns", value: "workers.gov.test" }],
        }),
        profile: "tls-server",
        subject: { orgUnit: "gov" },
      }),
    });
    expect(issued.status, await issued.clone().text()).toBe(201);
    const { serial } = (await issued.json()) as { serial: string };
    const issuer = Buffer.from(await (await fetch(`${base}/ca/issuing-1.crt`)).arrayBuffer());
    const url = `${base}/ocsp/issuing-1/${encodeURIComponent(buildOcspRequest(issuer, serial).toString("base64"))}`;
    const statuses = async () =>
      Promise.all(
        Array.from({ length: 6 }, async () => {
          const response = await getOnNewConnection(url);
          expect(response.status).toBe(200);
          return parseOcspResponse(response.body).basic!.responses[0]!.status;
        }),
      );

    // Both workers hold the good response in memory...
    expect(await statuses()).toEqual(Array(6).fill("good"));
    const revoked = await fetch(`${base}/api/v1/certificates/${serial}/revoke`, {
      method: "POST",
      headers,
      body: JSON.stringify({ reason: "keyCompromise" }),
    });
    expect(revoked.status, await revoked.clone().text()).toBe(200);
    // ...and neither serves it once the revocation has returned, whichever revoked.
    expect(await statuses()).toEqual(Array(6).fill("revoked"));

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output).toContain("SIGTERM: stopping the workers");
  }, 120_000);
});

describe("CA_WORKERS", () => {
  it("refuses more than one worker on the embedded database, which belongs to one process", async () => {
    const directory = await mkdtemp(join(tmpdir(), "ca-workers-"));
    try {
      const failed = await promisify(execFile)(process.execPath, [BIN, "serve"], {
        env: { ...process.env, DATABASE_URL: "", CA_DATA_DIR: directory, CA_WORKERS: "2" },
      }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain("CA_WORKERS=2 needs PostgreSQL (DATABASE_URL)");
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
