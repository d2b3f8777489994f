/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core,
 * with a fresh profile per launch that is deleted on close. A missing browser is an error,
 * never a skipped test.
 */
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where tests may write screenshots and traces (ignored by git). */
export const ARTIFACTS_DIR = join(import.meta.dirname, "..", "artifacts");

export interface Browser {
  readonly context: BrowserContext;
  /** A new tab in the browser's one persistent profile. */
  newPage(): Promise<Page>;
  /** Closes the browser and deletes its profile directory. */
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is required for the browser tests but ${CHROMIUM_PATH} is missing or not executable: ` +
        "install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH",
    );
  }
  const userDataDir = await mkdtemp(join(tmpdir(), "gov-ca-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw new Error(`could not launch Chromium at ${CHROMIUM_PATH}: ${(error as Error).message}`);
  }
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
