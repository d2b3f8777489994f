/** `ca init` and `ca serve`. */
import { userInfo } from "node:os";
import type { KeyAlgorithm } from "../../hsm-adapters/key-store.js";
import { KEY_ALGORITHMS } from "../../hsm-adapters/key-store.js";
import { cliActor } from "../auth/principal.js";
import { loadConfig } from "../config.js";
import { openContext, type ServiceContext } from "../context.js";
import { startServer } from "../server.js";
import { initialize, type SetupReport } from "../setup.js";
import { type Command, print, UsageError } from "./command.js";
import { withContext } from "./context.js";

function report(context: ServiceContext, result: SetupReport): void {
  for (const id of result.issuersCreated) {
    const issuer = context.issuers.get(id);
    print(
      `created ${issuer.row.kind} CA "${id}" (${issuer.row.key_algorithm}, key "${issuer.row.key_label}" in the ${context.keyStore.kind} key store), valid until ${issuer.row.not_after.toISOString()}`,
    );
  }
  if (result.bootstrapKeyFile)
    print(
      `bootstrap security-admin API key written to ${result.bootstrapKeyFile} (mode 0600; shown nowhere else)`,
    );
}

function algorithmOption(value: unknown): KeyAlgorithm | undefined {
  if (value === undefined) return undefined;
  if (!KEY_ALGORITHMS.includes(value as KeyAlgorithm))
    throw new UsageError(`--algorithm must be one of ${KEY_ALGORITHMS.join(", ")}`);
  return value as KeyAlgorithm;
}

export const initCommand: Command = {
  path: ["init"],
  summary:
    "Create the database schema, default profiles, the root org unit, a root CA and an issuing CA (keys in the configured key store), and a bootstrap security-admin API key. Steps already done are skipped.",
  usage: "[--algorithm ecdsa-p256|ecdsa-p384|rsa-2048|rsa-3072|rsa-4096|ed25519]",
  options: { algorithm: { type: "string" } },
  help: { "--algorithm ALG": "CA key algorithm (default: CA_KEY_ALGORITHM or ecdsa-p256)" },
  async run(values) {
    const algorithm = algorithmOption(values.algorithm);
    return withContext(async (context, actor) => {
      const result = await initialize(context, actor, {
        ...(algorithm ? { algorithm } : {}),
        onStep: (message) => print(message),
      });
      report(context, result);
      print(
        `ready: ${context.issuers.all().length} CA certificate(s), ${context.profiles.all().length} profile(s)`,
      );
      return 0;
    });
  },
};

export const serveCommand: Command = {
  path: ["serve"],
  summary: "Start the HTTP service (initializing on first start, as `ca init` does).",
  usage: "",
  options: {},
  help: {},
  async run() {
    const config = loadConfig();
    const context = await openContext(config);
    try {
      report(
        context,
        await initialize(context, cliActor(userInfo().username), { onStep: (message) => print(message) }),
      );
      const app = await startServer(context);
      print(
        `listening on http://${config.host}:${config.port} (public URL ${config.publicBaseUrl}; API docs at /docs)`,
      );
      void app;
      return await new Promise<number>(() => undefined); // runs until a signal stops it
    } catch (error) {
      await context.close();
      throw error;
    }
  },
};
