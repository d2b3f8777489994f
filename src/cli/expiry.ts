/** `ca expiry notify`: one round of expiry notices now, printing what was sent. */
import type { Actor } from "../auth/principal.js";
import type { ServiceContext } from "../context.js";
import { webhookOrigin } from "../operations/webhook.js";
import { type Command, print, printError } from "./command.js";
import { withContext } from "./context.js";

export interface Output {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Progress (stderr, rewritten in place). */
  readonly progress: (text: string) => void;
}

const STANDARD: Output = {
  out: print,
  err: printError,
  progress: (text) => process.stderr.write(text),
};

/** Runs one round and reports it; the exit code: 0 sent (or nothing due), 1 not configured or delivery failed. */
export async function expiryNotify(
  context: ServiceContext,
  actor: Actor,
  output: Output = STANDARD,
): Promise<number> {
  const { noticeDays, webhookUrl } = context.config.expiryNotice;
  if (!webhookUrl) {
    output.err("error: CA_EXPIRY_WEBHOOK_URL is not set: there is nowhere to send expiry notices");
    return 1;
  }
  let shown = 0;
  const round = await context.expiryNotices.notify(actor, (batch) => {
    for (const sent of batch)
      output.out(`${sent.issuer}/${sent.serial}\t${sent.notAfter}\t${sent.orgUnit ?? "-"}\t${sent.subject}`);
    shown += batch.length;
    if (shown >= 1000) output.progress(`\r${shown.toLocaleString("en-US")} certificates sent`);
  });
  if (shown >= 1000) output.progress("\n");
  const to = webhookOrigin(webhookUrl);
  if (round.skipped === "locked") {
    output.err("another node is sending expiry notices right now; nothing sent");
    return 0;
  }
  output.out(
    `expiry notices: ${round.sent.length} certificate(s) expiring within ${noticeDays} days sent to ${to}`,
  );
  if (round.failure) {
    output.err(`error: the webhook ${to} ${round.failure.reason}; the rest is sent at the next run`);
    return 1;
  }
  return 0;
}

export const expiryNotifyCommand: Command = {
  path: ["expiry", "notify"],
  summary:
    "POST now the good certificates entering the expiry window (CA_EXPIRY_NOTICE_DAYS) that were not announced yet to CA_EXPIRY_WEBHOOK_URL; prints each one sent.",
  usage: "",
  options: {},
  help: {},
  async run() {
    return withContext((context, actor) => expiryNotify(context, actor));
  },
};
