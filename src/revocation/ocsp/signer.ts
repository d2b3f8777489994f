/**
 * Delegated OCSP responders (RFC 6960 §4.2.2.2): each issuer certifies a key of its own
 * responder with the `ocsp-signer` profile (id-kp-OCSPSigning, id-pkix-ocsp-nocheck, so
 * clients need not check the responder's own status, §4.2.2.2.1). The CA key then signs only
 * the responder certificates; the responder key, generated in the key store, signs the
 * responses. A responder certificate is renewed when less than a third of its validity
 * remains, so a new one is in use long before the old one expires; the old one stays valid
 * for the responses it signed (their nextUpdate is far shorter than that third).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "../../../db/database.js";
import {
  insertSigner,
  lockSignerIssuance,
  newestSigner,
  type OcspSignerRow,
} from "../../../db/stores/ocsp.js";
import type { KeyAlgorithm, KeyStore } from "../../../hsm-adapters/key-store.js";
import { appendAudit } from "../../audit/log.js";
import { type Actor, systemActor } from "../../auth/principal.js";
import type { IssuerRegistry } from "../../ca/issuers.js";
import { issuerUrls } from "../../ca/issuers.js";
import { lintCertificate } from "../../ca/lint.js";
import { keyUsagesFor } from "../../ca/profile.js";
import type { ProfileRegistry } from "../../ca/profiles.js";
import { newSerial, serialHex } from "../../ca/serial.js";
import type { Clock } from "../../clock.js";
import { ServiceError } from "../../errors.js";
import { defaultSignatureAlgorithm } from "../../pki/algorithms.js";
import { encodeTbsCertificate } from "../../pki/certificate.js";
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  extendedKeyUsage,
  keyIdentifier,
  keyUsage,
  ocspNoCheck,
  subjectKeyIdentifier,
} from "../../pki/extensions.js";
import { encodeName, type Name } from "../../pki/name.js";
import { OID } from "../../pki/oids.js";
import { spkiSha256 } from "../../pki/public-key.js";
import { X509Signer } from "../../pki/signer.js";
import { certificateParts } from "./cert-id.js";

export const SIGNER_PROFILE = "ocsp-signer";

export interface ResponderSigner {
  readonly issuerId: string;
  readonly serial: string;
  readonly certificate: Buffer;
  readonly signer: X509Signer;
  /** SHA-1 of the responder's subjectPublicKey bits: ResponderID byKey (RFC 6960 §4.2.1). */
  readonly keyHash: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface SignerOptions {
  readonly publicBaseUrl: string;
  readonly country: string;
  readonly organization: string;
}

/** Profile key names of the key store's algorithms. */
const PROFILE_KEY: Record<KeyAlgorithm, string> = {
  "ecdsa-p256": "ec:P-256",
  "ecdsa-p384": "ec:P-384",
  "rsa-2048": "rsa:2048",
  "rsa-3072": "rsa:3072",
  "rsa-4096": "rsa:4096",
  ed25519: "ed25519",
};
const KEY_KIND = (algorithm: KeyAlgorithm) =>
  algorithm.startsWith("ecdsa-") ? "ec" : algorithm.startsWith("rsa-") ? "rsa" : "ed25519";

/**
 * Whether a responder certificate should be replaced: less than a third of its validity left,
 * unless it already lasts as long as its issuer (a new one could not last longer).
 */
export function needsRenewal(
  signer: { notBefore: Date; notAfter: Date },
  issuerNotAfter: Date,
  now: Date,
): boolean {
  if (signer.notBefore > now) return true;
  const life = signer.notAfter.getTime() - signer.notBefore.getTime();
  const left = signer.notAfter.getTime() - now.getTime();
  if (left <= 0) return true;
  return left < life / 3 && signer.notAfter < issuerNotAfter;
}

export class OcspSigners {
  private readonly current = new Map<string, ResponderSigner>();
  private readonly pending = new Map<string, Promise<ResponderSigner>>();
  /** Responder certificates this instance issued, newest last (for reports). */
  private readonly issued: ResponderSigner[] = [];

