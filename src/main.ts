/** The `ca` command-line entry point: dispatches to one subcommand. */
import { DatabaseLockedError } from "../db/database.js";
import { KeyStoreError } from "../hsm-adapters/key-store.js";
import { auditVerifyCommand } from "./cli/audit.js";
import { certListCommand, certShowCommand } from "./cli/cert.js";
import {
  clientCreateCommand,
  clientDisableCommand,
  clientListCommand,
  ssoRotateKeyCommand,
} from "./cli/client.js";
import { type Command, commandHelp, parse, print, printError, UsageError } from "./cli/command.js";
import { crlGenerateCommand } from "./cli/crl.js";
import {
  enrollmentApproveCommand,
  enrollmentListCommand,
  enrollmentRejectCommand,
  enrollmentShowCommand,
} from "./cli/enrollment.js";
import { expiryNotifyCommand } from "./cli/expiry.js";
import { apiKeyCreateCommand, orgCreateCommand, orgListCommand } from "./cli/identity.js";
import { initCommand, serveCommand } from "./cli/init.js";
import { issueCommand } from "./cli/issue.js";
import { ocspRefreshCommand } from "./cli/ocsp.js";
import { holdCommand, releaseCommand, revokeCommand } from "./cli/revoke.js";
import {
  userCreateCommand,
  userDisableCommand,
  userEnableCommand,
  userImportCommand,
  userListCommand,
  userPasswordCommand,
  userTotpCommand,
} from "./cli/users.js";
import { ConfigError } from "./config.js";
import { ServiceError } from "./errors.js";

const COMMANDS: readonly Command[] = [
  initCommand,
  serveCommand,
  issueCommand,
  certShowCommand,
  certListCommand,
  revokeCommand,
  holdCommand,
  releaseCommand,
  crlGenerateCommand,
  ocspRefreshCommand,
  expiryNotifyCommand,
  enrollmentListCommand,
  enrollmentShowCommand,
  enrollmentApproveCommand,
  enrollmentRejectCommand,
  apiKeyCreateCommand,
  orgCreateCommand,
  orgListCommand,
  userCreateCommand,
  userImportCommand,
  userListCommand,
  userDisableCommand,
  userEnableCommand,
  userPasswordCommand,
  userTotpCommand,
  auditVerifyCommand,
  clientCreateCommand,
  clientListCommand,
  clientDisableCommand,
  ssoRotateKeyCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.path.join(" ").length));
  return [
    "Usage: ca <command> [options]",
    "",
    "The provincial e-government certification centre: CA, RA and identity service.",
    "",
    "Commands:",
    ...COMMANDS.map(
      (command) =>
        `  ${command.path.join(" ").padEnd(width)}  ${command.summary.split(". ")[0]!.replace(/\.$/, "")}`,
    ),
    "",
    "Run `ca <command> --help` for its options. Configuration comes from the environment (see README).",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    print(overview());
    return argv.length === 0 ? 2 : 0;
  }
  const command = [...COMMANDS]
    .sort((a, b) => b.path.length - a.path.length)
    .find((candidate) => candidate.path.every((word, index) => argv[index] === word));
  if (!command) {
    printError(`unknown command "${argv.slice(0, 2).join(" ")}"\n\n${overview()}`);
    return 2;
  }
  try {
    const { values, positionals } = parse(command, argv.slice(command.path.length));
    if (values.help) {
      print(commandHelp(command));
      return 0;
    }
    return await command.run(values, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      printError(`${error.message}\n\n${commandHelp(command)}`);
      return 2;
    }
    if (error instanceof ServiceError) printError(`error (${error.code}): ${error.message}`);
    else if (
      error instanceof ConfigError ||
      error instanceof DatabaseLockedError ||
      error instanceof KeyStoreError
    )
      printError(`error: ${error.message}`);
    else printError(`error: ${(error as Error).message}`);
    return 1;
  }
}
