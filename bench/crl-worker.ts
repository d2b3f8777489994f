/**
 * One CRL generation in a process of its own, so that its time and peak memory are its own:
 * opens the service context on DATABASE_URL / CA_DATA_DIR, generates a complete CRL for
 * BENCH_ISSUER (reading every entry from the database), writes it to BENCH_OUT, and prints
 * {"seconds", "entries", "bytes"} as JSON.
 */
import { writeFile } from "node:fs/promises";
import { loadConfig } from "../src/config.js";
import { openContext } from "../src/context.js";

const context = await openContext(loadConfig());
try {
  const started = performance.now();
  const crl = await context.crls.generate(process.env.BENCH_ISSUER ?? "issuing-1", "full", (entries) =>
    process.stderr.write(`\r  ${entries.toLocaleString("en-US")} entries read`),
  );
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write("\n");
  if (!crl) throw new Error("another process holds the CRL generation lock");
  if (process.env.BENCH_OUT) await writeFile(process.env.BENCH_OUT, crl.der);
  process.stdout.write(`${JSON.stringify({ seconds, entries: crl.entries, bytes: crl.der.length })}\n`);
} finally {
  await context.close();
}