  constructor(
    private readonly db: Database,
    private readonly keyStore: KeyStore,
    private readonly clock: Clock,
    private readonly issuers: IssuerRegistry,
    private readonly profiles: ProfileRegistry,
    private readonly options: SignerOptions,
  ) {}

  /** The responder that signs for `issuerId` now: from memory, else the database, else a new one. */
  forIssuer(issuerId: string, actor: Actor = systemActor): Promise<ResponderSigner> {
    const issuer = this.issuers.get(issuerId);
    const known = this.current.get(issuerId);
    if (known && !needsRenewal(known, issuer.row.not_after, this.clock.now())) return Promise.resolve(known);
    let pending = this.pending.get(issuerId);
    if (!pending) {
      pending = this.load(issuerId, actor).finally(() => this.pending.delete(issuerId));
      this.pending.set(issuerId, pending);
    }
    return pending;
  }

  /** The responder from memory when one is valid, without waiting (the live-signing fast path). */
  cached(issuerId: string): ResponderSigner | undefined {
    const known = this.current.get(issuerId);
    const issuer = this.issuers.find(issuerId);
    return known && issuer && !needsRenewal(known, issuer.row.not_after, this.clock.now())
      ? known
      : undefined;
  }

  /**
   * Makes sure every issuer that has not expired has a responder with enough validity left
   * (at setup and in the periodic job). Returns the responder certificates issued now.
   */
  async ensureAll(actor: Actor = systemActor): Promise<ResponderSigner[]> {
    const first = this.issued.length;
    const now = this.clock.now();
    const failures: string[] = [];
    for (const issuer of this.issuers.all()) {
      if (issuer.row.not_after <= now) continue;
      // One issuer's failure (its key unreachable, say) must not keep the others from renewing.
      await this.forIssuer(issuer.row.id, actor).catch((error: Error) =>
        failures.push(`${issuer.row.id}: ${error.message}`),
      );
    }
    if (failures.length)
      throw new ServiceError(
        503,
        "ocsp-signer-unavailable",
        `OCSP responders not ready: ${failures.join("; ")}`,
      );
    return this.issued.slice(first);
  }

  private async load(issuerId: string, actor: Actor): Promise<ResponderSigner> {
    const issuer = this.issuers.get(issuerId);
    const row = await newestSigner(this.db, issuerId);
    const signer =
      row && !needsRenewal(toTimes(row), issuer.row.not_after, this.clock.now())
        ? this.toSigner(row)
        : await this.issue(issuerId, actor);
    this.current.set(issuerId, signer);
    return signer;
  }

  private toSigner(row: OcspSignerRow): ResponderSigner {
    const { subjectPublicKey } = certificateParts(row.certificate);
    return {
      issuerId: row.issuer_id,
      serial: row.serial,
      certificate: row.certificate,
      signer: new X509Signer(
        this.keyStore,
        row.key_label,
        defaultSignatureAlgorithm(row.key_algorithm as KeyAlgorithm),
      ),
      keyHash: createHash("sha1").update(subjectPublicKey).digest(),
      notBefore: row.not_before,
      notAfter: row.not_after,
    };
  }

