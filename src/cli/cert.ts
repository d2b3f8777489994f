/** `ca cert show` and `ca cert list`. */
import "reflect-metadata";
import { X509Certificate } from "@peculiar/x509";
import { findBySerial, searchCertificates } from "../../db/stores/certificates.js";
import { certificateSummary } from "../ca/representation.js";
import { normalizeSerial } from "../ca/serial.js";
import { encodePem } from "../pki/pem.js";
import { type Command, print, UsageError } from "./command.js";
import { withContext } from "./context.js";

export const certShowCommand: Command = {
  path: ["cert", "show"],
  summary: "Show one certificate: its record, decoded fields and PEM.",
  usage: "SERIAL [--issuer ID]",
  positionals: 1,
  options: { issuer: { type: "string" } },
  help: { "--issuer ID": "when the serial exists under several issuers" },
  async run(values, [serialText]) {
    const serial = normalizeSerial(serialText!);
    if (!serial) throw new UsageError("SERIAL must be hexadecimal");
    return withContext(async (context) => {
      const rows = await findBySerial(context.db, serial, values.issuer as string | undefined);
      if (rows.length === 0) {
        print(`no certificate with serial ${serial}`);
        return 1;
      }
      for (const row of rows) {
        const decoded = new X509Certificate(row.der);
        print(JSON.stringify(certificateSummary(row), null, 2));
        print(`signature algorithm: ${JSON.stringify(decoded.signatureAlgorithm)}`);
        print(`issuer DN: ${decoded.issuer}`);
        print(`extensions: ${decoded.extensions.map((extension) => extension.type).join(", ")}`);
        print(encodePem("CERTIFICATE", row.der));
      }
      return 0;
    });
  },
};

export const certListCommand: Command = {
  path: ["cert", "list"],
  summary: "List certificates, newest first.",
  usage: "[--status good|revoked|on-hold] [--profile NAME] [--org-unit PATH] [--subject TEXT] [--limit N]",
  options: {
    status: { type: "string" },
    profile: { type: "string" },
    "org-unit": { type: "string" },
    subject: { type: "string" },
    limit: { type: "string" },
  },
  help: {
    "--status S": "good, revoked or on-hold",
    "--profile NAME": "only this profile",
    "--org-unit PATH": "this org unit and its subtree",
    "--subject TEXT": "subject DN contains TEXT (case-insensitive)",
    "--limit N": "at most N rows (default 50)",
  },
  async run(values) {
    const limit = values.limit ? Number(values.limit) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new UsageError("--limit must be 1 to 10000");
    const status = values.status as "good" | "revoked" | "on-hold" | undefined;
    if (status && !["good", "revoked", "on-hold"].includes(status))
      throw new UsageError("--status must be good, revoked or on-hold");
    return withContext(async (context) => {
      const rows = await searchCertificates(context.db, {
        scope: { all: true },
        status,
        profile: values.profile as string | undefined,
        orgUnit: values["org-unit"] as string | undefined,
        subject: values.subject as string | undefined,
        limit,
      });
      for (const row of rows)
        print(
          `${row.serial}  ${row.status.padEnd(8)} ${row.profile.padEnd(16)} ${row.not_after.toISOString().slice(0, 10)}  ${row.subject}`,
        );
      print(`${rows.length} certificate(s)`);
      return 0;
    });
  },
};
