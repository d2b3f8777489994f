/**
 * Revoke, hold (certificateHold, required by GM/T 0034) and release. Each change locks the
 * certificate row, checks who may do it on this certificate, updates it and writes the audit
 * record in one transaction; keyCompromise also puts the public key on the blocklist so it is
 * never certified again. Listeners (OCSP re-signing, CRL publication, SSO sessions) hear of
 * each committed change.
 *
 *   good ──revoke──▶ revoked          good ──hold──▶ on-hold ──release──▶ good
 *                                     on-hold ──revoke──▶ revoked
 */
import type { Database } from "../../db/database.js";
import { blockKey } from "../../db/stores/blocklist.js";
import type { CertificateRow, CertificateStatus } from "../../db/stores/certificates.js";
import { findBySerial } from "../../db/stores/certificates.js";
import { countChange, lockCertificate, setStatus } from "../../db/stores/revocations.js";
import { appendAudit } from "../audit/log.js";
import { canSeeCertificate } from "../auth/policy.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest, conflict, notFound } from "../errors.js";
import { REASON_CODES, type RevocationReason } from "./reasons.js";

export interface CertificateRef {
  readonly serial: string;
  /** Needed only when the serial exists under several issuers. */
  readonly issuer?: string | undefined;
}

export interface StatusChanged {
  readonly issuerId: string;
  readonly serial: string;
  readonly status: CertificateStatus;
  readonly reason: number | null;
  readonly at: Date;
  readonly ownerId: string | null;
  readonly spkiSha256: Buffer;
}

export type StatusListener = (change: StatusChanged) => Promise<void> | void;

type Operation =
  | { kind: "revoke"; reason: RevocationReason; invalidityDate?: Date | undefined }
  | { kind: "hold" }
  | { kind: "release" };

export class Revocations {
  private readonly listeners: StatusListener[] = [];

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Called after each committed change, in order; a failing listener is reported, not fatal. */
  onChange(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  revoke(
    actor: Actor,
    ref: CertificateRef,
    reason: RevocationReason,
    invalidityDate?: Date,
  ): Promise<CertificateRow> {
    return this.change(actor, ref, { kind: "revoke", reason, invalidityDate });
  }

  hold(actor: Actor, ref: CertificateRef): Promise<CertificateRow> {
    return this.change(actor, ref, { kind: "hold" });
  }

  release(actor: Actor, ref: CertificateRef): Promise<CertificateRow> {
    return this.change(actor, ref, { kind: "release" });
  }

  /**
   * The one certificate a reference names. Scope is enforced here: a security admin sees all,
   * an RA operator its subtree, a subscriber (the holder) its own; anything else is a 404.
   */
  private async resolve(actor: Actor, ref: CertificateRef): Promise<CertificateRow> {
    const rows = (await findBySerial(this.db, ref.serial, ref.issuer)).filter(
      (row) => !actor.principal || canSeeCertificate(actor.principal, row),
    );
    if (rows.length === 0) throw notFound(`certificate ${ref.serial}`);
    if (rows.length > 1)
      throw conflict(
        "serial-ambiguous",
        `serial ${ref.serial} exists under several issuers: name the issuer`,
      );
    return rows[0]!;
  }

  private async change(actor: Actor, ref: CertificateRef, operation: Operation): Promise<CertificateRow> {
    const found = await this.resolve(actor, ref);
    const now = this.clock.now();
    if (operation.kind === "revoke" && operation.invalidityDate && operation.invalidityDate > now)
      throw badRequest(
        "invalidity-date-future",
        "the invalidity date cannot be in the future (RFC 5280 §5.3.2)",
      );
    const result = await this.db.transaction(async (tx) => {
      const row = await lockCertificate(tx, found.issuer_id, found.serial);
      if (!row) throw notFound(`certificate ${ref.serial}`);
      const next = transition(row, operation);
      const at = new Date(Math.floor(now.getTime() / 1000) * 1000); // whole seconds, as CRLs and OCSP carry it
      const reason =
        operation.kind === "revoke"
          ? REASON_CODES[operation.reason]
          : operation.kind === "hold"
            ? REASON_CODES.certificateHold
            : null;
      const invalidityDate =
        operation.kind === "revoke" && operation.invalidityDate ? truncate(operation.invalidityDate) : null;
      await setStatus(tx, row.issuer_id, row.serial, { status: next, at, reason, invalidityDate });
      await countChange(tx, row.issuer_id);
      if (operation.kind === "revoke" && operation.reason === "keyCompromise")
        await blockKey(tx, row.spki_sha256, `keyCompromise of ${row.issuer_id}/${row.serial}`);
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: `certificate.${operation.kind}`,
          target: `certificate:${row.issuer_id}/${row.serial}`,
          details: {
            from: row.status,
            to: next,
            ...(operation.kind === "revoke" ? { reason: operation.reason } : {}),
            ...(invalidityDate ? { invalidityDate: invalidityDate.toISOString() } : {}),
          },
        },
      ]);
      return {
        ...row,
        status: next,
        revoked_at: next === "good" ? null : at,
        revocation_reason: reason,
        invalidity_date: invalidityDate,
      };
    });
    await this.notify({
      issuerId: result.issuer_id,
      serial: result.serial,
      status: result.status,
      reason: result.revocation_reason,
      at: result.revoked_at ?? now,
      ownerId: result.owner_id,
      spkiSha256: result.spki_sha256,
    });
    return result;
  }

  private async notify(change: StatusChanged): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(change);
      } catch (error) {
        // The change is committed; a listener that failed (an OCSP re-sign while the HSM is
        // down, say) is caught up by its own periodic job.
        process.emitWarning(
          `status listener failed for ${change.issuerId}/${change.serial}: ${(error as Error).message}`,
        );
      }
    }
  }
}

const truncate = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

/** The status after `operation`, or the precise reason it is not allowed from `row.status`. */
function transition(row: CertificateRow, operation: Operation): CertificateStatus {
  const name = `certificate ${row.serial}`;
  switch (operation.kind) {
    case "revoke":
      if (row.status === "revoked") throw conflict("certificate-revoked", `${name} is already revoked`);
      return "revoked";
    case "hold":
      if (row.status === "revoked")
        throw conflict("certificate-revoked", `${name} is revoked; a revoked certificate cannot be held`);
      if (row.status === "on-hold") throw conflict("certificate-on-hold", `${name} is already on hold`);
      return "on-hold";
    case "release":
      if (row.status !== "on-hold")
        throw conflict(
          "certificate-not-on-hold",
          `${name} is ${row.status}; only a certificate on hold can be released`,
        );
      return "good";
  }
}