  /** Step by step as issuance does, with the `ocsp-signer` profile; one node at a time per issuer. */
  private async issue(issuerId: string, actor: Actor): Promise<ResponderSigner> {
    const issuer = this.issuers.get(issuerId);
    await this.profiles.fresh();
    const profile = this.profiles.require(SIGNER_PROFILE);
    let created = false;
    const signer = await this.db.transaction(async (tx) => {
      // Step 1: one responder certificate per issuer at a time, across nodes; another node
      // may have issued one while this one waited for the lock.
      await lockSignerIssuance(tx, issuerId);
      const now = this.clock.now();
      const existing = await newestSigner(tx, issuerId);
      if (existing && !needsRenewal(toTimes(existing), issuer.row.not_after, now))
        return this.toSigner(existing);
      if (issuer.row.not_after <= now)
        throw new ServiceError(
          503,
          "issuer-expired",
          `issuer "${issuerId}" has expired and cannot certify a responder`,
        );

      // Step 2: the key, in the key store, of the issuer's algorithm when the profile allows it.
      const wanted = issuer.row.key_algorithm as KeyAlgorithm;
      const algorithm = profile.keys.includes(PROFILE_KEY[wanted]) ? wanted : "ecdsa-p256";
      const usages = keyUsagesFor(profile, KEY_KIND(algorithm));
      if (!usages || !profile.extendedKeyUsage.includes("ocspSigning"))
        throw new ServiceError(
          500,
          "profile-invalid",
          `profile "${SIGNER_PROFILE}" must give ${algorithm} keys a key usage and the OCSPSigning purpose`,
        );
      const label = `ocsp-${issuerId.slice(0, 40)}-${randomBytes(4).toString("hex")}`;
      const key = await this.keyStore.generateKey({ label, algorithm });

      // Step 3: validity within the issuer's (RFC 5280 §4.1.2.5), whole seconds.
      const start = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
      const notBefore = start < issuer.row.not_before ? issuer.row.not_before : start;
      const wantedEnd = new Date(notBefore.getTime() + profile.validityDays * 86_400_000 - 1000);
      const notAfter = wantedEnd > issuer.row.not_after ? issuer.row.not_after : wantedEnd;

      // Step 4: subject and extensions (RFC 6960 §4.2.2.2 and §4.2.2.2.1).
      const serial = newSerial();
      const name: Name = [
        { type: OID.countryName, value: this.options.country },
        { type: OID.organizationName, value: this.options.organization },
        { type: OID.commonName, value: `OCSP Responder ${issuerId}`.slice(0, 64) },
      ];
      const urls = issuerUrls(this.options.publicBaseUrl, issuerId);
      const extensions = [
        basicConstraints(false),
        keyUsage(usages),
        extendedKeyUsage(profile.extendedKeyUsage),
        subjectKeyIdentifier(keyIdentifier(key.spki)),
        authorityKeyIdentifier(issuer.row.key_id),
        authorityInfoAccess({ caIssuers: urls.certificate }),
        ...(profile.ocspNoCheck ? [ocspNoCheck()] : []),
      ];

      // Step 5: lint, then sign with the issuer's key.
      lintCertificate({
        serial,
        notBefore,
        notAfter,
        issuerNotBefore: issuer.row.not_before,
        issuerNotAfter: issuer.row.not_after,
        subjectAttributes: name.length,
        names: [],
        keyUsage: usages,
        isCa: false,
      });
      const certificate = await issuer.signer.signStructure(
        encodeTbsCertificate({
          serial,
          signatureAlgorithm: issuer.signer.algorithmIdentifier,
          issuer: issuer.row.subject_der,
          notBefore,
          notAfter,
          subject: encodeName(name),
          subjectPublicKeyInfo: key.spki,
          extensions,
        }),
      );

      // Step 6: the responder and its audit record in one transaction.
      const row: OcspSignerRow = {
        issuer_id: issuerId,
        serial: serialHex(serial),
        key_label: label,
        key_algorithm: algorithm,
        certificate,
        not_before: notBefore,
        not_after: notAfter,
        created_at: now,
      };
      await insertSigner(tx, row);
      created = true;
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "ocsp.signer-issue",
          target: `ocsp-signer:${issuerId}/${row.serial}`,
          details: {
            keyStore: this.keyStore.kind,
            keyLabel: label,
            algorithm,
            publicKeySha256: spkiSha256(key.spki).toString("hex"),
            notAfter: notAfter.toISOString(),
            replaces: existing?.serial ?? null,
          },
        },
      ]);
      return this.toSigner(row);
    });
    if (created) this.issued.push(signer);
    return signer;
  }
}

const toTimes = (row: OcspSignerRow) => ({ notBefore: row.not_before, notAfter: row.not_after });
