/**
 * Issuing an end-entity certificate from a CSR. Each step is numbered as in the code:
 * the RA decisions (profile, caller, subject) come first, then the CA builds, lints and
 * signs, and the certificate and its audit record commit in one transaction.
 */

import { CoalescedLookup } from "../../db/coalesce.js";
import type { Database, Queryable } from "../../db/database.js";
import { GroupCommitter } from "../../db/group-commit.js";
import { blockedKeys } from "../../db/stores/blocklist.js";
import { insertCertificates, type NewCertificate } from "../../db/stores/certificates.js";
import { type AuditEvent, appendAudit } from "../audit/log.js";
import { actingIn, requestsForItself } from "../auth/policy.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { badRequest, forbidden, ServiceError } from "../errors.js";
import type { OrgUnitDirectory } from "../identity/org-units.js";
import { encodeTbsCertificate } from "../pki/certificate.js";
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoints,
  extendedKeyUsage,
  freshestCrl,
  keyIdentifier,
  keyUsage,
  ocspNoCheck,
  subjectAltName,
  subjectKeyIdentifier,
} from "../pki/extensions.js";
import type { GeneralName } from "../pki/general-name.js";
import { encodeName, formatName } from "../pki/name.js";
import { spkiSha256 } from "../pki/public-key.js";
import { type ParsedCsr, parseCsr } from "./csr.js";
import { type Issuer, type IssuerRegistry, issuerUrls } from "./issuers.js";
import { lintCertificate } from "./lint.js";
import { keyUsagesFor, type Profile } from "./profile.js";
import type { ProfileRegistry } from "./profiles.js";
import { newSerial, serialHex } from "./serial.js";
import { type ResolvedSubject, resolveSubject, type SubjectRequest } from "./subject.js";

export interface IssueRequest {
  readonly csr: Uint8Array | string;
  readonly profile: string;
  readonly issuer?: string | undefined;
  readonly subject?: SubjectRequest | undefined;
  /** Names for subjectAltName; when absent, those requested in the CSR are considered. */
  readonly subjectAltNames?: readonly GeneralName[] | undefined;
  /** Set by the RA (src/ra) only: the enrolment request this issuance carries out. */
  readonly enrollment?: EnrollmentLink | undefined;
}

/**
 * What an enrolment request adds to its certificate's issuance: its id (in the audit record)
 * and the rows that record the request as issued, written in the certificate's transaction so
 * that the certificate exists exactly when its request says issued.
 */
export interface EnrollmentLink {
  readonly id: string;
  /** Writes the request's rows; answers their audit events (appended after the certificate's). Throwing rolls the certificate back. */
  record(tx: Queryable, certificate: NewCertificate): Promise<AuditEvent[]>;
}

/** An issuance request that passed the RA checks (steps 1 to 4): what signing would need. */
export interface CheckedRequest {
  readonly profile: Profile;
  readonly requester: Actor;
  readonly issuer: Issuer;
  readonly csr: ParsedCsr;
  readonly usages: NonNullable<ReturnType<typeof keyUsagesFor>>;
  readonly spkiHash: Buffer;
  readonly subject: ResolvedSubject;
}

export interface IssuedCertificate {
  readonly record: NewCertificate;
  readonly issuer: Issuer;
}

export interface CertificateAuthorityOptions {
  readonly publicBaseUrl: string;
  readonly country: string;
  readonly organization: string;
  /** Seconds notBefore is set in the past, for relying parties with slow clocks. */
  readonly backdateSeconds?: number;
}

interface PendingWrite {
  record: NewCertificate;
  event: AuditEvent;
  enrollment: EnrollmentLink | undefined;
  /** What each writer prepared for this certificate, in the order of `writers`. */
  prepared: unknown[];
}

/**
 * More rows for each new certificate, recorded in the transaction that records it: prepared
 * per certificate before (outside any transaction: signing, say), written per batch inside.
 */
export interface IssuanceWriter<Prepared> {
  prepare(issued: IssuedCertificate): Promise<Prepared>;
  write(tx: Queryable, prepared: readonly Prepared[]): Promise<void>;
}

