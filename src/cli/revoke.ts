/** `ca revoke`, `ca hold` and `ca release`, as the local operator. */
import { normalizeSerial } from "../ca/serial.js";
import { REVOCATION_REASONS, type RevocationReason } from "../revocation/reasons.js";
import { type Command, print, UsageError } from "./command.js";
import { withContext } from "./context.js";

function serialOf(text: string | undefined): string {
  const serial = normalizeSerial(text ?? "");
  if (!serial) throw new UsageError("SERIAL must be hexadecimal");
  return serial;
}

export const revokeCommand: Command = {
  path: ["revoke"],
  summary: "Revoke a certificate with an RFC 5280 reason; keyCompromise also puts its key on the blocklist.",
  usage: "SERIAL --reason REASON [--invalidity-date ISO-8601] [--issuer ID]",
  positionals: 1,
  options: { reason: { type: "string" }, "invalidity-date": { type: "string" }, issuer: { type: "string" } },
  help: {
    "--reason REASON": REVOCATION_REASONS.join(", "),
    "--invalidity-date T": "when the key is known or suspected to have been compromised (RFC 5280 §5.3.2)",
    "--issuer ID": "when the serial exists under several issuers",
  },
  async run(values, [serialText]) {
    const reason = values.reason as RevocationReason;
    if (!REVOCATION_REASONS.includes(reason))
      throw new UsageError(`--reason must be one of ${REVOCATION_REASONS.join(", ")}`);
    const invalidity = values["invalidity-date"] ? new Date(String(values["invalidity-date"])) : undefined;
    if (invalidity && Number.isNaN(invalidity.getTime()))
      throw new UsageError("--invalidity-date must be an ISO 8601 time");
    return withContext(async (context, actor) => {
      const row = await context.revocations.revoke(
        actor,
        { serial: serialOf(serialText), issuer: values.issuer as string | undefined },
        reason,
        invalidity,
      );
      print(`revoked ${row.issuer_id}/${row.serial} (${reason}) at ${row.revoked_at?.toISOString()}`);
      return 0;
    });
  },
};

const statusCommand = (operation: "hold" | "release"): Command => ({
  path: [operation],
  summary:
    operation === "hold"
      ? "Suspend a certificate (certificateHold, GM/T 0034)."
      : "Release a suspended certificate: it is good again.",
  usage: "SERIAL [--issuer ID]",
  positionals: 1,
  options: { issuer: { type: "string" } },
  help: { "--issuer ID": "when the serial exists under several issuers" },
  async run(values, [serialText]) {
    return withContext(async (context, actor) => {
      const ref = { serial: serialOf(serialText), issuer: values.issuer as string | undefined };
      const row =
        operation === "hold"
          ? await context.revocations.hold(actor, ref)
          : await context.revocations.release(actor, ref);
      print(`${row.issuer_id}/${row.serial} is now ${row.status}`);
      return 0;
    });
  },
});

export const holdCommand = statusCommand("hold");
export const releaseCommand = statusCommand("release");
