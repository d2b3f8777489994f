/**
 * `npm run bench:sso`: our OpenID Provider's hot paths at 32 connections, next to
 * node-oidc-provider 9 (bench/oidc-reference.ts) configured the same way on the same machine,
 * driven by the same wrk in the same run. See bench/README.md.
 *
 * 1. `ca init` on a fresh PostgreSQL database, `ca serve` with CA_WORKERS processes, one
 *    confidential client registered through the admin API (client_secret_basic,
 *    client_credentials, an audience, so its access tokens are RFC 9068 JWTs).
 * 2. Each side is checked first: a grant returns an ES256 at+jwt (or opaque) access token that
 *    verifies with the side's JWKS, and introspection of one says active: true.
 * 3. client_credentials grants/s: POST token endpoint, Basic auth, form body.
 * 4. introspections/s: POST introspection endpoint, rotating through BENCH_SSO_TOKENS tokens
 *    minted beforehand, from a data file.
 * 5. certificate logins/s (ours only), and their TLS half alone: bench/sso-logins.ts.
 * Each wrk measurement has warm-up rounds, then wrk -t2 -c32 for BENCH_SECONDS.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { createPostgresDatabase } from "../tests/helpers/databases.js";
import { freePort } from "../tests/helpers/ports.js";
import { type CpuUsage, cpuSnapshot, cpuUsage, waitForQuiet } from "./cpu.js";
import {
  environment,
  envNumber,
  opensslSelfSignedP256,
  progress,
  ROOT,
  Service,
  sleep,
  stopChild,
  supervised,
  table,
} from "./service.js";
import {
  type LoginCertificate,
  type LoopResult,
  NotMeasured,
  prepareLogins,
  runCertificateChecks,
  runFloorChecks,
  runLogins,
  tlsListening,
  userCertificates,
} from "./sso-logins.js";
import { runWrk, type WrkResult, wrkRequestsFile, wrkScript } from "./wrk.js";

const run = promisify(execFile);

/** The issue's targets on 2 cores, our state in PostgreSQL. */
const TARGET = { grantsPerSecond: 12_000, introspectionsPerSecond: 12_000, loginsPerSecond: 300 };

const settings = {
  seconds: envNumber("BENCH_SECONDS", 10),
  warmupSeconds: envNumber("BENCH_WARMUP_SECONDS", 3),
  /** Warm-up runs at most; they stop once one is not 5 % faster than the one before. */
  warmupRounds: envNumber("BENCH_WARMUP_ROUNDS", 4),
  connections: envNumber("BENCH_CONNECTIONS", 32),
  threads: envNumber("BENCH_THREADS", 2),
  /** Our service's processes (CA_WORKERS); one per core by default. */
  workers: envNumber("BENCH_WORKERS", cpus().length),
  /** node-oidc-provider's processes for client_credentials (node:cluster); as many as ours by default. */
  referenceProcesses: envNumber("BENCH_REFERENCE_PROCESSES", envNumber("BENCH_WORKERS", cpus().length)),
  /** Pre-minted access tokens the introspection requests rotate through. */
  tokens: envNumber("BENCH_SSO_TOKENS", 300),
  /** User certificates the login loops rotate through. */
  loginCertificates: envNumber("BENCH_SSO_LOGIN_CERTS", 8),
  /** Also measure both sides with one process each (0 to skip). */
  oneProcess: process.env.BENCH_SSO_ONE_PROCESS !== "0",
  /** Which sides to run: "ours", "node-oidc-provider" or both (e.g. ours alone when profiling). */
  sides: (process.env.BENCH_SSO_SIDES ?? "ours,node-oidc-provider").split(",").map((side) => side.trim()),
  /** Which measurements to make (all by default), e.g. one alone when profiling. */
  operations: (
    process.env.BENCH_SSO_OPERATIONS ?? "client_credentials,introspection,certificate_check,certificate_login"
  )
    .split(",")
    .map((operation) => operation.trim()),
  waitQuietSeconds: Number(process.env.BENCH_WAIT_QUIET ?? 60),
  serverNodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean),
};

const SCOPE = "bench.read";
const RESOURCE = "https://api.bench.test";
const CLIENT_ID = "bench-service";

