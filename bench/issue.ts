import { generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openDatabase, type Queryable } from "../db/database.js";
import { createSoftHsmToken } from "../hsm-adapters/softhsm.js";
import { buildCsrPem, generateTestKey } from "../tests/helpers/csr.js";
import { createPostgresDatabase } from "../tests/helpers/databases.js";
import { type CpuUsage, cpuSnapshot, cpuUsage, waitForQuiet } from "./cpu.js";
import { environment, envNumber, progress, ROOT, Service, sleep, table } from "./service.js";
import { runWrk, type WrkResult, wrkRequestsFile, wrkScript } from "./wrk.js";

type Engine = "postgres" | "pglite";

/** Busy share of the machine under which it counts as quiet enough to measure. */
const QUIET = 0.1;
/** Cores used by other processes during a run beyond which the run is flagged. */
const NOISY_CORES = 0.2;
/** Issue #2: 1,500 certs/s at p99 < 50 ms on PostgreSQL; issue #3: 1,000 certs/s with the issuing key on SoftHSM. */
const TARGET =
  process.env.BENCH_KEYSTORE === "softhsm"
    ? { engine: "postgres" as Engine, certsPerSecond: 1000, p99Ms: Number.POSITIVE_INFINITY }
    : { engine: "postgres" as Engine, certsPerSecond: 1500, p99Ms: 50 };

const settings = {
  seconds: envNumber("BENCH_SECONDS", 15),
  warmupSeconds: envNumber("BENCH_WARMUP_SECONDS", 3),
  signSeconds: envNumber("BENCH_SIGN_SECONDS", 2),
  connections: envNumber("BENCH_CONNECTIONS", 32),
  threads: envNumber("BENCH_THREADS", 2),
  csrs: envNumber("BENCH_CSRS", 16),
  engines: (process.env.BENCH_ENGINES || "postgres,pglite").split(",").map((name) => {
    if (name !== "postgres" && name !== "pglite")
      throw new Error(`BENCH_ENGINES lists "${name}": use postgres and/or pglite`);
    return name as Engine;
  }),
  /** Seconds to wait, before each engine, for other work on the machine to finish. */
  waitQuietSeconds: Number(process.env.BENCH_WAIT_QUIET ?? 120),
  /** Where the CA keys live: the software store, or a SoftHSMv2 token made for the run (PKCS#11). */
  keyStore: (() => {
    const value = process.env.BENCH_KEYSTORE || "software";
    if (value !== "software" && value !== "softhsm")
      throw new Error(`BENCH_KEYSTORE must be software or softhsm, got "${value}"`);
    return value;
  })(),
  /** Extra PKCS#11 URI attributes for the softhsm key store, e.g. "x-verify-signatures=rsa". */
  keyStoreParameters: new URLSearchParams(process.env.BENCH_KEYSTORE_PARAMS ?? ""),
  /** Node flags for the service only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
  serverNodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
};

// ---------------------------------------------------------------------------------------
// The reference: raw P-256 signing (and, for context, verification) on one core.

interface RawRate {
  readonly perSecond: number;
  readonly operations: number;
  readonly seconds: number;
}

function rate(seconds: number, operation: () => void): RawRate {
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let operations = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 100; i++) operation();
    operations += 100;
    now = performance.now();
  }
  const elapsed = (now - start) / 1000;
  return { perSecond: operations / elapsed, operations, seconds: elapsed };
}

function rawP256(seconds: number): { sign: RawRate; verify: RawRate } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  // About the size of an end-entity TBSCertificate; the same call the software key store makes.
  const data = randomBytes(600);
  const options = { key: privateKey, dsaEncoding: "ieee-p1363" as const };
  rate(0.2, () => sign("sha256", data, options)); // warm-up
  const signRate = rate(seconds, () => sign("sha256", data, options));
  const signature = sign("sha256", data, privateKey);
  const verifyRate = rate(Math.max(0.5, seconds / 2), () => verify("sha256", data, publicKey, signature));
  return { sign: signRate, verify: verifyRate };
}

// ---------------------------------------------------------------------------------------
// One engine's run.

interface Durability {
  readonly synchronousCommit: string;
  readonly fsync: string;
  readonly walSyncMethod?: string;
  readonly serverVersion: string;
  /** Whether a 201 means the row survives a power loss. */
  readonly durable: boolean;
  readonly summary: string;
}

