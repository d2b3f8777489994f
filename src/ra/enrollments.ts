/**
 * Enrolment requests, the RA's workflow (ARCHITECTURE "Enroll"). A requester asks for a
 * certificate of a profile for itself; the request is checked at once with the CA's own
 * checks (profile, CSR, key, names), so that nothing that could not be issued waits for an
 * RA operator. It is issued at once when the profile's approval is "auto" or the requester is
 * itself an approver; otherwise it waits, pending, until an RA operator of the requester's org
 * subtree (or a security admin), never the requester, approves or rejects it, or until it
 * expires. Every transition writes its audit record, and the requester's portal notification,
 * in its own transaction.
 *
 * Approval and issuance: the approval commits first (status approved); the certificate is
 * then issued as if the requester had asked (its subject is the requester's directory
 * account; the audit actor is the approver), and the certificate row commits in the same
 * transaction as the request's move to issued. If issuance fails (key store down, issuer
 * retired, key blocklisted since, requester disabled), the request stays approved with the
 * error recorded, and approving it again retries; it can also be rejected.
 */
import { type KeyObject, randomUUID } from "node:crypto";
import type { Database, Queryable } from "../../db/database.js";
import {
  type EnrollmentListRow,
  type EnrollmentMethod,
  type EnrollmentRow,
  type EnrollmentStatus,
  getEnrollment,
  insertEnrollment,
  lockEnrollment,
  searchEnrollments,
  updateEnrollment,
} from "../../db/stores/enrollments.js";
import { getPrincipal } from "../../db/stores/principals.js";
import { type AuditEvent, appendAudit } from "../audit/log.js";
import {
  canSeeEnrollment,
  enrollmentScope,
  enrollsWithoutApproval,
  requireEnrollmentDecider,
} from "../auth/policy.js";
import { type Actor, type Principal, principalFromRow } from "../auth/principal.js";
import type { CertificateAuthority, IssuedCertificate } from "../ca/issuance.js";
import type { ProfileRegistry } from "../ca/profiles.js";
import type { Clock } from "../clock.js";
import { badRequest, conflict, forbidden, notFound, ServiceError } from "../errors.js";
import type { GeneralName } from "../pki/general-name.js";
import {
  type EnrollmentView,
  enrollmentCursor,
  enrollmentView,
  parseEnrollmentCursor,
} from "./enrollment-view.js";
import { generateKeyAndCsr, type ServerKeyAlgorithm } from "./key-generation.js";
import { notify } from "./notifications.js";
import { buildPkcs12 } from "./pkcs12.js";
import { sealPrivateKey } from "./sealed-key.js";

export const MIN_PASSPHRASE_LENGTH = 8;

export interface SubmitRequest {
  readonly profile: string;
  readonly method: EnrollmentMethod;
  /** method csr or browser: the PKCS#10 request (PEM text or DER). */
  readonly csr?: string | Buffer | undefined;
  /** method server-keygen: the key to generate and the passphrase that protects it. */
  readonly serverKeyGeneration?:
    | { readonly algorithm: ServerKeyAlgorithm; readonly passphrase: string }
    | undefined;
  readonly issuer?: string | undefined;
  readonly subjectAltNames?: readonly GeneralName[] | undefined;
}

export interface SubmitResult {
  readonly enrollment: EnrollmentView;
  /** server-keygen issued at once: the key and chain, never kept by the service. */
  readonly pkcs12?: Buffer;
}

export interface EnrollmentQuery {
  readonly status?: EnrollmentStatus | undefined;
  readonly profile?: string | undefined;
  readonly requester?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The requester acting for itself: its subscriber role, so the CA names it (src/ca/subject.ts). */
const forItself = (principal: Principal): Principal => ({ ...principal, roles: ["subscriber"] });

const target = (id: string) => `enrollment:${id}`;

export class Enrollments {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly ca: CertificateAuthority,
    private readonly profiles: ProfileRegistry,
    private readonly options: { readonly pendingMs: number },
  ) {}

  // ---------------------------------------------------------------------------------------
  // Submit

