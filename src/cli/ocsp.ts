/** `ca ocsp refresh`: sign the pre-signed OCSP responses that are missing or due, with progress. */
import { type Command, print } from "./command.js";
import { withContext } from "./context.js";

export const ocspRefreshCommand: Command = {
  path: ["ocsp", "refresh"],
  summary:
    "Sign now every pre-signed OCSP response that is missing (certificates imported in bulk, say) or due for re-signing.",
  usage: "",
  options: {},
  help: {},
  async run() {
    return withContext(async (context) => {
      const started = performance.now();
      let shown = 0;
      const certificates = await context.ocsp.refreshDue({
        limit: Number.POSITIVE_INFINITY,
        onProgress: (done) => {
          if (done - shown >= 10_000 || shown === 0) {
            process.stderr.write(`\r${done.toLocaleString("en-US")} certificates signed`);
            shown = done;
          }
        },
      });
      if (shown) process.stderr.write("\n");
      const seconds = (performance.now() - started) / 1000;
      print(
        `OCSP: responses of ${certificates.toLocaleString("en-US")} certificate(s) signed in ${seconds.toFixed(2)} s` +
          (certificates ? ` (${Math.round(certificates / seconds).toLocaleString("en-US")}/s)` : ""),
      );
      return 0;
    });
  },
};
