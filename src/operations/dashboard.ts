/**
 * The operations dashboard: one document of what a security admin watches (certificate
 * counts, expiries, today's revocations, CRL and OCSP freshness, key store health), computed
 * from a few aggregate statements (db/stores/dashboard.ts) run side by side.
 */
import type { Database } from "../../db/database.js";
import {
  type CertificateCounts,
  certificateCounts,
  latestCrls,
  ocspResponseSummaries,
  type StatusChangeCounts,
  type StatusCounts,
  statusChangeCounts,
} from "../../db/stores/dashboard.js";
import { newestSigners } from "../../db/stores/ocsp.js";
import { type KeyStore, KeyStoreError } from "../../hsm-adapters/key-store.js";
import type { IssuerRegistry } from "../ca/issuers.js";
import type { Clock } from "../clock.js";
import { startOfLocalDay } from "./local-day.js";

export interface DashboardPolicy {
  /** CA_EXPIRY_NOTICE_DAYS: the window of `expiringSoon`. */
  readonly noticeDays: number;
  /** CA_TIME_ZONE: whose midnight starts "today". */
  readonly timeZone: string;
  /**
   * How long before nextUpdate a pre-signed OCSP response is re-signed (half its validity,
   * see src/revocation/ocsp/responder.ts): responses closer to expiry than this are overdue.
   */
  readonly ocspRefreshMarginMs: number;
  /** How long the key store's health probe may take before it counts as failed. */
  readonly probeTimeoutMs?: number;
}

export interface CertificateFigures {
  readonly total: number;
  readonly good: number;
  readonly onHold: number;
  readonly revoked: number;
  readonly expired: number;
}

export interface CrlFigures {
  readonly number: number;
  readonly thisUpdate: string;
  readonly nextUpdate: string;
  readonly entries: number;
  /** nextUpdate is still ahead (RFC 5280 §5.1.2.5): relying parties accept it. */
  readonly fresh: boolean;
}

export interface DashboardDocument {
  readonly generatedAt: string;
  readonly certificates: {
    readonly byStatus: CertificateFigures;
    /** The 20 org units with the most certificates, most first. */
    readonly byOrgUnit: (CertificateFigures & { readonly orgUnit: string | null })[];
  };
  readonly expiringSoon: {
    readonly count: number;
    readonly windowDays: number;
    readonly from: string;
    readonly until: string;
  };
  readonly revocationsToday: StatusChangeCounts & {
    readonly timeZone: string;
    readonly since: string;
    readonly last24Hours: StatusChangeCounts & { readonly since: string };
  };
  readonly crl: {
    readonly issuer: string;
    readonly full: CrlFigures | null;
    readonly delta: CrlFigures | null;
  }[];
  readonly ocsp: {
    readonly issuer: string;
    readonly responses: number;
    readonly earliestNextUpdate: string | null;
    readonly expiringWithinMargin: number;
    readonly refreshMarginSeconds: number;
    /** The delegated responder certificate that signs (RFC 6960 §4.2.2.2); null before it exists. */
    readonly signer: {
      readonly serial: string;
      readonly notBefore: string;
      readonly notAfter: string;
      readonly valid: boolean;
    } | null;
  }[];
  readonly keyStore: {
    readonly kind: string;
    readonly ok: boolean;
    readonly latencyMs: number;
    /** The KeyStoreError code when the probe failed (never its message, which may name paths). */
    readonly error?: string;
  };
}

/** Org units listed under certificates.byOrgUnit. */
export const TOP_ORG_UNITS = 20;
const DAY_MS = 86_400_000;

const figures = (counts: Omit<StatusCounts, "expiring">): CertificateFigures => ({
  total: counts.total,
  good: counts.good,
  onHold: counts.on_hold,
  revoked: counts.revoked,
  expired: counts.expired,
});