  async submit(actor: Actor, request: SubmitRequest): Promise<SubmitResult> {
    // Step 1: who asks. An enrolment request is a principal's, for itself.
    const principal = actor.principal;
    if (!principal) throw forbidden("an enrolment request is made by a principal for itself, not at the CLI");

    // Step 2: the method and what it needs (the CSR, or the key to generate here).
    const generated = await this.csrFor(request);

    // Step 3: every check issuance makes (profile and who may request it, issuer, CSR and key
    // policy, names), now, so that a bad request never waits for an RA operator.
    const requester: Actor = { audit: actor.audit, principal: forItself(principal) };
    const issueRequest = {
      csr: generated.csr,
      profile: request.profile,
      issuer: request.issuer,
      subjectAltNames: request.subjectAltNames,
    };
    const checked = await this.ca.check(requester, issueRequest);

    // Step 4: issued at once, or pending until an RA operator decides.
    const id = randomUUID();
    const now = this.clock.now();
    const row = {
      id,
      requester_id: principal.id,
      requester_org_unit: principal.orgUnit,
      profile: checked.profile.name,
      issuer_id: request.issuer ?? null,
      method: request.method,
      csr_der: checked.csr.der,
      subject_alt_names: request.subjectAltNames?.map(({ type, value }) => ({ type, value })) ?? null,
      created_at: now,
      expires_at: new Date(now.getTime() + this.options.pendingMs),
    };
    const submitEvent: AuditEvent = {
      ...actor.audit,
      action: "enrollment.submit",
      target: target(id),
      details: { profile: row.profile, method: row.method, key: checked.csr.key.name },
    };

    if (checked.profile.approval === "auto" || enrollsWithoutApproval(principal)) {
      const issued = await this.ca.issue(requester, {
        ...issueRequest,
        enrollment: {
          id,
          record: async (tx, certificate) => {
            await insertEnrollment(tx, {
              ...row,
              status: "issued",
              certificate_issuer: certificate.issuer_id,
              certificate_serial: certificate.serial,
              encrypted_key: null,
            });
            return [submitEvent, this.issueEvent(actor, id, certificate.issuer_id, certificate.serial)];
          },
        },
      });
      const enrollment = await this.view(id);
      if (!generated.key) return { enrollment };
      return {
        enrollment,
        pkcs12: await this.pkcs12(issued, generated.key, request.serverKeyGeneration!.passphrase),
      };
    }

    // Pending: a server-generated key waits sealed under the requester's passphrase only.
    const encryptedKey = generated.key
      ? await sealPrivateKey(generated.key, request.serverKeyGeneration!.passphrase)
      : null;
    await this.db.transaction(async (tx) => {
      await insertEnrollment(tx, {
        ...row,
        status: "pending",
        certificate_issuer: null,
        certificate_serial: null,
        encrypted_key: encryptedKey,
      });
      await appendAudit(tx, this.clock, [submitEvent]);
    });
    return { enrollment: await this.view(id) };
  }

  /** The CSR of the request; for server-keygen, a key generated here and its CSR. */
  private async csrFor(request: SubmitRequest): Promise<{ csr: string | Buffer; key?: KeyObject }> {
    if (request.method !== "server-keygen") {
      if (request.serverKeyGeneration)
        throw badRequest(
          "enrollment-invalid",
          `method "${request.method}" takes a \`csr\`, not \`serverKeyGeneration\``,
        );
      if (request.csr === undefined)
        throw badRequest("csr-required", `method "${request.method}" needs the PKCS#10 request in \`csr\``);
      return { csr: request.csr };
    }
    if (request.csr !== undefined)
      throw badRequest("enrollment-invalid", 'method "server-keygen" generates the key here: send no `csr`');
    const generation = request.serverKeyGeneration;
    if (!generation)
      throw badRequest(
        "key-generation-required",
        'method "server-keygen" needs `serverKeyGeneration` {algorithm, passphrase}',
      );
    if ([...generation.passphrase].length < MIN_PASSPHRASE_LENGTH)
      throw badRequest(
        "passphrase-too-short",
        `the passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters`,
      );
    // Cheap checks before the (possibly slow) key generation; the CA checks them again.
    const profile = this.profiles.require(request.profile);
    if (!profile.keys.includes(generation.algorithm))
      throw badRequest(
        "csr-key-not-allowed",
        `profile "${profile.name}" does not allow ${generation.algorithm} keys (allowed: ${profile.keys.join(", ")})`,
      );
    return generateKeyAndCsr(generation.algorithm);
  }

