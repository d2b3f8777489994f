/**
 * The PKCS#11 adapter under real token faults on SoftHSMv2, mid-load: sessions closed under
 * it, the token directory moved away and back, and another key put under the same label.
 * No crash; failed calls say `unavailable`; signing resumes by itself; and no signature is
 * ever made with a key other than the one on record.
 */

import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { type KeyInfo, type KeyStore, KeyStoreError } from "../../hsm-adapters/key-store.js";
import { openKeyStore } from "../../hsm-adapters/open.js";
import { pkcs11 } from "../../hsm-adapters/pkcs11/native.js";
import { createSoftHsmToken, type SoftHsmToken } from "../../hsm-adapters/softhsm.js";
import { verifyWithSpki } from "./key-store-contract.js";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LoadReport {
  ok: number;
  badSignatures: number;
  errors: Map<string, number>;
}

/** Signs continuously with `workers` concurrent callers until stop() is called. */
function signingLoad(store: KeyStore, key: KeyInfo, workers: number) {
  const report: LoadReport = { ok: 0, badSignatures: 0, errors: new Map() };
  let running = true;
  let counter = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const data = Buffer.from(`load ${counter++}`);
      try {
        const signature = await store.sign({ label: key.label, algorithm: "ecdsa-sha256", data });
        if (verifyWithSpki(key.spki, "ecdsa-sha256", data, signature)) report.ok++;
        else report.badSignatures++;
      } catch (error) {
        const code =
          error instanceof KeyStoreError
            ? error.code
            : `untyped ${(error as Error).constructor.name}: ${(error as Error).message}`;
        report.errors.set(code, (report.errors.get(code) ?? 0) + 1);
        await sleep(2);
      }
    }
  });
  return {
    report,
    async stop() {
      running = false;
      await Promise.all(loops);
      return report;
    },
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("PKCS#11 adapter under token faults (SoftHSMv2)", () => {
  let directory: string;
  let token: SoftHsmToken;
  let store: KeyStore | undefined;

  afterEach(async () => {
    await store?.close();
    await rm(directory, { recursive: true, force: true });
  });

  const setUp = async () => {
    directory = await mkdtemp(join(tmpdir(), "softhsm-faults-"));
    token = await createSoftHsmToken({ directory, label: "faults" });
    store = await openKeyStore(token.uri({ "x-pool-size": 4, "x-probe-seconds": 1 }));
    return store.generateKey({ label: "issuing", algorithm: "ecdsa-p256" });
  };

  it("survives all its sessions being closed under it mid-load, retrying transparently", async () => {
    const key = await setUp();
    const load = signingLoad(store!, key, 8);
    await until(() => load.report.ok > 200, 10_000, "signatures before the fault");
    // Another part of the process (or the HSM after an idle timeout) closes every session.
    const module = new pkcs11.PKCS11();
    module.load(token.modulePath);
    try {
      module.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
    } catch {
      // already initialized by the adapter in this process: the same library instance
    }
    const slot = module
      .C_GetSlotList(true)
      .find((s) => module.C_GetTokenInfo(s).label.trimEnd() === "faults")!;
    // Closing sessions under in-flight signatures makes SoftHSM return CKR_OK with garbage now
    // and then: the adapter's verify-after-sign must catch every one (badSignatures stays 0).
    for (let i = 0; i < 5; i++) {
      module.C_CloseAllSessions(slot);
      const before = load.report.ok;
      await until(
        () => load.report.ok > before + 100,
        10_000,
        "signing to resume after the sessions were closed",
      );
    }
    const report = await load.stop();
    expect(report.badSignatures).toBe(0);
    expect([...report.errors.keys()].filter((code) => code !== "unavailable")).toEqual([]);
    expect(report.ok).toBeGreaterThan(500);
  });

  it("fails fast while the token directory is gone and resumes by itself when it is back", async () => {
    const key = await setUp();
    const load = signingLoad(store!, key, 8);
    await until(() => load.report.ok > 200, 10_000, "signatures before the fault");
    await rename(token.tokenDirectory, `${token.tokenDirectory}.away`);
    await until(
      () => (load.report.errors.get("unavailable") ?? 0) > 0,
      15_000,
      "calls to fail with unavailable",
    );
    const failingSince = Date.now();
    const started = performance.now();
    const error = await store!
      .sign({ label: key.label, algorithm: "ecdsa-sha256", data: Buffer.from("x") })
      .catch((e: unknown) => e);
    expect((error as KeyStoreError).code).toBe("unavailable");
    expect(performance.now() - started).toBeLessThan(1000); // fail fast, no hanging request
    await expect(store!.probe()).rejects.toMatchObject({ code: "unavailable" });
    await sleep(Math.max(0, 500 - (Date.now() - failingSince)));
    const okWhileAway = load.report.ok;
    await rename(`${token.tokenDirectory}.away`, token.tokenDirectory);
    await until(() => load.report.ok > okWhileAway + 200, 20_000, "signing to resume without a restart");
    await expect(store!.probe()).resolves.toBeUndefined();
    const report = await load.stop();
    expect(report.badSignatures).toBe(0);
    expect([...report.errors.keys()].filter((code) => code !== "unavailable")).toEqual([]);
  });

  it("refuses to sign with another key put on the token under the same label", async () => {
    const key = await setUp();
    await store!.sign({ label: key.label, algorithm: "ecdsa-sha256", data: Buffer.from("before") });
    // An impostor token with the same token label, the same PIN and a different key labelled
    // "issuing", made with softhsm2-util in other processes, swapped in while the service runs.
    const impostor = join(directory, "impostor-tokens");
    await mkdir(impostor);
    const env = { ...process.env, SOFTHSM2_CONF: join(directory, "impostor.conf") };
    await writeFile(
      env.SOFTHSM2_CONF,
      `directories.tokendir = ${impostor}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    const pin = readFileSync(token.pinFile, "utf8").trim();
    await run(
      "softhsm2-util",
      ["--init-token", "--free", "--label", "faults", "--so-pin", "12345678", "--pin", pin],
      { env },
    );
    const impostorKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      format: "pem",
      type: "pkcs8",
    });
    await writeFile(join(directory, "impostor.pem"), impostorKey, { mode: 0o600 });
    await run(
      "softhsm2-util",
      [
        "--import",
        join(directory, "impostor.pem"),
        "--token",
        "faults",
        "--label",
        "issuing",
        "--id",
        "01",
        "--pin",
        pin,
      ],
      { env },
    );

    await rename(token.tokenDirectory, `${token.tokenDirectory}.real`);
    await rename(impostor, token.tokenDirectory);
    const outcomes = new Set<string>();
    await until(
      async () => {
        const outcome = await store!
          .sign({ label: key.label, algorithm: "ecdsa-sha256", data: Buffer.from("after") })
          .then(
            () => "signed",
            (e: KeyStoreError) => e.code,
          );
        outcomes.add(outcome);
        return outcome === "integrity";
      },
      20_000,
      "the adapter to notice the key under the label changed",
    );
    expect(outcomes.has("signed")).toBe(false); // never a signature with the impostor's key
    const error = await store!
      .sign({ label: key.label, algorithm: "ecdsa-sha256", data: Buffer.from("x") })
      .catch((e: unknown) => e);
    expect((error as KeyStoreError).code).toBe("integrity");
    expect((error as KeyStoreError).message).toContain("not the key on record");
  });

  it("allows one key store per PKCS#11 module in a process", async () => {
    await setUp();
    const error = await openKeyStore(token.uri()).catch((e: unknown) => e);
    expect((error as KeyStoreError).code).toBe("bad-configuration");
    expect((error as KeyStoreError).message).toContain("already in use");
  });
});
