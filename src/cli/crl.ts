/** `ca crl generate`: publish a CRL now, with progress for large ones. */
import { type Command, print, UsageError } from "./command.js";
import { withContext } from "./context.js";

export const crlGenerateCommand: Command = {
  path: ["crl", "generate"],
  summary: "Generate and publish a complete (or delta) CRL now, for one issuer or all of them.",
  usage: "[--issuer ID] [--delta]",
  options: { issuer: { type: "string" }, delta: { type: "boolean" } },
  help: {
    "--issuer ID": "only this issuer (default: every issuer)",
    "--delta": "a delta CRL against the latest complete CRL",
  },
  async run(values) {
    return withContext(async (context) => {
      const ids = values.issuer
        ? [String(values.issuer)]
        : context.issuers.all().map((issuer) => issuer.row.id);
      for (const id of ids) {
        if (!context.issuers.find(id)) throw new UsageError(`no issuer "${id}" (see GET /api/v1/issuers)`);
        const kind = values.delta ? "delta" : "full";
        const started = performance.now();
        let shown = 0;
        const crl = await context.crls.generate(id, kind, (entries) => {
          if (entries - shown >= 100_000 || (entries > 0 && shown === 0)) {
            process.stderr.write(`\r${id}: ${entries.toLocaleString("en-US")} entries read`);
            shown = entries;
          }
        });
        if (shown) process.stderr.write("\n");
        const seconds = ((performance.now() - started) / 1000).toFixed(2);
        if (!crl) print(`${id}: another node is generating a CRL right now; nothing done`);
        else
          print(
            `${id}: ${kind} CRL #${crl.number}${crl.baseNumber ? ` (base #${crl.baseNumber})` : ""}, ${crl.entries} entries, ${crl.der.length} bytes, next update ${crl.nextUpdate.toISOString()} (${seconds} s)`,
          );
      }
      return 0;
    });
  },
};
