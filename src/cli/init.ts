/** `ca init` and `ca serve`. */
import cluster from "node:cluster";
import { userInfo } from "node:os";
import type { KeyAlgorithm } from "../../hsm-adapters/key-store.js";
import { KEY_ALGORITHMS } from "../../hsm-adapters/key-store.js";
import { cliActor } from "../auth/principal.js";
import { superviseWorkers } from "../cluster.js";
import { loadConfig } from "../config.js";
import { openContext, type ServiceContext } from "../context.js";
import { startServer } from "../server.js";
import { initialize, type SetupReport } from "../setup.js";
import { type Command, print, UsageError } from "./command.js";
import { withContext } from "./context.js";
import { createDemoToken } from "./softhsm-demo.js";

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
    "Create the database schema, default profiles, the root org unit, a root CA and an issuing CA (keys in the configured key store), and a bootstrap security-admin API key. Steps already done are skipped. The key ceremony's audit records name the operator, the witnesses and the public-key fingerprints.",
  usage: "[--algorithm ALG] [--keystore softhsm] [--witness NAME…]",
  options: {
    algorithm: { type: "string" },
    keystore: { type: "string" },
    witness: { type: "string", multiple: true },
  },
  help: {
    "--algorithm ALG":
      "CA key algorithm: ecdsa-p256 (default: CA_KEY_ALGORITHM), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096, ed25519",
    "--keystore softhsm":
      "demo: create a throwaway SoftHSMv2 token in the data directory and keep every CA key on it",
    "--witness NAME": "a witness of the key ceremony, recorded in the audit log (repeatable)",
  },
  async run(values) {
    const algorithm = algorithmOption(values.algorithm);
    if (values.keystore !== undefined) {
      if (values.keystore !== "softhsm")
        throw new UsageError('--keystore takes "softhsm" (set CA_KEYSTORE for any other key store)');
      await createDemoToken(loadConfig());
    }
    const witnesses = (values.witness as string[] | undefined) ?? [];
    return withContext(async (context, actor) => {
      const ceremonyActor = witnesses.length
        ? { audit: { ...actor.audit, actor: `${actor.audit.actor} witnessed by ${witnesses.join(", ")}` } }
        : actor;
      const result = await initialize(context, ceremonyActor, {
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
  summary: "Start the HTTP service and the mTLS listener (initializing on first start, as `ca init` does).",
  usage: "",
  options: {},
  help: {},
  async run() {
    const config = loadConfig();
    const mtls = config.mtls ? `; mTLS listener on ${config.mtls.publicUrl}` : "";
    const listeningOn = `listening on http://${config.host}:${config.port} (public URL ${config.publicBaseUrl}; API docs at /docs)${mtls}`;
    const context = await openContext(config);
    try {
      if (cluster.isWorker) {
        // One of CA_WORKERS: the primary has initialized; serve until a signal stops this worker.
        await startServer(context);
        return await new Promise<number>(() => undefined);
      }
      report(
        context,
        await initialize(context, cliActor(userInfo().username), { onStep: (message) => print(message) }),
      );
      if (config.workers === 1) {
        const running = await startServer(context);
        print(listeningOn);
        if (running.mtls) print(`mTLS server certificate: ${running.mtls.credentials.description}`);
        return await new Promise<number>(() => undefined); // runs until a signal stops it
      }
    } catch (error) {
      await context.close();
      throw error;
    }
    await context.close();
    const workers = superviseWorkers(config.workers, print);
    const first = await Promise.race([workers.listening.then(() => "listening"), workers.stopped]);
    if (first === "listening") print(`${listeningOn}, ${config.workers} worker processes`);
    return await workers.stopped;
  },
};
