/** `ca issue`: issue a certificate from a CSR file, as the local operator. */
import { readFile, writeFile } from "node:fs/promises";
import { pemChain } from "../ca/representation.js";
import type { GeneralName } from "../pki/general-name.js";
import { type Command, print } from "./command.js";
import { withContext } from "./context.js";

const list = (value: unknown): string[] => (Array.isArray(value) ? value : value ? [String(value)] : []);

export const issueCommand: Command = {
  path: ["issue"],
  summary:
    "Issue a certificate from a PKCS#10 CSR (PEM or DER). The subject comes from the options, never from the CSR.",
  usage:
    "--csr FILE --profile NAME --org-unit PATH [--cn NAME] [--dns NAME…] [--ip ADDR…] [--email ADDR…] [--out FILE]",
  options: {
    csr: { type: "string" },
    profile: { type: "string" },
    issuer: { type: "string" },
    cn: { type: "string" },
    "org-unit": { type: "string" },
    "serial-number": { type: "string" },
    dns: { type: "string", multiple: true },
    ip: { type: "string", multiple: true },
    email: { type: "string", multiple: true },
    uri: { type: "string", multiple: true },
    out: { type: "string" },
  },
  help: {
    "--csr FILE": "the certification request",
    "--profile NAME": "user-signing, user-encryption, tls-server, tls-client, ocsp-signer, …",
    "--org-unit PATH": 'org unit of the subject, e.g. "gov/gz"',
    "--cn NAME": "commonName (tls-server: defaults to the first DNS name)",
    "--serial-number TEXT": "subject serialNumber (e.g. employee number)",
    "--dns/--ip/--email/--uri V":
      "subjectAltNames (repeatable); without any, the CSR's requested names are used",
    "--issuer ID": "issuing CA (default: the active issuing CA)",
    "--out FILE": "write the PEM chain to FILE instead of standard output",
  },
  async run(values) {
    if (!values.csr || !values.profile)
      throw new Error("--csr and --profile are required (see ca issue --help)");
    const csr = await readFile(String(values.csr));
    const names: GeneralName[] = [
      ...list(values.dns).map((value) => ({ type: "dns" as const, value })),
      ...list(values.ip).map((value) => ({ type: "ip" as const, value })),
      ...list(values.email).map((value) => ({ type: "email" as const, value })),
      ...list(values.uri).map((value) => ({ type: "uri" as const, value })),
    ];
    return withContext(async (context, actor) => {
      const issued = await context.ca.issue(actor, {
        csr,
        profile: String(values.profile),
        issuer: values.issuer as string | undefined,
        subject: {
          commonName: values.cn as string | undefined,
          orgUnit: values["org-unit"] as string | undefined,
          serialNumber: values["serial-number"] as string | undefined,
        },
        ...(names.length ? { subjectAltNames: names } : {}),
      });
      const pem = pemChain(issued.record.der, issued.issuer);
      if (values.out) {
        await writeFile(String(values.out), pem);
        print(`issued ${issued.record.serial} to ${issued.record.subject}; chain written to ${values.out}`);
      } else print(pem);
      return 0;
    });
  },
};
