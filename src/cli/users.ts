/** `ca user …`: the directory of civil servants as the local operator. USER is an id or an employee number. */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import type { Role } from "../../db/stores/principals.js";
import { type Actor, ROLES } from "../auth/principal.js";
import type { ServiceContext } from "../context.js";
import { notFound } from "../errors.js";
import { IMPORT_FORMATS, type ImportFormat, readUserImport } from "../identity/user-import.js";
import type { DirectoryUser } from "../identity/users.js";
import { type Command, print, printError, UsageError } from "./command.js";
import { withContext } from "./context.js";

const USER_HELP = "USER is the user's id or employee number";

/** Runs `work` on the user that `reference` (an id or an employee number) names. */
function withUser(
  reference: string,
  work: (context: ServiceContext, actor: Actor, user: DirectoryUser) => Promise<number>,
): Promise<number> {
  return withContext(async (context, actor) => {
    const user =
      (await context.directory.get(reference)) ?? (await context.directory.findByEmployeeNumber(reference));
    if (!user) throw notFound(`user "${reference}"`);
    return work(context, actor, user);
  });
}

const describeUser = (user: DirectoryUser): string =>
  [
    user.employeeNumber.padEnd(14),
    user.id,
    user.roles.join(",").padEnd(24),
    (user.orgUnit ?? "-").padEnd(24),
    [
      user.disabledAt ? "disabled" : "active",
      user.hasPassword ? "password" : "no-password",
      user.hasTotp ? "totp" : "no-totp",
      ...(user.lockedUntil ? [`locked-until=${user.lockedUntil.toISOString()}`] : []),
    ].join(","),
    user.name,
  ].join("  ");

export const userCreateCommand: Command = {
  path: ["user", "create"],
  summary: "Create a directory user (a civil servant) with one or more roles.",
  usage: "--name NAME --employee-number N [--org-unit PATH] --role ROLE… [--email ADDRESS]",
  options: {
    name: { type: "string" },
    "employee-number": { type: "string" },
    "org-unit": { type: "string" },
    role: { type: "string", multiple: true },
    email: { type: "string" },
  },
  help: {
    "--name NAME": "the person's name (becomes the commonName of its certificates)",
    "--employee-number N": "unique, 1 to 32 letters, digits or -; the login name",
    "--org-unit PATH": "org unit (required for ra-operator: the subtree it serves)",
    "--role ROLE": `${ROLES.join(", ")} (repeatable)`,
    "--email ADDRESS": "optional email address",
  },
  async run(values) {
    const roles = (values.role as string[] | undefined) ?? [];
    if (!values.name) throw new UsageError("--name is required");
    if (!values["employee-number"]) throw new UsageError("--employee-number is required");
    if (roles.length === 0) throw new UsageError("give at least one --role");
    const unknown = roles.find((role) => !(ROLES as readonly string[]).includes(role));
    if (unknown) throw new UsageError(`--role must be one of ${ROLES.join(", ")}, got "${unknown}"`);
    return withContext(async (context, actor) => {
      const user = await context.directory.create(actor, {
        name: String(values.name),
        employeeNumber: String(values["employee-number"]),
        orgUnit: (values["org-unit"] as string | undefined) ?? null,
        roles: roles as Role[],
        email: (values.email as string | undefined) ?? null,
      });
      print(`created user ${user.id} (${user.employeeNumber}, ${user.roles.join(", ")})`);
      return 0;
    });
  },
};