  private async pkcs12(issued: IssuedCertificate, key: KeyObject, passphrase: string) {
    const privateKey = key.export({ format: "der", type: "pkcs8" });
    try {
      return await buildPkcs12({
        privateKey,
        chain: [issued.record.der, ...issued.issuer.chain],
        passphrase,
        friendlyName: `${issued.record.subject} (${issued.record.serial})`,
      });
    } finally {
      privateKey.fill(0);
    }
  }

  private issueEvent(actor: Actor, id: string, issuer: string, serial: string): AuditEvent {
    return {
      ...actor.audit,
      action: "enrollment.issue",
      target: target(id),
      details: { certificate: `${issuer}/${serial}` },
    };
  }

  // ---------------------------------------------------------------------------------------
  // Read

  private async view(id: string): Promise<EnrollmentView> {
    return enrollmentView((await getEnrollment(this.db, id))!);
  }

  /** The request, or 404 when there is none or the caller may not see it (existence does not leak). */
  async require(actor: Actor, id: string): Promise<EnrollmentListRow> {
    const row = UUID.test(id) ? await getEnrollment(this.db, id) : undefined;
    if (!row || (actor.principal && !canSeeEnrollment(actor.principal, row)))
      throw notFound(`enrolment request "${id}"`);
    return row;
  }

  async get(actor: Actor, id: string): Promise<EnrollmentView> {
    return enrollmentView(await this.require(actor, id), { withCsr: true });
  }

