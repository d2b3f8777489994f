/** How an enrolment request is shown: to its requester, and in the RA operator's queue. */
import type { EnrollmentListRow } from "../../db/stores/enrollments.js";
import { badRequest } from "../errors.js";
import { encodePem } from "../pki/pem.js";

export interface EnrollmentView {
  readonly id: string;
  readonly status: EnrollmentListRow["status"];
  readonly profile: string;
  readonly method: EnrollmentListRow["method"];
  readonly issuer: string | null;
  readonly requester: {
    readonly id: string;
    readonly name: string;
    readonly employeeNumber: string | null;
    readonly orgUnit: string | null;
    readonly email: string | null;
  };
  readonly subjectAltNames: { type: string; value: string }[] | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly reason: string | null;
  /** Set while an approved request's issuance has failed (approving again retries). */
  readonly issueError: string | null;
  readonly certificate: { readonly issuer: string; readonly serial: string } | null;
  /** server-keygen: whether the sealed key waits for its download. */
  readonly keyAwaitingDownload: boolean;
  readonly deliveredAt: string | null;
  /** The CSR (PEM), in the single-request view only. */
  readonly csr?: string;
}

export function enrollmentView(row: EnrollmentListRow, options: { withCsr?: boolean } = {}): EnrollmentView {
  return {
    id: row.id,
    status: row.status,
    profile: row.profile,
    method: row.method,
    issuer: row.issuer_id,
    requester: {
      id: row.requester_id,
      name: row.requester_name,
      employeeNumber: row.requester_employee_number,
      orgUnit: row.requester_org_unit,
      email: row.requester_email,
    },
    subjectAltNames: row.subject_alt_names,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    decidedBy: row.decided_by,
    decidedAt: row.decided_at?.toISOString() ?? null,
    reason: row.reason,
    issueError: row.issue_error,
    certificate:
      row.certificate_issuer && row.certificate_serial
        ? { issuer: row.certificate_issuer, serial: row.certificate_serial }
        : null,
    keyAwaitingDownload: row.has_key,
    deliveredAt: row.delivered_at?.toISOString() ?? null,
    ...(options.withCsr ? { csr: encodePem("CERTIFICATE REQUEST", row.csr_der) } : {}),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const enrollmentCursor = (row: { created_at: Date; id: string }): string =>
  Buffer.from(`${row.created_at.toISOString()}|${row.id}`).toString("base64url");

export function parseEnrollmentCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(at ?? "");
  if (Number.isNaN(createdAt.getTime()) || !UUID.test(id ?? ""))
    throw badRequest("cursor-invalid", "the cursor is not one this service handed out");
  return { createdAt, id: id! };
}
