/**
 * Dual control for CA key operations (GM/T 0034; CA/B BR §6.1.1.1): creating an issuing CA,
 * rolling an issuing CA's key over, and retiring an issuer each need two different security
 * admins: one requests, another approves, and only the approval runs it. Requests expire
 * after 24 hours; the records of the operation name both people.
 */
import { randomUUID } from "node:crypto";
import type { Database } from "../../../db/database.js";
import {
  type CaOperationKind,
  type CaOperationRow,
  decideCaOperation,
  insertCaOperation,
  listCaOperations,
  lockCaOperation,
} from "../../../db/stores/ca-operations.js";
import { retireIssuer } from "../../../db/stores/issuers.js";
import { KEY_ALGORITHMS, type KeyAlgorithm, type KeyStore } from "../../../hsm-adapters/key-store.js";
import { appendAudit } from "../../audit/log.js";
import type { Actor } from "../../auth/principal.js";
import type { Clock } from "../../clock.js";
import { badRequest, conflict, forbidden, notFound } from "../../errors.js";
import { createCa, type HierarchyContext } from "../hierarchy.js";
import type { IssuerRegistry } from "../issuers.js";

export const OPERATION_LIFETIME_MS = 24 * 3600 * 1000;
const ISSUER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface CreateIssuingParameters {
  readonly id: string;
  readonly commonName: string;
  readonly parent: string;
  readonly algorithm: KeyAlgorithm;
  readonly validityYears: number;
}
export interface RolloverParameters {
  readonly issuer: string;
  readonly newId: string;
  readonly commonName: string;
  readonly algorithm?: KeyAlgorithm;
  readonly validityYears?: number;
}
export interface RetireParameters {
  readonly issuer: string;
}

