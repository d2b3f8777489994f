/**
 * The PKCS#11 adapter under real token faults on SoftHSMv2, mid-load: sessions closed under
 * it, the token directory moved away and back, another key put under the same label, and a
 * token whose private key does not match its public key. No crash; failed calls say
 * `unavailable`; signing resumes by itself; and no signature is ever made with a key other than
 * the one on record, nor handed out when it does not verify.
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

interface ImpostorTools {
  softhsmUtil(args: string[]): Promise<unknown>;
  pkcs11Tool(args: string[]): Promise<unknown>;
  /** Writes a file in the test's directory (mode 0600) and returns its path. */
  file(name: string, contents: string | Uint8Array): Promise<string>;
  /** A new P-256 private key (PKCS#8 PEM) written to a file in the test's directory; its path. */
  anotherKey(): Promise<string>;
}

interface LoadReport {
  ok: number;
  badSignatures: number;
  errors: Map<string, number>;
}

/**
 * Signs continuously with `workers` concurrent callers until stop() is called. pause() resolves
 * once every caller is parked between calls, so no token call is in flight until resume().
 */
function signingLoad(store: KeyStore, key: KeyInfo, workers: number) {
  const report: LoadReport = { ok: 0, badSignatures: 0, errors: new Map() };
  let running = true;
  let counter = 0;
  let gate: Promise<void> | undefined;
  let openGate = () => {};
  let parked = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      if (gate !== undefined) {
        parked++;
        await gate;
        parked--;
      }
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
    async pause() {
      gate = new Promise((resolve) => {
        openGate = resolve;
      });
      await until(() => parked === workers, 10_000, "every signer to park");
    },
    resume() {
      gate = undefined;
      openGate();
    },
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
    // The sessions are closed while no call is in flight: SoftHSM frees a session's objects on
    // close, so closing one under a running C_Sign on another thread is a use-after-free in the
    // library (a segfault, seen in CI), not a fault any adapter could handle. Every signer then
    // finds its session handle invalid at once, and all of them must share one reconnect.
    for (let i = 0; i < 5; i++) {
      await load.pause();
      module.C_CloseAllSessions(slot);
      load.resume();
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

  /**
   * Another token with the same label and PIN, filled by `fill` through softhsm2-util or
   * pkcs11-tool in other processes, swapped in for the real one while the service runs.
   */
  const swapInImpostor = async (fill: (tool: ImpostorTools) => Promise<unknown>) => {
    const impostor = join(directory, "impostor-tokens");
    await mkdir(impostor);
    const env = { ...process.env, SOFTHSM2_CONF: join(directory, "impostor.conf") };
    await writeFile(
      env.SOFTHSM2_CONF,
      `directories.tokendir = ${impostor}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    const pin = readFileSync(token.pinFile, "utf8").trim();
    const file = async (name: string, contents: string | Uint8Array) => {
      const path = join(directory, name);
      await writeFile(path, contents, { mode: 0o600 });
      return path;
    };
    await run(
      "softhsm2-util",
      ["--init-token", "--free", "--label", "faults", "--so-pin", "12345678", "--pin", pin],
      { env },
    );
    await fill({
      softhsmUtil: (args) => run("softhsm2-util", [...args, "--token", "faults", "--pin", pin], { env }),
      pkcs11Tool: (args) =>
        run(
          "pkcs11-tool",
          ["--module", token.modulePath, "--token-label", "faults", "--login", "--pin", pin, ...args],
          { env },
        ),
      file,
      anotherKey: () =>
        file(
          "another-key.pem",
          generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
            format: "pem",
            type: "pkcs8",
          }),
        ),
    });
    await rename(token.tokenDirectory, `${token.tokenDirectory}.real`);
    await rename(impostor, token.tokenDirectory);
  };

  /** Signs until an attempt fails with `code` and a message containing `message`; every outcome. */
  const signUntilRefused = async (key: KeyInfo, code: string, message: string) => {
    type Outcome = { signature?: Uint8Array; error?: KeyStoreError };
    const outcomes: Outcome[] = [];
    await until(
      async () => {
        const outcome: Outcome = await store!
          .sign({ label: key.label, algorithm: "ecdsa-sha256", data: Buffer.from("after") })
          .then(
            (signature) => ({ signature }),
            (error: KeyStoreError) => ({ error }),
          );
        outcomes.push(outcome);
        return outcome.error?.code === code && outcome.error.message.includes(message);
      },
      20_000,
      `a signature to be refused with ${code}: ${message}`,
    );
    return outcomes;
  };

  it("refuses to sign with another key put on the token under the same label", async () => {
    const key = await setUp();
    await store!.sign({ label: key.label, algorithm: "ecdsa-sha256", data: Buffer.from("before") });
    await swapInImpostor(({ softhsmUtil, anotherKey }) =>
      anotherKey().then((path) => softhsmUtil(["--import", path, "--label", "issuing", "--id", "01"])),
    );
    const outcomes = await signUntilRefused(key, "integrity", "not the key on record");
    expect(outcomes.filter((outcome) => outcome.signature)).toEqual([]); // never the impostor's key
    const error = await store!
      .sign({ label: key.label, algorithm: "ecdsa-sha256", data: Buffer.from("x") })
      .catch((e: unknown) => e);
    expect((error as KeyStoreError).code).toBe("integrity");
  });

  it("never hands out a signature that does not verify: a private key that does not match the public key on record", async () => {
    const key = await setUp();
    await store!.sign({ label: key.label, algorithm: "ecdsa-sha256", data: Buffer.from("before") });
    // The token's public key object is the one on record, so the adapter's key check passes,
    // but the private key beside it is another: only verify-after-sign (the default,
    // x-verify-signatures=all) stands between the token's output and the caller.
    await swapInImpostor(async ({ pkcs11Tool, file, anotherKey }) => {
      const label = ["--label", "issuing", "--id", "01"];
      await pkcs11Tool([
        "--write-object",
        await file("on-record.der", key.spki),
        "--type",
        "pubkey",
        ...label,
      ]);
      await pkcs11Tool(["--write-object", await anotherKey(), "--type", "privkey", ...label]);
    });
    const outcomes = await signUntilRefused(key, "unavailable", "does not verify (device fault); refused");
    for (const { signature } of outcomes.filter((outcome) => outcome.signature))
      expect(verifyWithSpki(key.spki, "ecdsa-sha256", Buffer.from("after"), signature!)).toBe(true);
    await expect(store!.getKey({ label: key.label })).resolves.toMatchObject({ spki: key.spki });
  });

  it("allows one key store per PKCS#11 module in a process", async () => {
    await setUp();
    const error = await openKeyStore(token.uri()).catch((e: unknown) => e);
    expect((error as KeyStoreError).code).toBe("bad-configuration");
    expect((error as KeyStoreError).message).toContain("already in use");
  });
});
