/**
 * `ca init --keystore softhsm`: a throwaway SoftHSMv2 token in the data directory, recorded
 * as the key store of this data directory, so that every CA key is generated on a real
 * PKCS#11 token. Refused once a CA hierarchy exists (its keys live in the other store).
 */
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createSoftHsmToken } from "../../hsm-adapters/softhsm.js";
import { type Config, KEYSTORE_FILE } from "../config.js";
import { print, UsageError } from "./command.js";

export async function createDemoToken(config: Config): Promise<void> {
  if (process.env.CA_KEYSTORE)
    throw new UsageError("--keystore softhsm conflicts with CA_KEYSTORE: unset one of them");
  const recorded = join(config.dataDir, KEYSTORE_FILE);
  if (await exists(recorded)) {
    print(`using the SoftHSM token recorded in ${recorded}`);
    return;
  }
  if ((await exists(join(config.dataDir, "db"))) || config.databaseUrl)
    throw new UsageError(
      "--keystore softhsm only applies to a new data directory without a database: the existing CA keys live in another key store",
    );
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const token = await createSoftHsmToken({
    directory: join(config.dataDir, "softhsm"),
    label: "gov-ca-demo",
  });
  const uri = token.uri();
  await writeFile(recorded, `${uri}\n`, { mode: 0o600 });
  print(`created SoftHSMv2 token "gov-ca-demo" in ${token.directory}; key store: ${uri}`);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