export class CertificateAuthority {
  private readonly committer: GroupCommitter<PendingWrite>;
  /** Blocklist lookups of concurrent requests share one query. */
  private readonly blocklist: CoalescedLookup<Buffer, boolean>;
  /** Issuances under way, so that shutdown waits for them (a signed certificate must be recorded). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly writers: IssuanceWriter<unknown>[] = [];

  /**
   * Adds rows recorded with each certificate: prepared (outside the transaction) once the
   * certificate is signed, written in the transaction that records it, after the certificates
   * and before their audit records, so they commit or roll back together (e.g. the new
   * certificates' pre-signed OCSP responses: none exists without its answer).
   */
  withinIssuance<Prepared>(writer: IssuanceWriter<Prepared>): void {
    this.writers.push(writer as IssuanceWriter<unknown>);
  }

  constructor(
    db: Database,
    private readonly clock: Clock,
    private readonly issuers: IssuerRegistry,
    private readonly profiles: ProfileRegistry,
    private readonly orgUnits: OrgUnitDirectory,
    private readonly options: CertificateAuthorityOptions,
  ) {
    this.committer = new GroupCommitter(db, (tx, items) => this.write(tx, items), {
      maxBatch: 64,
      maxInFlight: db.engine === "postgres" ? 2 : 1,
    });
    this.blocklist = new CoalescedLookup((hashes) => blockedKeys(db, hashes));
  }

  /** Resolves when every issuance under way has been committed or has failed. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async write(tx: Queryable, items: readonly PendingWrite[]): Promise<void> {
    await insertCertificates(
      tx,
      items.map((item) => item.record),
    );
    for (const [index, writer] of this.writers.entries())
      await writer.write(
        tx,
        items.map((item) => item.prepared[index]),
      );
    const events: AuditEvent[] = [];
    for (const item of items) {
      events.push(item.event);
      if (item.enrollment) events.push(...(await item.enrollment.record(tx, item.record)));
    }
    // The audit records go in unsealed, with the certificates; they are chained after the commit (src/audit/sealer.ts).
    await appendAudit(tx, this.clock, events);
  }

  issue(actor: Actor, request: IssueRequest): Promise<IssuedCertificate> {
    const issuance = this.issueCertificate(actor, request);
    this.inFlight.add(issuance);
    void issuance.finally(() => this.inFlight.delete(issuance)).catch(() => undefined);
    return issuance;
  }

  /**
   * Steps 1 to 4 alone (profile, caller, issuer, CSR and key policy, subject and names), without
   * signing: the RA runs them when a request is submitted, so that a request that could not be
   * issued never waits for an RA operator. Every refusal is the same problem issuance gives.
   */
  check(actor: Actor, request: IssueRequest): Promise<CheckedRequest> {
    return this.checkRequest(actor, request, false);
  }

  private async checkRequest(actor: Actor, request: IssueRequest, direct: boolean): Promise<CheckedRequest> {
    // Step 1: the profile, and in which of its roles this caller may request it: the widest
    // role the profile lists decides the subject (a subscriber only for itself).
    await this.profiles.fresh();
    const profile = this.profiles.require(request.profile);
    const requester = actingIn(actor, profile.requesters, `request "${profile.name}" certificates`);

    // Step 1b: a profile that waits for an RA operator is never issued straight to a subscriber
    // for itself: that goes through an enrolment request (src/ra), which names itself once
    // approved. Security admins and RA operators, who approve, issue directly.
    if (
      direct &&
      profile.approval === "ra-operator" &&
      requester.principal &&
      requestsForItself(requester.principal)
    )
      throw forbidden(
        `profile "${profile.name}" needs an RA operator's approval: submit an enrolment request with POST /api/v1/enrollments`,
      );

    // Step 2: the issuing CA.
    const issuer = request.issuer ? this.issuers.get(request.issuer) : this.issuers.defaultIssuing();
    if (!issuer) throw new ServiceError(503, "no-issuing-ca", "no issuing CA is configured: run `ca init`");
    if (issuer.row.kind !== "issuing" || issuer.row.status !== "active")
      throw badRequest(
        "issuer-not-issuing",
        `issuer "${issuer.row.id}" does not issue end-entity certificates`,
      );

    // Step 3: the CSR: structure, proof of possession, global key policy (RFC 2986).
    const csr = await parseCsr(request.csr);
    if (!profile.keys.includes(csr.key.name))
      throw badRequest(
        "csr-key-not-allowed",
        `profile "${profile.name}" does not allow ${csr.key.name} keys (allowed: ${profile.keys.join(", ")})`,
      );
    const usages = keyUsagesFor(profile, csr.key.kind);
    if (!usages)
      throw badRequest(
        "csr-key-not-allowed",
        `profile "${profile.name}" has no key usage for ${csr.key.kind} keys`,
      );
    const spkiHash = spkiSha256(csr.spki);
    if (await this.blocklist.get(spkiHash))
      throw badRequest(
        "csr-key-blocklisted",
        "this public key is on the compromised-key blocklist and cannot be certified",
      );

    // Step 4: the subject and subjectAltNames, from the caller's authorization.
    const subject = await resolveSubject(requester, profile, this.orgUnits, this.options, {
      subject: request.subject,
      names: request.subjectAltNames ?? csr.requestedNames ?? [],
    });
    return { profile, requester, issuer, csr, usages, spkiHash, subject };
  }

