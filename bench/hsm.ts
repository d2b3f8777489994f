/**
 * npm run bench:hsm — signatures per second through the PKCS#11 adapter on SoftHSMv2, for
 * P-256 and RSA-2048 at concurrency 1, 2, 8 and 32, next to raw pkcs11js in the same run:
 * a synchronous C_Sign loop on one session, and C_SignAsync on N sessions (what the adapter
 * does, without its pool, key checks and verify-after-sign); and the software key store.
 * Prints a table and writes bench/results/hsm-<time>.json. BENCH_SECONDS sets each cell's time.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeyAlgorithm, KeyStore, SignatureAlgorithm } from "../hsm-adapters/key-store.js";
import { openKeyStore } from "../hsm-adapters/open.js";
import { keyPairTemplates, signatureLength, signingMechanism } from "../hsm-adapters/pkcs11/keys.js";
import { type Handle, pkcs11 } from "../hsm-adapters/pkcs11/native.js";
import { createSoftHsmToken } from "../hsm-adapters/softhsm.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = [1, 2, 8, 32];
const ALGORITHMS: { key: KeyAlgorithm; signature: SignatureAlgorithm }[] = [
  { key: "ecdsa-p256", signature: "ecdsa-sha256" },
  { key: "rsa-2048", signature: "rsa-pkcs1-sha256" },
];
const DATA = Buffer.alloc(300, 7); // about the size of a TBSCertificate

const progress = (text: string) => process.stderr.write(`${text}\n`);

/** Runs `operation` from `concurrency` loops for SECONDS; returns operations per second. */
async function rate(concurrency: number, operation: (loop: number) => Promise<unknown>): Promise<number> {
  let count = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      while (performance.now() < deadline) {
        await operation(loop);
        count++;
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

function syncRate(operation: () => void): number {
  let count = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  while (performance.now() < deadline) {
    operation();
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}

interface Row {
  algorithm: KeyAlgorithm;
  concurrency: number;
  rawSync: number;
  rawAsync: number;
  adapter: number;
  adapterRsaVerifyOnly: number;
  software: number;
}

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), "bench-hsm-"));
  const rows: Row[] = [];
  try {
    const token = await createSoftHsmToken({ directory: join(directory, "token"), label: "bench" });
    const software = await openKeyStore(`software:${join(directory, "software")}`);
    const labels = new Map<KeyAlgorithm, string>();

    // Raw pkcs11js first (the adapter owns the module once it is open).
    process.env.SOFTHSM2_CONF = token.configPath;
    const module = new pkcs11.PKCS11();
    module.load(token.modulePath);
    module.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
    const slot = module
      .C_GetSlotList(true)
      .find((s) => module.C_GetTokenInfo(s).label.trimEnd() === "bench")!;
    const sessions: Handle[] = Array.from({ length: 32 }, () =>
      module.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION),
    );
    module.C_Login(sessions[0]!, 1, (await readFile(token.pinFile, "utf8")).trim());
    const raw = new Map<string, { sync: number; async: Map<number, number> }>();
    for (const { key, signature } of ALGORITHMS) {
      const label = `bench-${key}`;
      labels.set(key, label);
      const templates = keyPairTemplates(label, key);
      const pair = module.C_GenerateKeyPair(
        sessions[0]!,
        templates.mechanism,
        templates.publicTemplate,
        templates.privateTemplate,
      );
      const { mechanism, input } = signingMechanism(signature, DATA);
      const length = signatureLength(key);
      progress(`raw pkcs11js ${key}: synchronous C_Sign loop on one session`);
      const sync = syncRate(() => {
        const digest = key.startsWith("ecdsa") ? createHash("sha256").update(DATA).digest() : input;
        module.C_SignInit(sessions[0]!, mechanism, pair.privateKey);
        module.C_Sign(sessions[0]!, digest, Buffer.alloc(length));
      });
      const asyncRates = new Map<number, number>();
      for (const concurrency of CONCURRENCY) {
        progress(`raw pkcs11js ${key}: C_SignAsync on ${concurrency} session(s)`);
        asyncRates.set(
          concurrency,
          // Each loop owns one session: a session runs one operation at a time.
          await rate(concurrency, async (loop) => {
            const session = sessions[loop]!;
            const digest = key.startsWith("ecdsa") ? createHash("sha256").update(DATA).digest() : input;
            module.C_SignInit(session, mechanism, pair.privateKey);
            await module.C_SignAsync(session, digest, Buffer.alloc(length));
          }),
        );
      }
      raw.set(key, { sync, async: asyncRates });
      await software.generateKey({ label, algorithm: key });
    }
    for (const session of sessions) module.C_CloseSession(session);
    module.C_Finalize();
    module.close();

    // The adapter as configured by default (every signature verified on the host before use),
    // then with x-verify-signatures=rsa; one key store per module at a time.
    const adapterRates = new Map<string, number>();
    for (const policy of ["all", "rsa"] as const) {
      const adapter: KeyStore = await openKeyStore(
        token.uri({ "x-pool-size": 32, "x-verify-signatures": policy }),
      );
      for (const { key, signature } of ALGORITHMS)
        for (const concurrency of CONCURRENCY) {
          progress(`adapter (verify ${policy}) ${key} at concurrency ${concurrency}`);
          adapterRates.set(
            `${policy}/${key}/${concurrency}`,
            await rate(concurrency, () =>
              adapter.sign({ label: labels.get(key)!, algorithm: signature, data: DATA }),
            ),
          );
        }
      await adapter.close();
    }
    for (const { key, signature } of ALGORITHMS) {
      const label = labels.get(key)!;
      for (const concurrency of CONCURRENCY) {
        progress(`software store ${key} at concurrency ${concurrency}`);
        rows.push({
          algorithm: key,
          concurrency,
          rawSync: raw.get(key)!.sync,
          rawAsync: raw.get(key)!.async.get(concurrency)!,
          adapter: adapterRates.get(`all/${key}/${concurrency}`)!,
          adapterRsaVerifyOnly: adapterRates.get(`rsa/${key}/${concurrency}`)!,
          software: await rate(concurrency, () => software.sign({ label, algorithm: signature, data: DATA })),
        });
      }
    }
    await software.close();
  } finally {
    await rm(directory, { recursive: true, force: true });
  }

  const format = (n: number) => Math.round(n).toLocaleString("en-US");
  const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(0)}%`;
  console.log(`\nSignatures per second, ${SECONDS} s per cell, SoftHSMv2 via PKCS#11, same run\n`);
  console.log(
    "| algorithm | conc | raw C_Sign, 1 session | raw C_SignAsync, N sessions | adapter (verify all) | vs raw async | adapter (verify rsa) | vs raw async | software store |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const row of rows)
    console.log(
      `| ${row.algorithm} | ${row.concurrency} | ${format(row.rawSync)} | ${format(row.rawAsync)} | ${format(row.adapter)} | ${percent(row.adapter, row.rawAsync)} | ${format(row.adapterRsaVerifyOnly)} | ${percent(row.adapterRsaVerifyOnly, row.rawAsync)} | ${format(row.software)} |`,
    );
  console.log(
    "\nverify all: every token signature is verified on the host before use (the default); verify rsa: RSA signatures only (x-verify-signatures=rsa).",
  );
  await mkdir(new URL("./results/", import.meta.url), { recursive: true });
  const file = new URL(
    `./results/hsm-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
    import.meta.url,
  );
  await writeFile(file, JSON.stringify({ seconds: SECONDS, rows }, null, 2));
  console.log(`\nwritten to ${file.pathname}`);
}

await main();