export const userImportCommand: Command = {
  path: ["user", "import"],
  summary:
    "Import users from a JSON or CSV file: creates the valid rows in one transaction and reports the rejected ones. Exit 1 when any row is rejected.",
  usage: "FILE [--format json|csv]",
  positionals: 1,
  options: { format: { type: "string" } },
  help: {
    "--format FORMAT":
      "json (an array of objects) or csv (header name,employee_number,org_unit,roles[,email]); default: from the file's extension",
  },
  async run(values, [file]) {
    const format = ((values.format as string | undefined) ??
      extname(file!).slice(1).toLowerCase()) as ImportFormat;
    if (!IMPORT_FORMATS.includes(format))
      throw new UsageError(`--format must be json or csv (the file's extension does not say which)`);
    const rows = readUserImport(format, await readFile(file!, "utf8"));
    return withContext(async (context, actor) => {
      const report = await context.directory.import(actor, rows, {
        onProgress: (written, total) => {
          if (total >= 1000) process.stderr.write(`imported ${written} of ${total} users\n`);
        },
      });
      print(`created ${report.created.length} user(s); rejected ${report.rejected.length} row(s)`);
      for (const row of report.rejected)
        print(`  line ${row.line}${row.employeeNumber ? ` (${row.employeeNumber})` : ""}: ${row.reason}`);
      return report.rejected.length > 0 ? 1 : 0;
    });
  },
};

export const userListCommand: Command = {
  path: ["user", "list"],
  summary: "List directory users in employee-number order.",
  usage: "[--org-unit PATH]",
  options: { "org-unit": { type: "string" } },
  help: { "--org-unit PATH": "only users of this org unit and below" },
  async run(values) {
    const orgUnit = values["org-unit"] as string | undefined;
    return withContext(async (context) => {
      let count = 0;
      let cursor: string | undefined;
      do {
        const page = await context.directory.list({
          ...(orgUnit ? { orgUnit } : {}),
          ...(cursor ? { cursor } : {}),
          limit: 1000,
        });
        for (const user of page.items) print(describeUser(user));
        count += page.items.length;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      print(`${count} user(s)`);
      return 0;
    });
  },
};

/** `ca user disable` and `ca user enable`. */
const toggleCommand = (action: "disable" | "enable", summary: string): Command => ({
  path: ["user", action],
  summary,
  usage: "USER",
  positionals: 1,
  options: {},
  help: { USER: USER_HELP },
  run: (_values, [reference]) =>
    withUser(reference!, async (context, actor, user) => {
      await context.directory[action](actor, user.id);
      print(`${action}d user ${user.id} (${user.employeeNumber})`);
      return 0;
    }),
});

export const userDisableCommand = toggleCommand(
  "disable",
  "Disable a user: no more logins, and its SSO sessions end.",
);
export const userEnableCommand = toggleCommand("enable", "Enable a disabled user again.");

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError(
      "pipe the password on standard input (it is not read from a terminal, which would echo it)",
    );
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

export const userPasswordCommand: Command = {
  path: ["user", "password"],
  summary:
    "Set a user's password, read from standard input (12 to 1024 characters; one trailing newline is dropped).",
  usage: "USER < password-file",
  positionals: 1,
  options: {},
  help: { USER: USER_HELP },
  async run(_values, [reference]) {
    const password = await readStdin();
    return withUser(reference!, async (context, actor, user) => {
      await context.directory.setPassword(actor, user.id, password);
      print(`password set for user ${user.id} (${user.employeeNumber})`);
      return 0;
    });
  },
};

export const userTotpCommand: Command = {
  path: ["user", "totp"],
  summary:
    "Enroll a TOTP secret (RFC 6238) and print its otpauth URI once, for the user's authenticator app.",
  usage: "USER [--reset]",
  positionals: 1,
  options: { reset: { type: "boolean" } },
  help: { USER: USER_HELP, "--reset": "remove the current secret first (a lost or replaced phone)" },
  run: (values, [reference]) =>
    withUser(reference!, async (context, actor, user) => {
      if (values.reset && user.hasTotp) await context.directory.resetTotp(actor, user.id);
      const enrolled = await context.directory.enrollTotp(actor, user.id);
      printError(`TOTP secret of ${user.employeeNumber} (shown once; give it to the user only):`);
      print(enrolled.otpauthUri);
      return 0;
    }),
};