  private async issueCertificate(actor: Actor, request: IssueRequest): Promise<IssuedCertificate> {
    const { profile, issuer, csr, usages, spkiHash, subject } = await this.checkRequest(
      actor,
      request,
      request.enrollment === undefined,
    );

    // Step 5: validity, within the issuer's (RFC 5280 §4.1.2.5; never outlive the issuer).
    const now = this.clock.now();
    const start = new Date(
      Math.floor(now.getTime() / 1000) * 1000 - (this.options.backdateSeconds ?? 60) * 1000,
    );
    const notBefore = start < issuer.row.not_before ? issuer.row.not_before : start;
    const wanted = new Date(notBefore.getTime() + profile.validityDays * 86_400_000 - 1000);
    const notAfter = wanted > issuer.row.not_after ? issuer.row.not_after : wanted;

    // Step 6: the extensions (RFC 5280 §4.2).
    const serial = newSerial();
    const urls = issuerUrls(this.options.publicBaseUrl, issuer.row.id);
    const subjectDer = encodeName(subject.name);
    const extensions = [
      basicConstraints(false),
      keyUsage(usages),
      ...(profile.extendedKeyUsage.length ? [extendedKeyUsage(profile.extendedKeyUsage)] : []),
      subjectKeyIdentifier(keyIdentifier(csr.spki)),
      authorityKeyIdentifier(issuer.row.key_id),
      ...(subject.names.length ? [subjectAltName(subject.names, false)] : []),
      authorityInfoAccess({
        caIssuers: urls.certificate,
        ...(profile.ocspNoCheck ? {} : { ocsp: urls.ocsp }),
      }),
      ...(profile.ocspNoCheck
        ? [ocspNoCheck()]
        : [crlDistributionPoints([urls.crl]), freshestCrl([urls.deltaCrl])]),
    ];

    // Step 7: lint what we are about to sign.
    lintCertificate({
      serial,
      notBefore,
      notAfter,
      issuerNotBefore: issuer.row.not_before,
      issuerNotAfter: issuer.row.not_after,
      subjectAttributes: subject.name.length,
      names: subject.names,
      keyUsage: usages,
      isCa: false,
    });

    // Step 8: sign through the key store.
    const tbs = encodeTbsCertificate({
      serial,
      signatureAlgorithm: issuer.signer.algorithmIdentifier,
      issuer: issuer.row.subject_der,
      notBefore,
      notAfter,
      subject: subjectDer,
      subjectPublicKeyInfo: csr.spki,
      extensions,
    });
    const der = await issuer.signer.signStructure(tbs);

    // Step 9: store the certificate and its audit record in one transaction.
    const record: NewCertificate = {
      issuer_id: issuer.row.id,
      serial: serialHex(serial),
      profile: profile.name,
      subject: formatName(subject.name),
      org_unit: subject.orgUnit,
      owner_id: subject.ownerId,
      spki_sha256: spkiHash,
      sans: subject.names.map((name) => ({ type: name.type, value: name.value })),
      not_before: notBefore,
      not_after: notAfter,
      der,
      issued_at: now,
      request_id: actor.audit.requestId ?? null,
    };
    const prepared = await Promise.all(this.writers.map((writer) => writer.prepare({ record, issuer })));
    await this.committer.submit({
      record,
      prepared,
      enrollment: request.enrollment,
      event: {
        ...actor.audit,
        action: "certificate.issue",
        target: `certificate:${issuer.row.id}/${record.serial}`,
        details: {
          profile: profile.name,
          subject: record.subject,
          key: csr.key.name,
          notAfter: notAfter.toISOString(),
          ...(request.enrollment ? { enrollment: request.enrollment.id } : {}),
        },
      },
    });
    return { record, issuer };
  }
}
