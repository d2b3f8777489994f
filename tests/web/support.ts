/**
 * What the browser crypto tests share: a loopback server that serves src/web/assets under
 * the portal's CSP with a page loading the modules, Chromium on that page, and the real
 * peers (openssl, python3 cryptography) the results are checked with.
 */
import { execFile } from "node:child_process";
import type { webcrypto } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import type * as csr from "../../src/web/assets/js/csr.js";
import type * as der from "../../src/web/assets/js/der.js";
import type * as vault from "../../src/web/assets/js/key-vault.js";
import type * as pkcs12 from "../../src/web/assets/js/pkcs12.js";
import { type Browser, launchBrowser } from "../helpers/browser.js";
import { type StaticServer, startStaticServer } from "../helpers/static-server.js";

const ASSETS = fileURLToPath(new URL("../../src/web/assets/", import.meta.url));
const PAGE_SCRIPTS = fileURLToPath(new URL("./page/", import.meta.url));

/** What the test page puts on `globalThis` (read inside `page.evaluate` callbacks). */
export interface PageGlobals {
  modules: { csr: typeof csr; der: typeof der; pkcs12: typeof pkcs12; vault: typeof vault };
  /** Key pairs generated in the page, by test-chosen name, for later steps. */
  keyPairs: Record<string, webcrypto.CryptoKeyPair>;
  modulesReady: boolean;
  cspViolations: string[];
  inlineScriptRan?: boolean;
}

// The inline script is the canary: under `script-src 'self'` it must not run.
const TEST_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>browser crypto</title>
<script src="/test/violations.js"></script>
<script>globalThis.inlineScriptRan = true;</script>
<script type="module" src="/test/modules.js"></script>
</head><body></body></html>`;

export interface CryptoPage {
  readonly page: Page;
  readonly origin: string;
  /** Loads (or reloads) the test page and waits for the modules. */
  load(): Promise<void>;
  close(): Promise<void>;
}

export async function openCryptoPage(): Promise<CryptoPage> {
  const server: StaticServer = await startStaticServer({
    mounts: { "/assets/": ASSETS, "/test/": PAGE_SCRIPTS },
    pages: { "/": TEST_PAGE, "/favicon.ico": "" },
  });
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`${message.text()} (${message.location().url})`);
    });
    // Module scripts run before the load event (HTML §8.1.4.3, deferred), which goto awaits.
    const load = async () => {
      errors.length = 0;
      await page.goto(`${server.origin}/`, { waitUntil: "load" });
      const ready = await page.evaluate(() => (globalThis as unknown as PageGlobals).modulesReady === true);
      if (!ready)
        throw new Error(
          `the crypto modules did not load under the CSP: ${errors.join("; ") || "no page error"}`,
        );
    };
    await load();
    const opened = browser;
    return {
      page,
      origin: server.origin,
      load,
      async close() {
        await opened.close();
        await server.close();
      },
    };
  } catch (error) {
    await browser?.close();
    await server.close();
    throw error;
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program without a shell; never throws on a non-zero exit. */
export function run(
  file: string,
  args: readonly string[],
  options: { input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") return reject(error);
      resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a program and throws with its stderr unless it exits 0. */
export async function runOk(file: string, args: readonly string[], options: { input?: string } = {}) {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return result;
}

export interface ThrowawayCa {
  readonly dir: string;
  readonly certificatePem: string;
  /** Signs a PEM CSR with `openssl x509 -req`; returns the certificate as DER. */
  sign(csrPem: string): Promise<Buffer>;
  remove(): Promise<void>;
}

/** A one-day P-256 CA made by openssl in a temporary directory. */
export async function createThrowawayCa(): Promise<ThrowawayCa> {
  const dir = await mkdtemp(join(tmpdir(), "browser-crypto-ca-"));
  const key = join(dir, "ca.key");
  const certificate = join(dir, "ca.pem");
  await runOk("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
    "-out",
    certificate,
    "-subj",
    "/CN=Browser Test CA",
    "-days",
    "1",
  ]);
  let counter = 0;
  return {
    dir,
    certificatePem: await readFile(certificate, "utf8"),
    async sign(csrPem) {
      counter++;
      const csrFile = join(dir, `leaf-${counter}.csr`);
      const out = join(dir, `leaf-${counter}.der`);
      await writeFile(csrFile, csrPem);
      await runOk("openssl", [
        "x509",
        "-req",
        "-in",
        csrFile,
        "-CA",
        certificate,
        "-CAkey",
        key,
        "-set_serial",
        `${1000 + counter}`,
        "-days",
        "1",
        "-sha256",
        "-outform",
        "DER",
        "-out",
        out,
      ]);
      return readFile(out);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