export class Dashboard {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly keyStore: KeyStore,
    private readonly issuers: IssuerRegistry,
    private readonly policy: DashboardPolicy,
  ) {}

  async compute(): Promise<DashboardDocument> {
    const now = this.clock.now();
    const expiringUntil = new Date(now.getTime() + this.policy.noticeDays * DAY_MS);
    const midnight = startOfLocalDay(now, this.policy.timeZone);
    const dayAgo = new Date(now.getTime() - DAY_MS);
    const marginEnd = new Date(now.getTime() + this.policy.ocspRefreshMarginMs);
    // Independent statements: on PostgreSQL they run on separate pool connections at once.
    const [counts, [today, lastDay], crls, ocsp, signers, keyStore] = await Promise.all([
      certificateCounts(this.db, now, expiringUntil, TOP_ORG_UNITS),
      statusChangeCounts(this.db, midnight, dayAgo),
      latestCrls(this.db),
      ocspResponseSummaries(this.db, marginEnd),
      newestSigners(this.db),
      this.probeKeyStore(),
    ]);
    const issuerIds = this.issuers
      .all()
      .map((issuer) => issuer.row.id)
      .sort();
    const crl = (issuerId: string, kind: "full" | "delta"): CrlFigures | null => {
      const row = crls.find((candidate) => candidate.issuer_id === issuerId && candidate.kind === kind);
      return row
        ? {
            number: row.number,
            thisUpdate: row.this_update.toISOString(),
            nextUpdate: row.next_update.toISOString(),
            entries: row.entries,
            fresh: row.next_update > now,
          }
        : null;
    };
    return {
      generatedAt: now.toISOString(),
      certificates: certificateSection(counts),
      expiringSoon: {
        count: counts.all.expiring,
        windowDays: this.policy.noticeDays,
        from: now.toISOString(),
        until: expiringUntil.toISOString(),
      },
      revocationsToday: {
        timeZone: this.policy.timeZone,
        since: midnight.toISOString(),
        ...today,
        last24Hours: { since: dayAgo.toISOString(), ...lastDay },
      },
      crl: issuerIds.map((issuer) => ({ issuer, full: crl(issuer, "full"), delta: crl(issuer, "delta") })),
      ocsp: issuerIds.map((issuer) => {
        const summary = ocsp.find((row) => row.issuer_id === issuer);
        const signer = signers.find((row) => row.issuer_id === issuer);
        return {
          issuer,
          responses: summary?.responses ?? 0,
          earliestNextUpdate: summary?.earliest_next_update?.toISOString() ?? null,
          expiringWithinMargin: summary?.within_margin ?? 0,
          refreshMarginSeconds: Math.round(this.policy.ocspRefreshMarginMs / 1000),
          signer: signer
            ? {
                serial: signer.serial,
                notBefore: signer.not_before.toISOString(),
                notAfter: signer.not_after.toISOString(),
                valid: signer.not_before <= now && now < signer.not_after,
              }
            : null,
        };
      }),
      keyStore,
    };
  }

  /** KeyStore.probe(), timed; a probe that hangs counts as failed after probeTimeoutMs. */
  private async probeKeyStore(): Promise<DashboardDocument["keyStore"]> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new KeyStoreError("unavailable", "probe timed out")),
        this.policy.probeTimeoutMs ?? 5000,
      );
    });
    let error: string | undefined;
    try {
      await Promise.race([this.keyStore.probe(), timeout]);
    } catch (failure) {
      error = failure instanceof KeyStoreError ? failure.code : "unavailable";
    } finally {
      clearTimeout(timer);
    }
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    return { kind: this.keyStore.kind, ok: error === undefined, latencyMs, ...(error ? { error } : {}) };
  }
}

function certificateSection(counts: CertificateCounts): DashboardDocument["certificates"] {
  return {
    byStatus: figures(counts.all),
    byOrgUnit: counts.units.map((unit) => ({ orgUnit: unit.org_unit, ...figures(unit) })),
  };
}