type Operation = "client_credentials" | "introspection";
/** Ours only: whole certificate logins, and their TLS half alone (no target: for reading the logins). */
type CertificateOperation = "certificate_check" | "certificate_login";
/** ours and node-oidc-provider, and bench/tls-floor.ts under the certificate rows. */
type Implementation = Target["implementation"] | "floor";

interface Target {
  readonly implementation: "ours" | "node-oidc-provider";
  readonly processes: number;
  readonly tokenFormat: "jwt" | "opaque";
  readonly baseUrl: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly jwksUri: string;
  readonly issuer: string;
  readonly pid: number | undefined;
  readonly authorization: string;
}

interface Measured {
  readonly operation: Operation | CertificateOperation;
  readonly implementation: Implementation;
  readonly processes: number;
  readonly tokenFormat: string;
  readonly note: string;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly wrk?: Omit<WrkResult, "raw">;
  readonly loops?: LoopResult;
  readonly cpu: CpuUsage | undefined;
}

interface NotMeasuredRow {
  readonly operation: Measured["operation"];
  readonly implementation: Implementation;
  readonly reason: string;
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

const pathOf = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
};

async function describe(
  base: Omit<Target, "tokenEndpoint" | "introspectionEndpoint" | "jwksUri" | "issuer">,
): Promise<Target> {
  const metadata = (await (await fetch(`${base.baseUrl}/.well-known/openid-configuration`)).json()) as {
    issuer: string;
    token_endpoint: string;
    introspection_endpoint: string;
    jwks_uri: string;
  };
  return {
    ...base,
    issuer: metadata.issuer,
    tokenEndpoint: metadata.token_endpoint,
    introspectionEndpoint: metadata.introspection_endpoint,
    jwksUri: metadata.jwks_uri,
  };
}

