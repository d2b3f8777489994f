/**
 * What the HTTP benchmarks share: the service under test as a child process (`ca serve` on a
 * free loopback port), settings from the environment, progress lines, the Markdown table they
 * print and a description of the machine.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { get as httpGet } from "node:http";
import { cpus, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "../tests/helpers/ports.js";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

export const progress = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const children = new Set<ChildProcess>();
let supervising = false;
let interrupted: NodeJS.Signals | undefined;

/**
 * Registers a bench's child process (service, responders, load generator) so that a bench
 * interrupted by SIGINT or SIGTERM (Ctrl-C, or `kill` of the bench's node process) stops it too
 * instead of leaving it running on its port and cores. The children are stopped at once and any
 * started later is stopped as it starts, so the bench's own steps fail and its cleanup (the
 * temporary database and directory) runs; a second signal, or 30 s, ends it regardless.
 */
export function supervised<Child extends ChildProcess>(child: Child): Child {
  if (!supervising) {
    supervising = true;
    for (const signal of ["SIGINT", "SIGTERM"] as const)
      process.on(signal, () => {
        const code = signal === "SIGINT" ? 130 : 143;
        if (interrupted) process.exit(code);
        interrupted = signal;
        process.exitCode = code;
        progress(
          `${signal}: stopping ${children.size} child process(es), then cleaning up (again: exit at once)`,
        );
        for (const running of children) running.kill("SIGTERM");
        setTimeout(() => process.exit(code), 30_000).unref();
      });
  }
  if (interrupted) child.kill("SIGTERM");
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${text}"`);
  return value;
}

export interface ServiceOptions {
  readonly dataDir: string;
  /** PostgreSQL; PGlite in dataDir when absent. */
  readonly databaseUrl?: string | undefined;
  /** CA_KEYSTORE (a PKCS#11 URI); the software key store when absent. */
  readonly keyStoreUri?: string | undefined;
  /** Further environment variables of the service. */
  readonly env?: Readonly<Record<string, string>>;
  /** Node flags for the service only, e.g. "--cpu-prof". */
  readonly nodeArgs?: readonly string[];
}

const READY_IN_A_ROW = 8;

function readyOnNewConnection(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpGet({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on("error", () => resolve(false));
  });
}

/** `ca serve` as a child process, LOG_LEVEL=warn, with a P-256 hierarchy unless told otherwise. */
export class Service {
  private output = "";
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly closed: Promise<void>;
  /** Lines the service logged at warn or above while it ran (LOG_LEVEL=warn). */
  warnings = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
    readonly port: number,
  ) {
    const collect = (chunk: string) => {
      this.output = (this.output + chunk).slice(-64 * 1024);
      this.warnings += chunk.split("\n").filter((line) => /"level":\s*(40|50|60)/.test(line)).length;
    };
    child.stdout!.setEncoding("utf8").on("data", collect);
    child.stderr!.setEncoding("utf8").on("data", collect);
    this.closed = new Promise((resolve) =>
      child.on("close", (code, signal) => {
        this.exited = { code, signal };
        resolve();
      }),
    );
  }

  static async start(options: ServiceOptions): Promise<Service> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      CA_DATA_DIR: options.dataDir,
      LOG_LEVEL: "warn",
      CA_KEY_ALGORITHM: "ecdsa-p256",
      CA_MTLS_PORT: "0", // the benchmarks measure the main listener; a fixed second port could collide
    };
    for (const name of ["DATABASE_URL", "CA_KEYSTORE", "CA_KEK", "CA_PUBLIC_URL"]) delete env[name];
    if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
    if (options.keyStoreUri) env.CA_KEYSTORE = options.keyStoreUri;
    Object.assign(env, options.env);
    const child = supervised(
      spawn(process.execPath, [...(options.nodeArgs ?? []), join(ROOT, "bin/ca.mjs"), "serve"], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    const service = new Service(child, `http://127.0.0.1:${port}`, port);
    await service.waitReady(180_000);
    return service;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited)
        throw new Error(
          `the service exited (${JSON.stringify(this.exited)}) before it was ready:\n${this.output}`,
        );
      // Ready when every worker is: /readyz on new connections (node:cluster hands them to the
      // workers in turn) until READY_IN_A_ROW answers in a row say so.
      let inARow = 0;
      while (inARow < READY_IN_A_ROW && (await readyOnNewConnection(this.port))) inARow++;
      if (inARow === READY_IN_A_ROW) return;
      await sleep(200);
    }
    throw new Error(`the service was not ready within ${timeoutMs / 1000} s:\n${this.output}`);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get log(): string {
    return this.output;
  }

  /** SIGTERM (graceful: finishes requests in flight, closes the database), then SIGKILL. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exited) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 30_000);
      await this.closed;
      clearTimeout(timer);
    }
    return this.exited!;
  }
}

/** Stops a child process of a bench (`kill`) and waits until it has exited; nothing once it has. */
export async function stopChild(
  child: ChildProcess,
  kill: () => void = () => child.kill("SIGTERM"),
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  kill();
  await exited;
}

/** `openssl req` arguments for a self-signed P-256 key and certificate (the benches' OpenSSL CAs and responders). */
export function opensslSelfSignedP256(subject: string, keyPath: string, certificatePath: string): string[] {
  return [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    subject,
    "-keyout",
    keyPath,
    "-out",
    certificatePath,
    "-days",
    "30",
  ];
}

/** A Markdown table, columns padded to their widest cell; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  return [
    line(rows[0]!),
    `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

/** The machine and tools a result was measured with. */
export async function environment() {
  const wrkVersion = await promisify(execFile)("wrk", ["--version"]).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string }) => error.stdout ?? "",
  );
  return {
    node: process.version,
    openssl: process.versions.openssl,
    os: `${process.platform} ${release()}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    wrk: wrkVersion.split("\n")[0]!.trim(),
  };
}
