/** The shape of a CLI subcommand and the shared helpers for help and option parsing. */
import { type ParseArgsConfig, parseArgs } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Command {
  /** Words that select it, e.g. ["cert", "show"]. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Usage line after "ca …", e.g. "SERIAL [--issuer ID]". */
  readonly usage: string;
  readonly options: Options;
  /** One line per option, for --help. */
  readonly help: Readonly<Record<string, string>>;
  readonly positionals?: number;
  run(
    values: Record<string, string | boolean | string[] | undefined>,
    positionals: string[],
  ): Promise<number>;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function commandHelp(command: Command): string {
  const lines = [`Usage: ca ${command.path.join(" ")} ${command.usage}`.trimEnd(), "", command.summary, ""];
  const entries = Object.entries(command.help);
  if (entries.length) {
    lines.push("Options:");
    const width = Math.max(...entries.map(([flag]) => flag.length));
    for (const [flag, text] of entries) lines.push(`  ${flag.padEnd(width)}  ${text}`);
    lines.push("");
  }
  lines.push(
    "Configuration comes from the environment (DATABASE_URL, CA_DATA_DIR, CA_KEYSTORE, …; see README).",
  );
  return lines.join("\n");
}

export function parse(command: Command, args: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    if (!values.help && positionals.length !== (command.positionals ?? 0))
      throw new UsageError(
        `expected ${command.positionals ?? 0} argument(s): ca ${command.path.join(" ")} ${command.usage}`,
      );
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}

export const print = (text: string): void => {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
};
export const printError = (text: string): void => {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
};
