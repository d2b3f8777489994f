/** `ca audit verify`: walks the hash chain, with progress for large logs. */
import { verifyAuditChain } from "../audit/log.js";
import { type Command, print, printError } from "./command.js";
import { withContext } from "./context.js";

export const auditVerifyCommand: Command = {
  path: ["audit", "verify"],
  summary:
    "Verify the audit log's hash chain: detects changed, deleted, inserted or reordered records. Exit 0 when intact, 3 when not.",
  usage: "",
  options: {},
  help: {},
  async run() {
    return withContext(async (context) => {
      const started = performance.now();
      // Seals what is committed first: an action taken just before is verified too.
      const result = await verifyAuditChain(context.db, {
        sealer: context.auditSealer,
        onProgress: (checked, total) => {
          if (process.stderr.isTTY) process.stderr.write(`\rchecked ${checked} of ${total} records`);
        },
      });
      if (process.stderr.isTTY) process.stderr.write("\n");
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      if (result.ok) {
        print(`audit chain intact: ${result.records} records, head ${result.headHash} (${seconds} s)`);
        if (result.unsealed > 0)
          print(
            `${result.unsealed} record(s) committed during the check are not sealed yet: run it again to include them`,
          );
        return 0;
      }
      printError(
        `audit chain BROKEN at record ${result.seq}: ${result.problem} (${result.records} records verified before it)`,
      );
      return 3;
    });
  },
};
