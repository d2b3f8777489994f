/** `ca enrollment list|show|approve|reject`: the RA queue for operators without the browser, as the local operator. */
import type { EnrollmentStatus } from "../../db/stores/enrollments.js";
import type { EnrollmentView } from "../ra/enrollment-view.js";
import { type Command, print, UsageError } from "./command.js";
import { withContext } from "./context.js";

const STATUSES: readonly EnrollmentStatus[] = [
  "pending",
  "approved",
  "rejected",
  "withdrawn",
  "issued",
  "expired",
];

const line = (view: EnrollmentView): string =>
  [
    view.id,
    view.status.padEnd(9),
    view.profile.padEnd(15),
    view.method.padEnd(13),
    `${view.requester.name} (${view.requester.employeeNumber ?? "service account"}, ${view.requester.orgUnit ?? "-"})`,
    view.createdAt,
    view.certificate ? `${view.certificate.issuer}/${view.certificate.serial}` : "",
  ]
    .join("  ")
    .trimEnd();

export const enrollmentListCommand: Command = {
  path: ["enrollment", "list"],
  summary: "List enrolment requests, newest first (the RA queue: --status pending).",
  usage: "[--status STATUS] [--profile NAME] [--limit N]",
  options: { status: { type: "string" }, profile: { type: "string" }, limit: { type: "string" } },
  help: {
    "--status S": STATUSES.join(", "),
    "--profile NAME": "only this profile",
    "--limit N": "at most N rows (default 50, at most 500)",
  },
  async run(values) {
    const status = values.status as EnrollmentStatus | undefined;
    if (status !== undefined && !STATUSES.includes(status))
      throw new UsageError(`--status must be one of ${STATUSES.join(", ")}`);
    const limit = values.limit ? Number(values.limit) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new UsageError("--limit must be an integer from 1 to 500");
    return withContext(async (context, actor) => {
      const page = await context.enrollments.list(actor, {
        status,
        profile: values.profile as string | undefined,
        limit,
      });
      for (const view of page.items) print(line(view));
      if (page.items.length === 0) print("no enrolment requests");
      return 0;
    });
  },
};

export const enrollmentShowCommand: Command = {
  path: ["enrollment", "show"],
  summary: "Show one enrolment request with its requester and CSR.",
  usage: "ID",
  positionals: 1,
  options: {},
  help: {},
  async run(_values, [id]) {
    return withContext(async (context, actor) => {
      print(JSON.stringify(await context.enrollments.get(actor, id!), null, 2));
      return 0;
    });
  },
};

export const enrollmentApproveCommand: Command = {
  path: ["enrollment", "approve"],
  summary:
    "Approve a pending enrolment request and issue its certificate (again on an approved request whose issuance failed).",
  usage: "ID",
  positionals: 1,
  options: {},
  help: {},
  async run(_values, [id]) {
    return withContext(async (context, actor) => {
      print(line(await context.enrollments.approve(actor, id!)));
      return 0;
    });
  },
};

export const enrollmentRejectCommand: Command = {
  path: ["enrollment", "reject"],
  summary: "Reject a pending enrolment request with a reason (the requester sees it in the portal).",
  usage: "ID --reason TEXT",
  positionals: 1,
  options: { reason: { type: "string" } },
  help: { "--reason TEXT": "why (required, at most 500 characters)" },
  async run(values, [id]) {
    const reason = values.reason as string | undefined;
    if (!reason?.trim()) throw new UsageError("--reason is required");
    if (reason.length > 500) throw new UsageError("--reason takes at most 500 characters");
    return withContext(async (context, actor) => {
      print(line(await context.enrollments.reject(actor, id!, reason)));
      return 0;
    });
  },
};