interface EngineResult {
  readonly engine: Engine;
  readonly issuingKeyAlgorithm: string;
  readonly keyStore: string;
  readonly durability: Durability;
  readonly warmup: Omit<WrkResult, "raw">;
  readonly run: WrkResult;
  readonly created: { sanity: number; warmup: number; measured: number; total: number };
  readonly rowsStored: number;
  /** How many of the serials answered with 201 are in the database (must be all). */
  readonly acknowledgedStored: number;
  /** Rows for requests wrk abandoned in flight when it stopped (0..connections per wrk run). */
  readonly unansweredStored: number;
  readonly auditRecordsForIssuance: number;
  readonly rowsMatch: boolean;
  /** PostgreSQL only: transactions committed in the bench database while the service ran (approximate). */
  readonly postgresCommits?: number;
  /** Busy share of the machine just before the service started (other work). */
  readonly machineBusyBefore?: number;
  /** Average cores used during the measured run, by process group (Linux). */
  readonly cpu?: CpuUsage;
  readonly serviceWarnings: number;
  readonly serviceWarningsAtShutdown: number;
  readonly serviceExit: { code: number | null; signal: NodeJS.Signals | null };
  readonly serviceLogTail?: string;
}

async function showSettings(db: Queryable, engine: Engine): Promise<Durability> {
  const show = async (name: string) =>
    (await db.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
  const synchronousCommit = await show("synchronous_commit");
  const fsync = await show("fsync");
  const serverVersion = await show("server_version");
  if (engine === "postgres") {
    const walSyncMethod = await show("wal_sync_method");
    // Every synchronous_commit value but "off" waits for the local WAL flush before COMMIT returns.
    const durable = fsync === "on" && synchronousCommit !== "off";
    return {
      synchronousCommit,
      fsync,
      walSyncMethod,
      serverVersion,
      durable,
      summary: durable
        ? `durable: fsync=${fsync}, synchronous_commit=${synchronousCommit}`
        : `NOT durable: fsync=${fsync}, synchronous_commit=${synchronousCommit}`,
    };
  }
  // PGlite 0.5 runs its embedded PostgreSQL with fsync off: a 201 is in the OS page cache,
  // not necessarily on disk. Report what the engine itself says.
  return {
    synchronousCommit,
    fsync,
    serverVersion,
    durable: fsync === "on",
    summary:
      fsync === "on"
        ? `fsync=on, synchronous_commit=${synchronousCommit}`
        : `NOT crash-durable: PGlite fsync=${fsync} (survives a clean stop, not a power loss)`,
  };
}

async function counts(
  db: Queryable,
  acknowledged: readonly string[],
): Promise<{ certificates: number; audit: number; acknowledgedFound: number }> {
  const certificates = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM certificates");
  const audit = await db.query<{ n: string }>(
    "SELECT count(*)::text AS n FROM audit_log WHERE action = 'certificate.issue'",
  );
  let acknowledgedFound = 0;
  for (let start = 0; start < acknowledged.length; start += 10_000) {
    const chunk = acknowledged.slice(start, start + 10_000);
    const found = await db.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM certificates WHERE serial = ANY($1::text[])",
      [chunk],
    );
    acknowledgedFound += Number(found.rows[0]!.n);
  }
  return {
    certificates: Number(certificates.rows[0]!.n),
    audit: Number(audit.rows[0]!.n),
    acknowledgedFound,
  };
}

/** The serial in a Location header: /api/v1/certificates/<serial>. */
function serialOf(location: string | null): string {
  const match = /^\/api\/v1\/certificates\/([0-9a-f]+)$/.exec(location ?? "");
  if (!match) throw new Error(`a 201 without a certificate Location: "${location}"`);
  return match[1]!;
}

