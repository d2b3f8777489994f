/**
 * npm run bench:crl — a complete CRL of 100,000 and 1,000,000 revoked entries: time and peak
 * memory of our generation (reading the entries from PostgreSQL included, in a process of its
 * own), next to `openssl ca -gencrl` on the same entries (its index.txt written from the same
 * rows), measured in the same run. Peak memory is VmHWM from /proc for both. Writes
 * bench/results/crl-<time>.json. BENCH_CRL_SIZES overrides the sizes (e.g. "10000,100000").
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createPostgresDatabase } from "../tests/helpers/databases.js";
import { opensslSelfSignedP256, supervised } from "./service.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SIZES = (process.env.BENCH_CRL_SIZES ?? "100000,1000000").split(",").map(Number);
const progress = (text: string) => process.stderr.write(`[bench] ${text}\n`);

interface Measured {
  seconds: number;
  peakMiB: number;
  output: string;
}

/** Runs a command, polling its peak resident memory (VmHWM), and returns time, peak and stdout. */
function measure(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = supervised(spawn(command, args, { ...options, stdio: ["ignore", "pipe", "inherit"] }));
    let peakKiB = 0;
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const poll = setInterval(() => {
      readFile(`/proc/${child.pid}/status`, "utf8").then(
        (status) => {
          const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
          if (kib > peakKiB) peakKiB = kib;
        },
        () => undefined,
      );
    }, 10);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(poll);
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`${command} exited with ${code}`));
      else resolve({ seconds, peakMiB: peakKiB / 1024, output });
    });
  });
}