async function post(target: Target, url: string, body: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: target.authorization, "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const GRANT_BODY = `grant_type=client_credentials&scope=${SCOPE}`;
const introspectionBody = (token: string) =>
  `token=${encodeURIComponent(token)}&token_type_hint=access_token`;

async function grant(target: Target): Promise<string> {
  const { status, body } = await post(target, target.tokenEndpoint, GRANT_BODY);
  if (status !== 200 || typeof body.access_token !== "string")
    throw new Error(`${target.implementation}: a grant answered ${status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Both sides must answer right before they are measured. */
async function check(target: Target, operations: readonly Operation[]): Promise<void> {
  const { status, body } = await post(target, target.tokenEndpoint, GRANT_BODY);
  const token = body.access_token;
  if (status !== 200 || typeof token !== "string" || body.token_type?.toString().toLowerCase() !== "bearer")
    throw new Error(`${target.implementation}: the grant answered ${status} ${JSON.stringify(body)}`);
  if (body.expires_in !== 600 || body.scope !== SCOPE)
    throw new Error(`${target.implementation}: expected 600 s and scope ${SCOPE}: ${JSON.stringify(body)}`);
  if (target.tokenFormat === "jwt") {
    const header = decodeProtectedHeader(token);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(target.jwksUri)), {
      issuer: target.issuer,
      audience: RESOURCE,
      typ: "at+jwt", // RFC 9068 §4
      algorithms: ["ES256"],
    });
    if (header.alg !== "ES256" || payload.client_id !== CLIENT_ID || payload.scope !== SCOPE)
      throw new Error(
        `${target.implementation}: unexpected access token ${JSON.stringify({ header, payload })}`,
      );
  } else if (token.split(".").length === 3)
    throw new Error(`${target.implementation}: expected an opaque token`);
  if (operations.includes("introspection")) {
    const answer = await post(target, target.introspectionEndpoint, introspectionBody(token));
    if (answer.status !== 200 || answer.body.active !== true || answer.body.client_id !== CLIENT_ID)
      throw new Error(
        `${target.implementation}: introspection answered ${answer.status} ${JSON.stringify(answer.body)}`,
      );
    const unknown = await post(target, target.introspectionEndpoint, introspectionBody("not-a-token"));
    if (unknown.body.active !== false)
      throw new Error(
        `${target.implementation}: an unknown token is active: ${JSON.stringify(unknown.body)}`,
      );
  }
}

/** Access tokens for the introspection requests, minted a few at a time. */
async function mint(target: Target, count: number): Promise<string[]> {
  const tokens: string[] = [];
  while (tokens.length < count)
    tokens.push(
      ...(await Promise.all(Array.from({ length: Math.min(8, count - tokens.length) }, () => grant(target)))),
    );
  return tokens;
}

/** Warm-up rounds, then the measured wrk run. */
async function measure(
  target: Target,
  operation: Operation,
  directory: string,
  tokens: readonly string[],
  note: string,
): Promise<Measured> {
  const label = `${target.implementation}-${target.processes}p-${target.tokenFormat}-${operation}`;
  const requestsPath = join(directory, `${label}.requests`);
  const scriptPath = join(directory, `${label}.lua`);
  const requests =
    operation === "client_credentials"
      ? [{ method: "POST" as const, path: pathOf(target.tokenEndpoint), body: GRANT_BODY }]
      : tokens.map((token) => ({
          method: "POST" as const,
          path: pathOf(target.introspectionEndpoint),
          body: introspectionBody(token),
        }));
  await writeFile(requestsPath, wrkRequestsFile(requests));
  await writeFile(
    scriptPath,
    wrkScript({
      requestsPath,
      headers: { authorization: target.authorization, "content-type": "application/x-www-form-urlencoded" },
      expectedStatus: 200,
    }),
  );
  const wrk = {
    threads: settings.threads,
    connections: settings.connections,
    timeoutSeconds: 5,
    scriptPath,
    url: target.baseUrl,
  };
  let previous = 0;
  let warmupErrors = 0;
  for (let round = 1; round <= settings.warmupRounds; round++) {
    const warmup = await runWrk({ ...wrk, seconds: settings.warmupSeconds });
    warmupErrors += warmup.errors;
    progress(`${label}: warm-up ${round}: ${warmup.expectedPerSecond.toFixed(0)}/s, ${warmup.errors} errors`);
    if (warmup.expectedPerSecond < previous * 1.05) break;
    previous = warmup.expectedPerSecond;
  }
  progress(`${label}: measuring for ${settings.seconds} s`);
  const before = await cpuSnapshot();
  const { raw: _raw, ...result } = await runWrk({ ...wrk, seconds: settings.seconds });
  const cpu = cpuUsage(before, await cpuSnapshot(), target.pid, cpus().length);
  progress(
    `${label}: ${result.expectedPerSecond.toFixed(0)}/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, ` +
      `p99 ${result.latencyMs.p99.toFixed(2)} ms, ${result.errors} errors (warm-up: ${warmupErrors})`,
  );
  return {
    operation,
    implementation: target.implementation,
    processes: target.processes,
    tokenFormat: target.tokenFormat,
    note,
    perSecond: result.expectedPerSecond,
    p50: result.latencyMs.p50,
    p99: result.latencyMs.p99,
    errors: result.errors + warmupErrors,
    wrk: result,
    cpu,
  };
}

/** node-oidc-provider as a child process (bench/oidc-reference.ts); SIGTERM stops it and its workers. */
async function startReference(processes: number, format: "jwt" | "opaque", secret: string) {
  const port = await freePort();
  const child = supervised(
    spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench/oidc-reference.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        REFERENCE_PORT: String(port),
        REFERENCE_PROCESSES: String(processes),
        REFERENCE_TOKEN_FORMAT: format,
        REFERENCE_CLIENT_ID: CLIENT_ID,
        REFERENCE_CLIENT_SECRET: secret,
        REFERENCE_SCOPE: SCOPE,
        REFERENCE_RESOURCE: RESOURCE,
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let output = "";
  const collect = (chunk: string) => (output = (output + chunk).slice(-16_384));
  child.stdout.setEncoding("utf8").on("data", collect);
  child.stderr.setEncoding("utf8").on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null)
      throw new Error(`node-oidc-provider exited with ${child.exitCode}:\n${output}`);
    const up = await fetch(`${baseUrl}/.well-known/openid-configuration`).then(
      (response) => response.status === 200,
      () => false,
    );
    // Each cluster worker listens on its own: give the others a moment after the first answers.
    if (up) {
      if (processes > 1) await sleep(1500);
      break;
    }
    if (attempt > 300) {
      await stop();
      throw new Error(`node-oidc-provider did not answer on port ${port}:\n${output}`);
    }
    await sleep(100);
  }
  const target = await describe({
    implementation: "node-oidc-provider",
    processes,
    tokenFormat: format,
    baseUrl,
    pid: child.pid,
    authorization: basic(CLIENT_ID, secret),
  });
  return { target, stop, output: () => output };
}

async function quiet(label: string): Promise<number | undefined> {
  return waitForQuiet(settings.waitQuietSeconds, 0.1, (busy) =>
    progress(`${label}: the machine is ${(busy * 100).toFixed(0)}% busy with other work; waiting`),
  );
}

/**
 * The two loops of bench/sso-logins.ts against our service: the TLS half alone, then whole
 * logins; then the TLS half against bench/tls-floor.ts (our service idle meanwhile).
 */
async function measureCertificates(
  service: Service,
  caEnv: NodeJS.ProcessEnv,
  adminToken: string,
  mtlsPort: number,
  directory: string,
  skipped: (row: NotMeasuredRow) => void,
): Promise<Measured[]> {
  const wanted = (["certificate_check", "certificate_login"] as const).filter((operation) =>
    settings.operations.includes(operation),
  );
  if (wanted.length === 0) return [];
  const measured: Measured[] = [];
  const record = async (
    operation: CertificateOperation,
    note: string,
    loop: (seconds: number) => Promise<LoopResult>,
    server: { implementation: Implementation; pid: number | undefined } = {
      implementation: "ours",
      pid: service.pid,
    },
  ) => {
    const label = `${operation}${server.implementation === "ours" ? "" : ` (${server.implementation})`}`;
    await loop(settings.warmupSeconds);
    progress(`${label}: measuring for ${settings.seconds} s`);
    const before = await cpuSnapshot();
    const result = await loop(settings.seconds);
    const cpu = cpuUsage(before, await cpuSnapshot(), server.pid, cpus().length);
    progress(
      `${label}: ${result.perSecond.toFixed(0)}/s, ${result.errorCount} errors ${JSON.stringify(result.errors)}`,
    );
    measured.push({
      operation,
      implementation: server.implementation,
      processes: settings.workers,
      tokenFormat: "jwt",
      note,
      perSecond: result.perSecond,
      p50: result.latencyMs.p50,
      p99: result.latencyMs.p99,
      errors: result.errorCount,
      loops: result,
      cpu,
    });
  };
  const missing = (operations: readonly CertificateOperation[], error: unknown) => {
    if (!(error instanceof NotMeasured)) throw error;
    for (const operation of operations) {
      progress(`${operation}: not measured: ${error.message}`);
      skipped({ operation, implementation: "ours", reason: error.message });
    }
  };
  let certificates: LoginCertificate[];
  try {
    progress(`user certificates for the mTLS listener (CA_MTLS_PORT=${mtlsPort})`);
    certificates = await userCertificates({ env: caEnv, mtlsPort, count: settings.loginCertificates });
  } catch (error) {
    missing(wanted, error);
    return measured;
  }
  if (wanted.includes("certificate_check"))
    await record(
      "certificate_check",
      "PostgreSQL; TLS half of a login only; driver shares the cores",
      (seconds) => runCertificateChecks(mtlsPort, certificates, settings.connections, seconds),
    );
  if (wanted.includes("certificate_login"))
    try {
      const setup = await prepareLogins({ baseUrl: service.baseUrl, adminToken, mtlsPort, certificates });
      await record("certificate_login", "PostgreSQL; driver shares the cores", (seconds) =>
        runLogins(setup, settings.connections, seconds),
      );
    } catch (error) {
      missing(["certificate_login"], error);
    }
  const floor = await launchTlsFloor(directory, certificates[0]!);
  try {
    await record(
      "certificate_check",
      `node:https, our TLS settings, answers the serial and nothing else; driver shares the cores`,
      (seconds) => runFloorChecks(floor.port, certificates, settings.connections, seconds),
      { implementation: "floor", pid: floor.pid },
    );
  } finally {
    await floor.stop();
  }
  return measured;
}

/**
 * bench/tls-floor.ts with as many processes as ours, a P-256 key and self-signed certificate
 * made by `openssl req`, and the CA certificates of a login certificate's chain to name.
 */
async function launchTlsFloor(directory: string, certificate: LoginCertificate) {
  const [keyFile, certificateFile, authoritiesFile] = [
    "floor-key.pem",
    "floor-cert.pem",
    "floor-cas.pem",
  ].map((name) => join(directory, name)) as [string, string, string];
  await run("openssl", opensslSelfSignedP256("/CN=127.0.0.1", keyFile, certificateFile));
  const chain = certificate.certificatePem
    .split(/(?=-----BEGIN CERTIFICATE-----)/)
    .slice(1)
    .join("");
  await writeFile(authoritiesFile, chain);
  const port = await freePort();
  progress(`starting the node:https floor (${settings.workers} processes) on port ${port}`);
  const child = supervised(
    spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "bench/tls-floor.ts"),
        String(port),
        String(settings.workers),
        keyFile,
        certificateFile,
        authoritiesFile,
      ],
      { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] },
    ),
  );
  const stop = () => stopChild(child);
  for (let attempt = 0; !(await tlsListening(port)); attempt++) {
    if (child.exitCode !== null || attempt > 100) {
      await stop();
      throw new Error(`the node:https floor did not start on port ${port}`);
    }
    await sleep(100);
  }
  return { port, pid: child.pid, stop };
}

async function main(): Promise<number> {
  const env = await environment();
  const oidcProviderVersion = (
    JSON.parse(await readFile(join(ROOT, "node_modules/oidc-provider/package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  progress(
    `${env.cpus} CPU(s) (${env.cpuModel}), node ${env.node}, ${env.wrk}, oidc-provider ${oidcProviderVersion}`,
  );
  const directory = await mkdtemp(join(tmpdir(), "bench-sso-"));
  const database = await createPostgresDatabase();
  const dataDir = join(directory, "data");
  const caEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.url,
    CA_DATA_DIR: dataDir,
    CA_KEY_ALGORITHM: "ecdsa-p256",
    LOG_LEVEL: "warn",
  };
  delete caEnv.CA_KEYSTORE;
  delete caEnv.CA_KEK;
  delete caEnv.CA_PUBLIC_URL;
  const results: Measured[] = [];
  const notMeasured: NotMeasuredRow[] = [];
  const loads: Record<string, { busyBefore: number | undefined; loadavg: number[] }> = {};
  let service: Service | undefined;
  let reference: Awaited<ReturnType<typeof startReference>> | undefined;
  let secret = "";
  try {
    progress("initializing a P-256 CA on PostgreSQL (ca init)");
    await run(process.execPath, [join(ROOT, "bin/ca.mjs"), "init"], { cwd: ROOT, env: caEnv });
    const adminToken = (await readFile(join(dataDir, "bootstrap-admin.key"), "utf8")).trim();

    const ourRuns = !settings.sides.includes("ours")
      ? []
      : settings.oneProcess && settings.workers !== 1
        ? [settings.workers, 1]
        : [settings.workers];
    for (const workers of ourRuns) {
      loads[`ours-${workers}`] = { busyBefore: await quiet(`ours (${workers})`), loadavg: loadavg() };
      const mtlsPort = await freePort();
      progress(`starting our service (ca serve, CA_WORKERS=${workers}, PostgreSQL)`);
      service = await Service.start({
        dataDir,
        databaseUrl: database.url,
        env: { CA_WORKERS: String(workers), CA_MTLS_PORT: String(mtlsPort) },
        nodeArgs: settings.serverNodeArgs,
      });
      if (!secret) {
        const response = await fetch(`${service.baseUrl}/api/v1/clients`, {
          method: "POST",
          headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
          body: JSON.stringify({
            clientId: CLIENT_ID,
            name: "Bench service (client credentials)",
            tokenEndpointAuthMethod: "client_secret_basic",
            grantTypes: ["client_credentials"],
            scopes: [SCOPE],
            audience: [RESOURCE],
          }),
        });
        const registered = (await response.json()) as { clientSecret?: string };
        if (response.status !== 201 || !registered.clientSecret)
          throw new Error(
            `registering the client answered ${response.status}: ${JSON.stringify(registered)}`,
          );
        secret = registered.clientSecret;
      }
      const ours = await describe({
        implementation: "ours",
        processes: workers,
        tokenFormat: "jwt",
        baseUrl: service.baseUrl,
        pid: service.pid,
        authorization: basic(CLIENT_ID, secret),
      });
      await check(ours, ["client_credentials", "introspection"]);
      const note = "PostgreSQL";
      if (settings.operations.includes("client_credentials"))
        results.push(await measure(ours, "client_credentials", directory, [], note));
      if (settings.operations.includes("introspection")) {
        const tokens = await mint(ours, settings.tokens);
        results.push(await measure(ours, "introspection", directory, tokens, note));
      }

      if (workers === settings.workers)
        results.push(
          ...(await measureCertificates(service, caEnv, adminToken, mtlsPort, directory, (row) =>
            notMeasured.push(row),
          )),
        );
      await service.stop();
      service = undefined;
    }

    if (!secret) secret = randomBytes(32).toString("base64url"); // the reference alone: a secret like ours
    // node-oidc-provider: JWT client_credentials (stateless: any number of processes), then
    // opaque tokens in one process for introspection (its memory is its own).
    const referenceRuns: { processes: number; format: "jwt" | "opaque"; operations: Operation[] }[] =
      !settings.sides.includes("node-oidc-provider")
        ? []
        : [
            { processes: settings.referenceProcesses, format: "jwt", operations: ["client_credentials"] },
            ...(settings.oneProcess && settings.referenceProcesses !== 1
              ? [{ processes: 1, format: "jwt" as const, operations: ["client_credentials" as const] }]
              : []),
            { processes: 1, format: "opaque", operations: ["client_credentials", "introspection"] },
          ];
    for (const referenceRun of referenceRuns) {
      const key = `node-oidc-provider-${referenceRun.processes}-${referenceRun.format}`;
      loads[key] = { busyBefore: await quiet(key), loadavg: loadavg() };
      progress(
        `starting node-oidc-provider (${referenceRun.processes} process(es), ${referenceRun.format} tokens)`,
      );
      reference = await startReference(referenceRun.processes, referenceRun.format, secret);
      await check(reference.target, referenceRun.operations);
      const note = referenceRun.processes > 1 ? "in-memory adapter, node:cluster" : "in-memory adapter";
      if (
        referenceRun.operations.includes("introspection") &&
        settings.operations.includes("introspection")
      ) {
        // Minted first, and no grant in between: its in-memory store keeps 1,000 entries (LRU).
        const tokens = await mint(reference.target, settings.tokens);
        results.push(await measure(reference.target, "introspection", directory, tokens, note));
      }
      if (settings.operations.includes("client_credentials"))
        results.push(await measure(reference.target, "client_credentials", directory, [], note));
      await reference.stop();
      reference = undefined;
    }
  } finally {
    await service?.stop();
    await reference?.stop();
    await database.drop();
    await rm(directory, { recursive: true, force: true });
  }
  return report(env, oidcProviderVersion, results, notMeasured, loads);
}

/**
 * The reference a row is compared with: for the certificate rows the node:https floor, else
 * node-oidc-provider with JWTs and as many processes, where it can.
 */
function referenceFor(results: readonly Measured[], row: Measured): Measured | undefined {
  if (row.operation.startsWith("certificate_"))
    return results.find((other) => other.implementation === "floor");
  const theirs = results.filter(
    (other) => other.implementation === "node-oidc-provider" && other.operation === row.operation,
  );
  if (row.operation === "introspection") return theirs[0]; // one process, opaque: the only way it introspects
  return (
    theirs.find((other) => other.processes === row.processes && other.tokenFormat === "jwt") ??
    theirs.find((other) => other.tokenFormat === "jwt")
  );
}

async function report(
  env: Awaited<ReturnType<typeof environment>>,
  oidcProviderVersion: string,
  results: readonly Measured[],
  notMeasured: readonly NotMeasuredRow[],
  loads: Record<string, { busyBefore: number | undefined; loadavg: number[] }>,
): Promise<number> {
  const header = [
    "operation",
    "implementation",
    "processes",
    "access token",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "server cores",
    "PostgreSQL cores",
    "vs reference",
    "target met?",
  ];
  let met = true;
  const busy: string[] = [];
  const rows = results.map((row) => {
    const reference = row.implementation === "ours" ? referenceFor(results, row) : undefined;
    const ratio = reference ? row.perSecond / reference.perSecond : undefined;
    let verdict = "";
    if (
      row.implementation === "ours" &&
      row.processes === settings.workers &&
      row.operation !== "certificate_check"
    ) {
      const floor =
        row.operation === "client_credentials"
          ? TARGET.grantsPerSecond
          : row.operation === "introspection"
            ? TARGET.introspectionsPerSecond
            : TARGET.loginsPerSecond;
      const ok =
        row.perSecond >= floor &&
        row.errors === 0 &&
        (row.operation === "certificate_login" || (ratio ?? 0) > 1);
      met &&= ok;
      verdict = `${ok ? "yes" : "NO"} (≥ ${floor.toLocaleString("en-US")}/s${row.operation === "certificate_login" ? "" : ", > reference"})`;
    }
    // The certificate loops are driven from this process: its time is the load generator's.
    const driver = row.operation.startsWith("certificate_") ? (row.cpu?.cores.bench ?? 0) : 0;
    const other = (row.cpu?.cores.other ?? 0) - driver;
    if (other > 0.2)
      busy.push(
        `${row.operation} ${row.implementation} ${row.processes}p: others took ${other.toFixed(2)} cores (${Object.entries(
          row.cpu?.busiestOther ?? {},
        )
          .map(([name, cores]) => `${name} ${cores}`)
          .join(", ")})`,
      );
    return [
      row.operation,
      `${row.implementation} (${row.note})`,
      String(row.processes),
      row.operation === "certificate_check"
        ? ""
        : row.operation === "certificate_login"
          ? "JWT (ID + access)"
          : row.tokenFormat === "jwt"
            ? "JWT (RFC 9068)"
            : "opaque",
      `${row.perSecond.toFixed(0)}${other > 0.2 ? " *" : ""}`,
      row.p50.toFixed(2),
      row.p99.toFixed(2),
      `${row.errors}${row.errors ? " (!)" : ""}`,
      row.cpu?.cores.service.toFixed(2) ?? "n/a",
      row.cpu?.cores.postgres.toFixed(2) ?? "n/a",
      ratio === undefined
        ? row.implementation === "ours"
          ? "n/a"
          : "reference"
        : `${ratio.toFixed(2)}x vs ${reference!.implementation === "floor" ? "floor" : `${reference!.processes}p ${reference!.tokenFormat}`}`,
      verdict,
    ];
  });
  for (const missing of notMeasured) {
    if (missing.operation !== "certificate_check") met = false;
    rows.push([
      missing.operation,
      missing.implementation,
      String(settings.workers),
      "",
      "not measured",
      "",
      "",
      "",
      "",
      "",
      "",
      `not measured: ${missing.reason}`,
    ]);
  }
  const out = process.stdout;
  out.write(
    `\nOpenID Provider at ${settings.connections} connections (wrk -t${settings.threads}; logins: a Node driver), ` +
      `${env.cpus} CPU(s) (${env.cpuModel}) shared by the load generator and the server, node ${env.node}, ` +
      `node-oidc-provider ${oidcProviderVersion}\n\n`,
  );
  out.write(`${table([header, ...rows])}\n\n`);
  out.write(
    "ours: ca serve on PostgreSQL, CA_WORKERS processes (node:cluster), client state cached per process, revocations in memory.\n" +
      "node-oidc-provider: bench/oidc-reference.ts, its in-memory adapter, which each process keeps to itself: JWT\n" +
      "client_credentials grants are stateless and run in as many processes as ours; it refuses to introspect JWTs\n" +
      "(reject_structured_tokens), so its introspection runs on opaque tokens in one process (a token minted by one\n" +
      "process is unknown to another). Introspection ratios are against that one process.\n",
  );
  if (busy.length > 0) out.write(`* other processes took CPU during the run: ${busy.join("; ")}\n`);
  out.write(
    `machine before each part (busy share over 2 s, load average 1/5/15 min): ${Object.entries(loads)
      .map(
        ([name, load]) =>
          `${name} ${load.busyBefore === undefined ? "n/a" : `${(load.busyBefore * 100).toFixed(0)}%`} ` +
          `(${load.loadavg.map((value) => value.toFixed(1)).join("/")})`,
      )
      .join("; ")}\n`,
  );
  out.write(
    `targets (≥ 12,000 grants/s and introspections/s ahead of node-oidc-provider, ≥ 300 logins/s): ${met ? "met" : "NOT met"}\n`,
  );
  const resultsDir = join(ROOT, "bench", "results");
  await mkdir(resultsDir, { recursive: true });
  const resultsFile = join(resultsDir, `sso-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(
    resultsFile,
    JSON.stringify(
      { environment: { ...env, oidcProvider: oidcProviderVersion }, settings, loads, results, notMeasured },
      null,
      2,
    ),
  );
  out.write(`written to ${resultsFile}\n`);
  return met ? 0 : 1;
}

process.exitCode = await main();
