/** `ca apikey create`, `ca org create` and `ca org list`. */
import type { OrgUnitLevel } from "../../db/stores/org-units.js";
import type { Role } from "../../db/stores/principals.js";
import { ROLES } from "../auth/principal.js";
import { ORG_UNIT_LEVELS } from "../identity/org-units.js";
import { type Command, print, UsageError } from "./command.js";
import { withContext } from "./context.js";

export const apiKeyCreateCommand: Command = {
  path: ["apikey", "create"],
  summary: "Create a service account with a role and print its API key (shown once).",
  usage: "--role ROLE [--org PATH] [--name NAME] [--dns NAME…]",
  options: {
    role: { type: "string" },
    org: { type: "string" },
    name: { type: "string" },
    dns: { type: "string", multiple: true },
  },
  help: {
    "--role ROLE": ROLES.join(", "),
    "--org PATH": "org unit (required for ra-operator: the subtree it serves)",
    "--name NAME": "account name (default: <role>-<org>)",
    "--dns NAME": "DNS name or IP a subscriber may have in its certificates (repeatable)",
  },
  async run(values) {
    const role = values.role as Role;
    if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(", ")}`);
    const org = (values.org as string | undefined) ?? null;
    return withContext(async (context, actor) => {
      const created = await context.accounts.create(actor, {
        name: (values.name as string | undefined) ?? `${role}${org ? `-${org.replaceAll("/", "-")}` : ""}`,
        role,
        orgUnit: org,
        dnsNames: (values.dns as string[] | undefined) ?? [],
      });
      process.stderr.write(
        `created ${role} account ${created.principal.id}; its API key (store it now, it is not shown again):\n`,
      );
      print(created.apiKey.token);
      return 0;
    });
  },
};

export const orgCreateCommand: Command = {
  path: ["org", "create"],
  summary: "Create an org unit below an existing one.",
  usage: "PATH --name NAME --level province|region|city|county|department",
  positionals: 1,
  options: { name: { type: "string" }, level: { type: "string" } },
  help: { "--name NAME": "display name, e.g. 广州市", "--level LEVEL": ORG_UNIT_LEVELS.join(", ") },
  async run(values, [path]) {
    const level = values.level as OrgUnitLevel;
    if (!ORG_UNIT_LEVELS.includes(level))
      throw new UsageError(`--level must be one of ${ORG_UNIT_LEVELS.join(", ")}`);
    if (!values.name) throw new UsageError("--name is required");
    return withContext(async (context, actor) => {
      const unit = await context.orgUnits.create(actor, { path: path!, name: String(values.name), level });
      print(`created ${unit.level} ${unit.path} (${unit.name})`);
      return 0;
    });
  },
};

export const orgListCommand: Command = {
  path: ["org", "list"],
  summary: "List the org-unit tree.",
  usage: "",
  options: {},
  help: {},
  async run() {
    return withContext(async (context) => {
      for (const unit of context.orgUnits.list())
        print(`${"  ".repeat(unit.path.split("/").length - 1)}${unit.path}  ${unit.level}  ${unit.name}`);
      return 0;
    });
  },
};