async function readLocations(directory: string, prefix: string): Promise<string[]> {
  const serials: string[] = [];
  for (const name of await readdir(directory))
    if (name.startsWith(prefix))
      for (const line of (await readFile(join(directory, name), "utf8")).split("\n"))
        if (line) serials.push(serialOf(line));
  return serials;
}

async function withPg<T>(url: string, work: (client: Queryable) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work({
      async query<Row>(sql: string, params?: readonly unknown[]) {
        const result = await client.query(sql, params as unknown[]);
        return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
      },
      notifyOnCommit() {}, // read-only counters: nobody listens
    });
  } finally {
    await client.end();
  }
}

async function xactCommit(url: string): Promise<number> {
  return withPg(url, async (db) => {
    const { rows } = await db.query<{ n: string }>(
      "SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()",
    );
    return Number(rows[0]!.n);
  });
}

function requestBodies(count: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const name = `host-${index}.bench.gov.test`;
    return JSON.stringify({
      csr: buildCsrPem({
        key: generateTestKey("p256"),
        commonName: name,
        names: [{ type: "dns", value: name }],
      }),
      profile: "tls-server",
      subject: { orgUnit: "gov" },
      subjectAltNames: [{ type: "dns", value: name }],
    });
  });
}

async function runEngine(engine: Engine, bodies: readonly string[]): Promise<EngineResult> {
  const dataDir = await mkdtemp(join(tmpdir(), `ca-bench-${engine}-`));
  const postgres = engine === "postgres" ? await createPostgresDatabase() : undefined;
  let service: Service | undefined;
  try {
    const busyBefore = await waitForQuiet(settings.waitQuietSeconds, QUIET, (busy) =>
      progress(
        `${engine}: the machine is ${(busy * 100).toFixed(0)}% busy with other work; waiting for it to quiet down`,
      ),
    );
    progress(`${engine}: starting the service (data in ${dataDir}${postgres ? `, ${postgres.url}` : ""})`);
    const keyStoreUri =
      settings.keyStore === "softhsm"
        ? (await createSoftHsmToken({ directory: join(dataDir, "softhsm"), label: "bench-ca" })).uri(
            Object.fromEntries(settings.keyStoreParameters),
          )
        : undefined;
    if (keyStoreUri) progress(`${engine}: CA keys on SoftHSMv2 (${keyStoreUri})`);
    service = await Service.start({
      dataDir,
      databaseUrl: postgres?.url,
      keyStoreUri,
      nodeArgs: settings.serverNodeArgs,
    });
    const token = (await readFile(join(dataDir, "bootstrap-admin.key"), "utf8")).trim();
    const headers = {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/pem-certificate-chain",
    };

    const issuers = (await (
      await fetch(`${service.baseUrl}/api/v1/issuers`, { headers: { authorization: headers.authorization } })
    ).json()) as { items: { id: string; kind: string; keyAlgorithm: string }[] };
    const issuing = issuers.items.find((issuer) => issuer.kind === "issuing");
    if (issuing?.keyAlgorithm !== "ecdsa-p256")
      throw new Error(`expected a P-256 issuing CA, found ${JSON.stringify(issuers.items)}`);

    const sanity = await fetch(`${service.baseUrl}/api/v1/certificates`, {
      method: "POST",
      headers,
      body: bodies[0]!,
    });
    const sanityBody = await sanity.text();
    if (sanity.status !== 201 || !sanityBody.includes("BEGIN CERTIFICATE"))
      throw new Error(`a single issuance request failed: ${sanity.status} ${sanityBody}`);
    const sanitySerial = serialOf(sanity.headers.get("location"));

    // PGlite's settings are read after the service has released its directory.
    const durability = postgres ? await withPg(postgres.url, (db) => showSettings(db, engine)) : undefined;
    const commitsBefore = postgres ? await xactCommit(postgres.url) : 0;

    const wrk = {
      threads: settings.threads,
      connections: settings.connections,
      timeoutSeconds: 10,
      url: service.baseUrl,
    };
    const measure = async (label: string, seconds: number) => {
      const scriptPath = join(dataDir, `${label}.lua`);
      const prefix = join(dataDir, `${label}-locations-`);
      const requestsPath = join(dataDir, "requests.txt");
      await writeFile(
        requestsPath,
        wrkRequestsFile(bodies.map((body) => ({ method: "POST", path: "/api/v1/certificates", body }))),
      );
      await writeFile(
        scriptPath,
        wrkScript({ requestsPath, headers, expectedStatus: 201, locationsPrefix: prefix }),
      );
      const before = await cpuSnapshot();
      const result = await runWrk({ ...wrk, scriptPath, seconds });
      const cpu = cpuUsage(before, await cpuSnapshot(), service!.pid, cpus().length);
      // wrk closes its connections when its time is up; let the service finish what was in flight.
      await sleep(Math.min(10_000, result.latencyMs.max + 1000));
      const serials = await readLocations(dataDir, `${label}-locations-`);
      if (serials.length !== result.expected)
        throw new Error(
          `wrk counted ${result.expected} 201s in the ${label} but logged ${serials.length} Locations`,
        );
      return { result, serials, cpu };
    };
    progress(`${engine}: warming up for ${settings.warmupSeconds} s`);
    const warmupRun = await measure("warmup", settings.warmupSeconds);
    const { raw: _warmupRaw, ...warmup } = warmupRun.result;
    progress(
      `${engine}: warm-up ${warmup.expectedPerSecond.toFixed(0)} certs/s; measuring for ${settings.seconds} s ` +
        `(wrk -t${wrk.threads} -c${wrk.connections})`,
    );
    const measured = await measure("run", settings.seconds);
    const run = measured.result;
    const cpu = measured.cpu;
    progress(
      `${engine}: ${run.expectedPerSecond.toFixed(0)} certs/s, p50 ${run.latencyMs.p50.toFixed(2)} ms, ` +
        `p99 ${run.latencyMs.p99.toFixed(2)} ms, ${run.errors} errors; stopping the service`,
    );
    const acknowledged = [sanitySerial, ...warmupRun.serials, ...measured.serials];
    if (new Set(acknowledged).size !== acknowledged.length)
      throw new Error("the same serial was answered twice");

    const warningsDuringRuns = service.warnings;
    const serviceExit = await service.stop();
    const created = {
      sanity: 1,
      warmup: warmup.expected,
      measured: run.expected,
      total: 1 + warmup.expected + run.expected,
    };

    progress(`${engine}: counting stored rows`);
    let stored: { certificates: number; audit: number; acknowledgedFound: number };
    let settingsSeen: Durability;
    let postgresCommits: number | undefined;
    if (postgres) {
      stored = await withPg(postgres.url, (db) => counts(db, acknowledged));
      postgresCommits = (await xactCommit(postgres.url)) - commitsBefore;
      settingsSeen = durability!;
    } else {
      // Reopen the directory the service wrote: rows must be on its files, not in its memory.
      const db = await openDatabase({ directory: join(dataDir, "db") });
      try {
        stored = await counts(db, acknowledged);
        settingsSeen = await showSettings(db, engine);
      } finally {
        await db.close();
      }
    }
    // wrk closes its connections when the time is up: requests then in flight (at most one per
    // connection and run) are still completed and stored by the service, but never counted.
    const unanswered = stored.certificates - created.total;
    const rowsMatch =
      stored.acknowledgedFound === created.total &&
      stored.audit === stored.certificates &&
      unanswered >= 0 &&
      unanswered <= 2 * settings.connections;
    const result: EngineResult = {
      engine,
      issuingKeyAlgorithm: issuing.keyAlgorithm,
      keyStore: keyStoreUri
        ? `softhsm (${
            keyStoreUri
              .split("?")[1]
              ?.split("&")
              .filter((p) => p.startsWith("x-verify"))
              .join("&") || "x-verify-signatures=all"
          })`
        : "software",
      durability: settingsSeen,
      warmup,
      run,
      created,
      rowsStored: stored.certificates,
      acknowledgedStored: stored.acknowledgedFound,
      unansweredStored: unanswered,
      auditRecordsForIssuance: stored.audit,
      rowsMatch,
      ...(postgresCommits === undefined ? {} : { postgresCommits }),
      ...(busyBefore === undefined ? {} : { machineBusyBefore: busyBefore }),
      ...(cpu ? { cpu } : {}),
      serviceWarnings: warningsDuringRuns,
      serviceWarningsAtShutdown: service.warnings - warningsDuringRuns,
      serviceExit,
      ...(run.errors || warmup.errors || !rowsMatch || service.warnings
        ? { serviceLogTail: service.log.slice(-8000) }
        : {}),
    };
    return result;
  } finally {
    await service?.stop();
    if (postgres) await postgres.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Report.

async function main(): Promise<number> {
  const startedAt = new Date();
  const env = await environment();
  progress(`${env.cpus} CPU(s) (${env.cpuModel}), node ${env.node}, ${env.wrk}`);

  progress(`measuring raw P-256 signing on one core for ${settings.signSeconds} s`);
  const raw = rawP256(settings.signSeconds);
  progress(
    `raw P-256: ${raw.sign.perSecond.toFixed(0)} sign/s, ${raw.verify.perSecond.toFixed(0)} verify/s (one core)`,
  );

  progress(`building ${settings.csrs} P-256 CSRs`);
  const bodies = requestBodies(settings.csrs);

  const results: EngineResult[] = [];
  for (const engine of settings.engines) results.push(await runEngine(engine, bodies));

  const header = [
    "engine",
    "key store",
    "certs/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "201s stored",
    "rows stored",
    "raw P-256 sign/s",
    "ratio",
    "durability",
  ];
  const noisy = (result: EngineResult) => (result.cpu?.cores.other ?? 0) > NOISY_CORES;
  const rows = results.map((result) => [
    result.engine,
    result.keyStore,
    `${result.run.expectedPerSecond.toFixed(0)}${noisy(result) ? " *" : ""}`,
    result.run.latencyMs.p50.toFixed(2),
    result.run.latencyMs.p99.toFixed(2),
    result.run.errors + result.warmup.errors ? `${result.run.errors + result.warmup.errors} (!)` : "0",
    `${result.acknowledgedStored}/${result.created.total}${result.rowsMatch ? "" : " MISMATCH (!)"}`,
    String(result.rowsStored),
    raw.sign.perSecond.toFixed(0),
    `${((result.run.expectedPerSecond / raw.sign.perSecond) * 100).toFixed(1)}%`,
    result.durability.summary,
  ]);

  const out = process.stdout;
  out.write(
    `\nIssuance over HTTP: wrk -t${settings.threads} -c${settings.connections} -d${settings.seconds}s, ` +
      `P-256 issuing key, P-256 CSRs, profile tls-server, ${env.cpus} CPU(s) shared by wrk, the service and the database\n\n`,
  );
  out.write(`${table([header, ...rows])}\n\n`);
  out.write(
    "certs/s: 201 responses per second of the measured run. errors: non-201 responses and socket errors " +
      "(warm-up included). 201s stored: serials answered 201 (check request, warm-up, run) found in the " +
      "database after the service stopped. rows stored: all certificates there, including requests wrk " +
      "abandoned in flight when its time was up (at most one per connection and wrk run). ratio: certs/s " +
      "over the raw single-core signing rate.\n",
  );
  if (results.some(noisy))
    out.write("* other processes took CPU during this run (see below): rerun on a quiet machine.\n");
  for (const result of results) {
    const problems: string[] = [];
    const statuses = { ...result.warmup.otherStatuses };
    for (const [code, count] of Object.entries(result.run.otherStatuses))
      statuses[code] = (statuses[code] ?? 0) + count;
    if (Object.keys(statuses).length) problems.push(`statuses ${JSON.stringify(statuses)}`);
    const socket = Object.entries(result.run.socketErrors).filter(
      ([name, count]) => name !== "status" && count,
    );
    if (socket.length) problems.push(`socket errors ${JSON.stringify(Object.fromEntries(socket))}`);
    if (!result.rowsMatch)
      problems.push(
        `${result.acknowledgedStored} of ${result.created.total} answered serials stored; ` +
          `${result.rowsStored} certificates and ${result.auditRecordsForIssuance} issuance audit records`,
      );
    if (result.cpu && result.cpu.cores.other > NOISY_CORES)
      problems.push(
        `other processes used ${result.cpu.cores.other.toFixed(2)} of ${result.cpu.cpus} cores during the run ` +
          `(${Object.keys(result.cpu.busiestOther).slice(0, 3).join(", ")}): the figures understate the service`,
      );
    if (result.serviceWarnings)
      problems.push(
        `the service logged ${result.serviceWarnings} warnings/errors while serving (see the JSON)`,
      );
    if (result.serviceWarningsAtShutdown)
      problems.push(`the service logged ${result.serviceWarningsAtShutdown} warnings/errors while stopping`);
    if (problems.length) out.write(`(!) ${result.engine}: ${problems.join("; ")}\n`);
    if (result.postgresCommits !== undefined)
      out.write(
        `${result.engine}: ${result.durability.serverVersion}, synchronous_commit=${result.durability.synchronousCommit}, ` +
          `fsync=${result.durability.fsync}, wal_sync_method=${result.durability.walSyncMethod}; ` +
          `~${result.postgresCommits} transactions committed for ${result.created.warmup + result.created.measured} ` +
          `certificates (warm-up + run)\n`,
      );
    else
      out.write(
        `${result.engine}: PGlite (PostgreSQL ${result.durability.serverVersion}), fsync=${result.durability.fsync}, ` +
          `synchronous_commit=${result.durability.synchronousCommit}\n`,
      );
  }
  for (const result of results)
    if (result.cpu)
      out.write(
        `${result.engine}: CPU during the run, in cores of ${result.cpu.cpus}: service ${result.cpu.cores.service.toFixed(2)}, ` +
          `PostgreSQL ${result.cpu.cores.postgres.toFixed(2)}, wrk ${result.cpu.cores.wrk.toFixed(2)}, ` +
          `other ${result.cpu.cores.other.toFixed(2)}; machine ${(result.cpu.machineBusy * 100).toFixed(0)}% busy ` +
          `(${(result.cpu.machineSteal * 100).toFixed(1)}% stolen by the hypervisor); ` +
          `service ${((result.cpu.cores.service / result.run.expectedPerSecond) * 1e6).toFixed(0)} µs CPU per certificate\n`,
      );
  out.write(
    `raw P-256 on one core: ${raw.sign.perSecond.toFixed(0)} sign/s, ${raw.verify.perSecond.toFixed(0)} verify/s ` +
      `(node:crypto, OpenSSL ${env.openssl})\n`,
  );

  const target = results.find((result) => result.engine === TARGET.engine);
  if (target) {
    const met =
      target.run.expectedPerSecond >= TARGET.certsPerSecond &&
      target.run.latencyMs.p99 < TARGET.p99Ms &&
      target.run.errors === 0 &&
      target.rowsMatch;
    out.write(
      `target (${TARGET.engine}: >= ${TARGET.certsPerSecond} certs/s, p99 < ${TARGET.p99Ms} ms, no errors): ` +
        `${met ? "MET" : "NOT MET"}${noisy(target) ? " (disturbed by other load)" : ""}\n`,
    );
  }

  const resultsDir = join(ROOT, "bench", "results");
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `issue-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(
    file,
    `${JSON.stringify(
      {
        benchmark: "issue",
        startedAt: startedAt.toISOString(),
        environment: env,
        settings,
        target: TARGET,
        rawP256: raw,
        results,
      },
      null,
      2,
    )}\n`,
  );
  out.write(`\nresults: ${file}\n`);
  return results.some((result) => result.run.errors || result.warmup.errors || !result.rowsMatch) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`[bench] failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