  /** Newest first, within the caller's scope; keyset-paginated. */
  async list(
    actor: Actor,
    query: EnrollmentQuery,
  ): Promise<{ items: EnrollmentView[]; nextCursor: string | null }> {
    if (query.requester !== undefined && !UUID.test(query.requester))
      throw badRequest("requester-invalid", "`requester` must be a principal id (UUID)");
    const rows = await searchEnrollments(this.db, {
      scope: actor.principal ? enrollmentScope(actor.principal) : { all: true },
      status: query.status,
      profile: query.profile,
      requesterId: query.requester,
      after: query.cursor ? parseEnrollmentCursor(query.cursor) : undefined,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      items: page.map((row) => enrollmentView(row)),
      nextCursor: rows.length > query.limit ? enrollmentCursor(page[page.length - 1]!) : null,
    };
  }

  // ---------------------------------------------------------------------------------------
  // Decide

  /**
   * Locks the request and checks that the actor may act on it: 404 outside its scope, then
   * `check` (who may, four eyes), then that its status is one of `from` (409 otherwise).
   */
  private async lockFor(
    tx: Queryable,
    actor: Actor,
    id: string,
    from: readonly EnrollmentStatus[],
    check: (row: EnrollmentRow) => void,
  ): Promise<EnrollmentRow> {
    const row = UUID.test(id) ? await lockEnrollment(tx, id) : undefined;
    if (!row || (actor.principal && !canSeeEnrollment(actor.principal, row)))
      throw notFound(`enrolment request "${id}"`);
    check(row);
    if (!from.includes(row.status))
      throw conflict(
        "enrollment-decided",
        `enrolment request "${id}" is ${row.status}, not ${from.join(" or ")}`,
      );
    if (row.status === "pending" && row.expires_at <= this.clock.now())
      throw conflict(
        "enrollment-expired",
        `enrolment request "${id}" expired at ${row.expires_at.toISOString()}`,
      );
    return row;
  }

  /**
   * Approves a pending request and issues its certificate; on an approved request whose
   * issuance failed, retries the issuance.
   */
  async approve(actor: Actor, id: string): Promise<EnrollmentView> {
    const row = await this.db.transaction(async (tx) => {
      const locked = await this.lockFor(tx, actor, id, ["pending", "approved"], (r) =>
        requireEnrollmentDecider(actor, r),
      );
      if (locked.status === "approved") return locked; // a retry: the decision stands
      const now = this.clock.now();
      await updateEnrollment(tx, id, ["pending"], {
        status: "approved",
        decidedBy: actor.audit.actor,
        decidedAt: now,
      });
      await notify(tx, {
        principalId: locked.requester_id,
        kind: "enrollment.approved",
        enrollmentId: id,
        message: `Your ${locked.profile} certificate request was approved.`,
        at: now,
      });
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "enrollment.approve",
          target: target(id),
          details: { profile: locked.profile, requester: locked.requester_id },
        },
      ]);
      return locked;
    });
    await this.issueApproved(actor, row);
    return this.view(id);
  }

  /** Issues an approved request as its requester; a failure stays on the request (retry by approving again). */
  private async issueApproved(actor: Actor, row: EnrollmentRow): Promise<void> {
    try {
      const principalRow = await getPrincipal(this.db, row.requester_id);
      if (!principalRow || principalRow.disabled_at)
        throw conflict(
          "requester-disabled",
          "the requester's account is disabled: no certificate is issued to it",
        );
      await this.ca.issue(
        { audit: actor.audit, principal: forItself(principalFromRow(principalRow)) },
        {
          csr: row.csr_der,
          profile: row.profile,
          issuer: row.issuer_id ?? undefined,
          subjectAltNames: (row.subject_alt_names as GeneralName[] | null) ?? undefined,
          enrollment: {
            id: row.id,
            record: async (tx, certificate) => {
              const moved = await updateEnrollment(tx, row.id, ["approved"], {
                status: "issued",
                issueError: null,
                certificate: { issuer: certificate.issuer_id, serial: certificate.serial },
              });
              // Another retry got there first: this certificate rolls back with this transaction.
              if (!moved)
                throw conflict("enrollment-decided", `enrolment request "${row.id}" is no longer approved`);
              await notify(tx, {
                principalId: row.requester_id,
                kind: "enrollment.issued",
                enrollmentId: row.id,
                message: `Your ${row.profile} certificate ${certificate.serial} was issued.`,
                at: this.clock.now(),
              });
              return [this.issueEvent(actor, row.id, certificate.issuer_id, certificate.serial)];
            },
          },
        },
      );
    } catch (error) {
      const known = error instanceof ServiceError;
      const text = known ? `${error.code}: ${error.message}` : "internal error (see the service log)";
      await this.db.transaction(async (tx) => {
        if (!(await updateEnrollment(tx, row.id, ["approved"], { issueError: text }))) return;
        await appendAudit(tx, this.clock, [
          {
            ...actor.audit,
            action: "enrollment.issue",
            target: target(row.id),
            outcome: "failure",
            details: { error: text },
          },
        ]);
      });
      if (!known) throw error;
      throw new ServiceError(
        error.status,
        error.code,
        `enrolment request "${row.id}" is approved, but issuing its certificate failed: ${error.message}. Approve it again to retry, or reject it`,
        { ...error.extensions, enrollmentStatus: "approved" },
      );
    }
  }

  /** Rejects a pending request (or an approved one whose issuance failed) with a reason. */
  async reject(actor: Actor, id: string, reason: string): Promise<EnrollmentView> {
    const text = reason.trim();
    if (!text) throw badRequest("reason-required", "a rejection states its reason");
    await this.db.transaction(async (tx) => {
      const row = await this.lockFor(tx, actor, id, ["pending", "approved"], (r) =>
        requireEnrollmentDecider(actor, r),
      );
      const now = this.clock.now();
      await updateEnrollment(tx, id, [row.status], {
        status: "rejected",
        decidedBy: actor.audit.actor,
        decidedAt: now,
        reason: text,
        eraseKey: true,
      });
      await notify(tx, {
        principalId: row.requester_id,
        kind: "enrollment.rejected",
        enrollmentId: id,
        message: `Your ${row.profile} certificate request was rejected: ${text}`,
        at: now,
      });
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "enrollment.reject", target: target(id), details: { reason: text } },
      ]);
    });
    return this.view(id);
  }

  /** The requester takes back its own request while it is pending (or approved but not issued). */
  async withdraw(actor: Actor, id: string): Promise<EnrollmentView> {
    await this.db.transaction(async (tx) => {
      const row = await this.lockFor(tx, actor, id, ["pending", "approved"], (r) => {
        if (actor.principal?.id !== r.requester_id)
          throw forbidden("only its requester withdraws an enrolment request");
      });
      await updateEnrollment(tx, id, [row.status], {
        status: "withdrawn",
        decidedBy: actor.audit.actor,
        decidedAt: this.clock.now(),
        eraseKey: true,
      });
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "enrollment.withdraw", target: target(id) },
      ]);
    });
    return this.view(id);
  }
}