export class DualControl {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly keyStore: KeyStore,
    private readonly issuers: IssuerRegistry,
    private readonly hierarchy: Omit<HierarchyContext, "db" | "keyStore" | "clock">,
  ) {}

  /** Checks the parameters now, so that a request that cannot run is refused at once. */
  private validate(kind: CaOperationKind, parameters: Record<string, unknown>): void {
    const issuerId = (value: unknown, what: string) => {
      if (typeof value !== "string" || !ISSUER_ID.test(value))
        throw badRequest("parameters-invalid", `${what} must be an issuer id like "issuing-2"`);
      return value;
    };
    const fresh = (value: unknown, what: string) => {
      const id = issuerId(value, what);
      if (this.issuers.find(id)) throw conflict("issuer-exists", `issuer "${id}" exists already`);
    };
    const existing = (value: unknown, what: string) => {
      const issuer = this.issuers.find(issuerId(value, what));
      if (!issuer)
        throw badRequest("issuer-unknown", `${what} "${String(value)}" is not an issuer of this CA`);
      return issuer;
    };
    const algorithm = parameters.algorithm;
    if (algorithm !== undefined && !KEY_ALGORITHMS.includes(algorithm as KeyAlgorithm))
      throw badRequest("parameters-invalid", `algorithm must be one of ${KEY_ALGORITHMS.join(", ")}`);
    switch (kind) {
      case "create-issuing-ca":
        fresh(parameters.id, "id");
        if (existing(parameters.parent, "parent").row.kind !== "root")
          throw badRequest("parameters-invalid", "an issuing CA's parent must be a root CA");
        break;
      case "rollover-issuing-ca": {
        fresh(parameters.newId, "newId");
        const old = existing(parameters.issuer, "issuer");
        if (old.row.kind !== "issuing" || old.row.status !== "active")
          throw badRequest("parameters-invalid", `issuer "${old.row.id}" is not an active issuing CA`);
        break;
      }
      case "retire-issuer":
        if (existing(parameters.issuer, "issuer").row.status !== "active")
          throw conflict("issuer-retired", `issuer "${String(parameters.issuer)}" is retired already`);
        break;
    }
  }

  async request(
    actor: Actor,
    kind: CaOperationKind,
    parameters: Record<string, unknown>,
  ): Promise<CaOperationRow> {
    const requester = requireSecurityAdmin(actor);
    this.validate(kind, parameters);
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const row = await insertCaOperation(tx, {
        id: randomUUID(),
        kind,
        parameters,
        requested_by: requester,
        requested_at: now,
        expires_at: new Date(now.getTime() + OPERATION_LIFETIME_MS),
      });
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "ca-operation.request",
          target: `ca-operation:${row.id}`,
          details: { kind, parameters },
        },
      ]);
      return row;
    });
  }

  list(): Promise<CaOperationRow[]> {
    return listCaOperations(this.db);
  }

  /** Marks the operation decided (under its row lock) after checking the four-eyes rule. */
  private async decide(
    actor: Actor,
    id: string,
    status: "executing" | "rejected",
    reason?: string,
  ): Promise<CaOperationRow> {
    const approver = requireSecurityAdmin(actor);
    return this.db.transaction(async (tx) => {
      const row = await lockCaOperation(tx, id);
      if (!row) throw notFound(`CA operation "${id}"`);
      if (row.status !== "pending")
        throw conflict("operation-decided", `CA operation "${id}" is ${row.status}, not pending`);
      if (row.expires_at <= this.clock.now())
        throw conflict(
          "operation-expired",
          `CA operation "${id}" expired at ${row.expires_at.toISOString()}; request it again`,
        );
      if (row.requested_by === approver)
        throw forbidden(
          "dual control: the operation must be approved or rejected by a security admin other than the one who requested it",
        );
      const decided = await decideCaOperation(tx, id, {
        status,
        decidedBy: approver,
        decidedAt: this.clock.now(),
        reason: reason ?? null,
      });
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: status === "rejected" ? "ca-operation.reject" : "ca-operation.approve",
          target: `ca-operation:${id}`,
          details: {
            kind: row.kind,
            requestedBy: row.requested_by,
            decidedBy: approver,
            ...(reason ? { reason } : {}),
          },
        },
      ]);
      return decided;
    });
  }

  reject(actor: Actor, id: string, reason: string): Promise<CaOperationRow> {
    return this.decide(actor, id, "rejected", reason);
  }

  /** Approves and runs the operation; its result (or failure) is recorded on the operation. */
  async approve(actor: Actor, id: string): Promise<CaOperationRow> {
    const operation = await this.decide(actor, id, "executing");
    const dual = { operation: id, requestedBy: operation.requested_by, approvedBy: operation.decided_by };
    try {
      const result = await this.execute(actor, operation, dual);
      await this.issuers.reload();
      return await this.db.transaction((tx) => decideCaOperation(tx, id, { status: "executed", result }));
    } catch (error) {
      await this.db.transaction(async (tx) => {
        await decideCaOperation(tx, id, { status: "failed", result: { error: (error as Error).message } });
        await appendAudit(tx, this.clock, [
          {
            ...actor.audit,
            action: "ca-operation.fail",
            target: `ca-operation:${id}`,
            outcome: "failure",
            details: { error: (error as Error).message },
          },
        ]);
      });
      throw error;
    }
  }

  private async execute(
    actor: Actor,
    operation: CaOperationRow,
    dual: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const context = { ...this.hierarchy, db: this.db, keyStore: this.keyStore, clock: this.clock };
    switch (operation.kind) {
      case "create-issuing-ca": {
        const p = operation.parameters as unknown as CreateIssuingParameters;
        await createCa(context, actor, {
          id: p.id,
          commonName: p.commonName,
          algorithm: p.algorithm,
          validityYears: p.validityYears,
          parent: this.issuers.get(p.parent),
          pathLength: 0,
          auditDetails: dual,
        });
        return { issuer: p.id };
      }
      case "rollover-issuing-ca": {
        const p = operation.parameters as unknown as RolloverParameters;
        const old = this.issuers.get(p.issuer);
        await createCa(context, actor, {
          id: p.newId,
          commonName: p.commonName,
          algorithm: p.algorithm ?? (old.row.key_algorithm as KeyAlgorithm),
          validityYears: p.validityYears ?? 10,
          parent: this.issuers.get(old.row.parent_id!),
          pathLength: 0,
          auditDetails: { ...dual, replaces: old.row.id },
        });
        await this.retire(actor, old.row.id, { ...dual, replacedBy: p.newId });
        return { issuer: p.newId, retired: old.row.id };
      }
      case "retire-issuer": {
        const p = operation.parameters as unknown as RetireParameters;
        await this.retire(actor, p.issuer, dual);
        return { retired: p.issuer };
      }
    }
  }

  /** A retired issuer issues nothing new; its key stays to sign CRLs and OCSP for what it issued. */
  private async retire(actor: Actor, issuerId: string, details: Record<string, unknown>): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (!(await retireIssuer(tx, issuerId)))
        throw conflict("issuer-retired", `issuer "${issuerId}" is retired already`);
      await appendAudit(tx, this.clock, [
        { ...actor.audit, action: "ca.retire", target: `issuer:${issuerId}`, details },
      ]);
    });
  }
}

function requireSecurityAdmin(actor: Actor): string {
  if (!actor.principal?.roles.includes("security-admin"))
    throw forbidden("CA key operations are for security admins");
  return actor.principal.id;
}
