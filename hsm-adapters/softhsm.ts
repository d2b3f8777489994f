/**
 * Throwaway SoftHSMv2 tokens for tests and the local demo: each has its own softhsm2.conf
 * and token directory, a random user PIN in a 0600 file, and a PKCS#11 URI that names them.
 * softhsm2-util takes the PINs as arguments once, at token creation on this machine; the
 * service itself reads the PIN from the file.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { KeyStoreError } from "./key-store.js";

const run = promisify(execFile);

const MODULE_CANDIDATES = [
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/local/lib/softhsm/libsofthsm2.so",
];

/** The SoftHSMv2 PKCS#11 module; throws (never skips) when SoftHSM is not installed. */
export async function softHsmModule(): Promise<string> {
  for (const candidate of MODULE_CANDIDATES) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try the next location
    }
  }
  throw new KeyStoreError(
    "bad-configuration",
    `SoftHSMv2 is not installed (looked for ${MODULE_CANDIDATES.join(", ")}): apt-get install softhsm2`,
  );
}

export interface SoftHsmToken {
  readonly label: string;
  readonly directory: string;
  readonly configPath: string;
  readonly tokenDirectory: string;
  readonly pinFile: string;
  readonly modulePath: string;
  /** The key store URI, with `extra` query attributes such as x-pool-size=4. */
  uri(extra?: Record<string, string | number>): string;
}

export async function createSoftHsmToken(options: {
  directory: string;
  label: string;
}): Promise<SoftHsmToken> {
  const directory = resolve(options.directory);
  const tokenDirectory = join(directory, "tokens");
  const configPath = join(directory, "softhsm2.conf");
  const pinFile = join(directory, "user.pin");
  await mkdir(tokenDirectory, { recursive: true, mode: 0o700 });
  await writeFile(
    configPath,
    `directories.tokendir = ${tokenDirectory}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    {
      mode: 0o600,
    },
  );
  const userPin = randomBytes(12).toString("hex");
  const soPin = randomBytes(12).toString("hex");
  await writeFile(pinFile, `${userPin}\n`, { mode: 0o600 });
  const modulePath = await softHsmModule();
  try {
    await run(
      "softhsm2-util",
      ["--init-token", "--free", "--label", options.label, "--so-pin", soPin, "--pin", userPin],
      {
        env: { ...process.env, SOFTHSM2_CONF: configPath },
      },
    );
  } catch (error) {
    throw new KeyStoreError(
      "bad-configuration",
      `softhsm2-util could not create token "${options.label}": ${(error as Error).message}`,
    );
  }
  return {
    label: options.label,
    directory,
    configPath,
    tokenDirectory,
    pinFile,
    modulePath,
    uri(extra = {}) {
      const query = new URLSearchParams({
        "module-path": modulePath,
        "pin-source": `file:${pinFile}`,
        "x-softhsm2-conf": configPath,
        ...Object.fromEntries(Object.entries(extra).map(([key, value]) => [key, String(value)])),
      });
      return `pkcs11:token=${encodeURIComponent(options.label)}?${query.toString().replaceAll("%2F", "/").replaceAll("%3A", ":")}`;
    },
  };
}