const REASONS = [
  "unspecified",
  "keyCompromise",
  "CACompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "certificateHold",
];
const utcTime = (date: Date) => `${date.toISOString().replace(/[-:T]/g, "").slice(2, 14)}Z`;

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), "bench-crl-"));
  const database = await createPostgresDatabase();
  const client = new pg.Client({ connectionString: database.url });
  const env = {
    ...process.env,
    DATABASE_URL: database.url,
    CA_DATA_DIR: join(directory, "data"),
    LOG_LEVEL: "warn",
  };
  const results: Record<string, unknown>[] = [];
  try {
    progress("initializing a CA on PostgreSQL");
    await measure(process.execPath, [join(ROOT, "bin/ca.mjs"), "init"], { cwd: ROOT, env });
    await client.connect();

    // OpenSSL's CA: its own P-256 key and certificate (a benchmark CA), same signature algorithm as ours.
    const openssl = join(directory, "openssl");
    await mkdir(openssl);
    await measure(
      "openssl",
      opensslSelfSignedP256("/CN=bench", join(openssl, "ca.key"), join(openssl, "ca.pem")),
    );
    await writeFile(
      join(openssl, "ca.cnf"),
      `[ ca ]\ndefault_ca = bench\n[ bench ]\ndatabase = ${openssl}/index.txt\ncrlnumber = ${openssl}/crlnumber\ncertificate = ${openssl}/ca.pem\nprivate_key = ${openssl}/ca.key\ndefault_md = sha256\ndefault_crl_days = 1\ncrl_extensions = crl_ext\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n`,
    );

    for (const size of SIZES) {
      progress(`${size.toLocaleString("en-US")} revoked certificates: inserting`);
      await client.query("DELETE FROM certificates WHERE subject = 'CN=bench'");
      await client.query(
        `INSERT INTO certificates (issuer_id, serial, profile, subject, spki_sha256, not_before, not_after, der, issued_at,
                                   status, revoked_at, status_changed_at, revocation_reason)
         SELECT 'issuing-1', md5('bench' || i), 'tls-server', 'CN=bench', '\\x00', now(), now() + interval '300 days', '\\x30', now(),
                'revoked', now() - (i % 1000) * interval '1 minute', now(), (i % 7)::smallint
         FROM generate_series(1, $1::int) AS i`,
        [size],
      );
      await client.query("VACUUM ANALYZE certificates"); // the steady state autovacuum keeps: index-only scans

      progress("writing OpenSSL's index.txt from the same rows");
      const index = createWriteStream(join(openssl, "index.txt"));
      const { rows } = await client.query<{
        serial: string;
        revoked_at: Date;
        reason: number;
        not_after: Date;
      }>(
        "SELECT serial, revoked_at, revocation_reason AS reason, not_after FROM certificates WHERE subject = 'CN=bench'",
      );
      for (const row of rows)
        index.write(
          `R\t${utcTime(row.not_after)}\t${utcTime(row.revoked_at)},${REASONS[row.reason]}\t${row.serial.toUpperCase()}\tunknown\t/CN=bench\n`,
        );
      await new Promise((resolve) => index.end(resolve));
      await writeFile(join(openssl, "crlnumber"), "01\n");

      progress("ours: ca crl generation (reading from PostgreSQL, signing, storing)");
      const ours = await measure(process.execPath, ["--import", "tsx", join(ROOT, "bench/crl-worker.ts")], {
        cwd: ROOT,
        env: { ...env, BENCH_OUT: join(directory, "ours.crl") },
      });
      const report = JSON.parse(ours.output.trim().split("\n").at(-1)!) as {
        seconds: number;
        entries: number;
        bytes: number;
      };
      progress("OpenSSL: openssl ca -gencrl");
      const theirs = await measure(
        "openssl",
        ["ca", "-gencrl", "-config", join(openssl, "ca.cnf"), "-out", join(openssl, "crl.pem")],
        { cwd: openssl },
      );
      const pem = await readFile(join(openssl, "crl.pem"), "utf8"); // `openssl ca` writes PEM only
      const theirBytes = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64").length;
      results.push({
        entries: size,
        ours: { ...report, processSeconds: ours.seconds, peakMiB: ours.peakMiB },
        openssl: { seconds: theirs.seconds, peakMiB: theirs.peakMiB, bytes: theirBytes },
      });
    }
  } finally {
    await client.end().catch(() => undefined);
    await database.drop();
    await rm(directory, { recursive: true, force: true });
  }

  const fmt = (n: number, digits = 2) => n.toFixed(digits);
  console.log(
    "\nComplete CRL generation, P-256 signature, entries read from PostgreSQL (ours) or index.txt (OpenSSL)\n",
  );
  console.log(
    "| entries | ours: generate s | ours: process s | ours: peak MiB | openssl ca -gencrl s | openssl peak MiB | time vs OpenSSL | memory vs OpenSSL | CRL bytes (ours / OpenSSL) |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const result of results as {
    entries: number;
    ours: { seconds: number; processSeconds: number; peakMiB: number; bytes: number; entries: number };
    openssl: { seconds: number; peakMiB: number; bytes: number };
  }[])
    console.log(
      `| ${result.entries.toLocaleString("en-US")} | ${fmt(result.ours.seconds)} | ${fmt(result.ours.processSeconds)} | ${fmt(result.ours.peakMiB, 0)} | ${fmt(result.openssl.seconds)} | ${fmt(result.openssl.peakMiB, 0)} | ${fmt(result.openssl.seconds / result.ours.processSeconds, 1)}x faster | ${fmt(result.openssl.peakMiB / result.ours.peakMiB, 1)}x leaner | ${result.ours.bytes.toLocaleString("en-US")} / ${result.openssl.bytes.toLocaleString("en-US")} |`,
    );
  console.log(
    "\nours: generate s is the generation alone (query, encode, sign, store); process s adds starting Node and opening the service.",
  );
  await mkdir(new URL("./results/", import.meta.url), { recursive: true });
  const file = new URL(
    `./results/crl-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
    import.meta.url,
  );
  await writeFile(file, JSON.stringify({ results }, null, 2));
  console.log(`written to ${file.pathname}`);
}

await main();
