/**
 * Client certificates (TLS client authentication, RFC 8446 §4.4.2; OAuth `tls_client_auth`,
 * RFC 8705 §2.1): is a presented certificate one this service issued, valid now, good, fit for
 * client authentication, and whose is it. Every answer comes from this service's own data:
 * the path is built only to the CA certificates of the IssuerRegistry, never from what the peer
 * sent along, and the status comes from the certificates table, so no URL in a certificate is
 * ever fetched (no AIA, CRL distribution point or OCSP: the SSRF of Keycloak #46742).
 *
 * The checks, in order, each refusing with 401 and a code of its own:
 *   1 certificate-malformed     not a DER certificate
 *   2 certificate-untrusted     no CA of this service issued it (issuer name, AKI, signature)
 *   3 certificate-untrusted     its CA, or one above it, is outside its validity period
 *   4 certificate-not-yet-valid, certificate-expired
 *   5 certificate-key-usage     keyUsage without digitalSignature
 *   6 certificate-eku           extKeyUsage without id-kp-clientAuth
 *   7 certificate-unknown       not this exact certificate in the certificates table;
 *     certificate-revoked, certificate-on-hold
 *   8 certificate-unmapped      for user-login: no directory principal owns it
 * Steps 1 to 6 need no database; step 7 reads one row, remembered briefly per node
 * (CertificateStatusCache) and evicted on every status change, here or on another node. The
 * outcome of steps 1 and 2 (decoding, and which of our CAs signed these exact bytes) is
 * remembered by the certificate's SHA-256, since neither can change; all the rest is checked
 * on every call.
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { CoalescedLookup } from "../../db/coalesce.js";
import type { Queryable } from "../../db/database.js";
import { type CertificateState, findCertificateStates } from "../../db/stores/certificates.js";
import type { Issuer, IssuerRegistry } from "../ca/issuers.js";
import type { Clock } from "../clock.js";
import { ServiceError } from "../errors.js";
import {
  authorityKeyIdOf,
  type CertificateFields,
  extendedKeyUsageOf,
  keyUsageOf,
  readCertificate,
} from "../pki/certificate-reader.js";
import { DerError } from "../pki/der-reader.js";
import type { KeyUsage } from "../pki/extensions.js";
import { formatName, parseNameDer } from "../pki/name.js";
import { OID } from "../pki/oids.js";
import { verifySignature } from "../pki/signature-verification.js";
import { reasonName } from "../revocation/reasons.js";
import type { StatusChanged } from "../revocation/revocations.js";
import { CertificateStatusCache } from "./certificate-status-cache.js";

/** What the certificate is to prove: a person logging in, or an OAuth client (RFC 8705). */
export type ClientCertificatePurpose = "user-login" | "client-auth";

export const CLIENT_CERTIFICATE_ERRORS = [
  "certificate-required",
  "tls-session-resumed",
  "certificate-malformed",
  "certificate-untrusted",
  "certificate-not-yet-valid",
  "certificate-expired",
  "certificate-key-usage",
  "certificate-eku",
  "certificate-unknown",
  "certificate-revoked",
  "certificate-on-hold",
  "certificate-unmapped",
] as const;
export type ClientCertificateErrorCode = (typeof CLIENT_CERTIFICATE_ERRORS)[number];

/** A refused client certificate: always 401, with one of CLIENT_CERTIFICATE_ERRORS as its code. */
export class ClientCertificateError extends ServiceError {
  declare readonly code: ClientCertificateErrorCode;
  constructor(code: ClientCertificateErrorCode, detail: string) {
    super(401, code, detail);
  }
}

export interface PresentedCertificate {
  readonly der: Buffer;
  /**
   * What the peer sent after its certificate. Not used to build the path, which is made of
   * this service's own CA certificates only (a peer's chain is a hint, never a trust input).
   */
  readonly chain?: readonly Buffer[];
}

export interface VerifiedClientCertificate {
  readonly issuerId: string;
  /** Lower-case hex, as the certificates table stores it. */
  readonly serial: string;
  /** RFC 4514 string of the subject, as issued. */
  readonly subjectDn: string;
  readonly sans: readonly { readonly type: string; readonly value: string }[];
  /** The directory principal the certificate was issued to (certificates.owner_id). */
  readonly ownerId: string | null;
  readonly orgUnit: string | null;
  readonly profile: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** RFC 8705 §3.1: base64url SHA-256 of the DER, the `x5t#S256` of certificate-bound tokens. */
  readonly x5tS256: string;
  /** Lower-case hex SHA-256 of the SubjectPublicKeyInfo. */
  readonly spkiSha256: string;
}

export interface ClientCertificateOptions {
  /** How long a node remembers a certificate's row at most (evictions make it exact anyway). */
  readonly statusCacheMs?: number;
  readonly statusCacheEntries?: number;
  /** Certificates whose signature this node remembers having verified. */
  readonly signatureMemoEntries?: number;
}

const refuse = (code: ClientCertificateErrorCode, detail: string) => new ClientCertificateError(code, detail);

/** The parts of a certificate the checks read, decoded once (strict DER). */
interface Presented {
  readonly fields: CertificateFields;
  readonly keyUsage: Set<KeyUsage> | undefined;
  readonly extendedKeyUsage: string[] | undefined;
  readonly authorityKeyId: Buffer | undefined;
}

function decodePresented(der: Buffer): Presented {
  try {
    const fields = readCertificate(der);
    return {
      fields,
      keyUsage: keyUsageOf(fields),
      extendedKeyUsage: extendedKeyUsageOf(fields),
      authorityKeyId: authorityKeyIdOf(fields),
    };
  } catch (error) {
    if (error instanceof DerError)
      throw refuse(
        "certificate-malformed",
        `the client certificate is not a DER X.509 certificate: ${error.message}`,
      );
    throw error;
  }
}

function issuerName(der: Buffer): string {
  try {
    return `"${formatName(parseNameDer(der))}"`;
  } catch {
    return "an issuer whose name cannot be read";
  }
}

export class ClientCertificates {
  readonly statuses: CertificateStatusCache;
  private readonly lookup: CoalescedLookup<
    { issuerId: string; serial: string },
    CertificateState | undefined
  >;
  private readonly issuerKeys = new WeakMap<Issuer, KeyObject>();
  /** x5t#S256 → the decoded certificate and the id of the CA whose signature on it verified. */
  private readonly signed = new Map<string, { presented: Presented; issuerId: string }>();
  private readonly signatureMemoEntries: number;

  constructor(
    db: Queryable,
    private readonly clock: Clock,
    private readonly issuers: IssuerRegistry,
    options: ClientCertificateOptions = {},
  ) {
    this.statuses = new CertificateStatusCache(
      options.statusCacheMs ?? 30_000,
      options.statusCacheEntries ?? 20_000,
    );
    this.lookup = new CoalescedLookup((refs) => findCertificateStates(db, refs));
    this.signatureMemoEntries = options.signatureMemoEntries ?? 10_000;
  }

  /** Runs every check for `purpose`; resolves with what the certificate proves, or throws ClientCertificateError. */
  async verify(
    peer: PresentedCertificate,
    purpose: ClientCertificatePurpose,
  ): Promise<VerifiedClientCertificate> {
    const now = this.clock.now();
    const digest = createHash("sha256").update(peer.der).digest();
    const x5tS256 = digest.toString("base64url");
    const memo = this.signed.get(x5tS256);
    const known = memo && this.issuers.find(memo.issuerId);
    // Step 1: the certificate itself, strict DER (RFC 5280 §4.1).
    const presented = memo?.presented ?? decodePresented(peer.der);
    const { fields } = presented;

    // Step 2: the issuing CA, among ours only (RFC 5280 §6.1.3 (a)(1) signature, (a)(4) name).
    const issuer = known ?? (await this.issuerOf(presented));
    if (!known) this.remember(x5tS256, presented, issuer);

    // Step 3: every CA certificate of the path is valid now (RFC 5280 §6.1.3 (a)(2)).
    this.checkPath(issuer, now);

    // Step 4: the certificate's own validity (RFC 5280 §4.1.2.5, §6.1.3 (a)(2)).
    const name = `certificate ${fields.serial} of issuer "${issuer.row.id}"`;
    if (now < fields.notBefore)
      throw refuse(
        "certificate-not-yet-valid",
        `${name} is not valid before ${fields.notBefore.toISOString()}`,
      );
    if (now > fields.notAfter)
      throw refuse("certificate-expired", `${name} expired at ${fields.notAfter.toISOString()}`);

    // Step 5: the key may sign (RFC 5280 §4.2.1.3; TLS client authentication signs CertificateVerify, RFC 8446 §4.4.3).
    if (!presented.keyUsage?.has("digitalSignature"))
      throw refuse(
        "certificate-key-usage",
        presented.keyUsage
          ? `${name} does not allow digitalSignature (keyUsage: ${[...presented.keyUsage].join(", ") || "none"}; RFC 5280 §4.2.1.3)`
          : `${name} has no keyUsage extension; client authentication needs digitalSignature (RFC 5280 §4.2.1.3)`,
      );

    // Step 6: the key may authenticate TLS clients (RFC 5280 §4.2.1.12 id-kp-clientAuth).
    if (!presented.extendedKeyUsage?.includes(OID.clientAuth))
      throw refuse(
        "certificate-eku",
        `${name} is not for TLS client authentication: its extKeyUsage lacks id-kp-clientAuth (RFC 5280 §4.2.1.12)`,
      );

    // Step 7: this exact certificate is on record, and its status (our own revocation data, RFC 5280 §6.1.3 (a)(3)).
    const state = await this.stateOf(issuer.row.id, fields.serial);
    if (!state)
      throw refuse(
        "certificate-unknown",
        `${name} is signed by a CA of this service but is not on record: it was never issued through it`,
      );
    if (!state.der_sha256.equals(digest))
      throw refuse("certificate-unknown", `${name} differs from the certificate on record under that serial`);
    if (state.status === "revoked")
      throw refuse(
        "certificate-revoked",
        `${name} was revoked at ${state.revoked_at?.toISOString()} (${reasonName(state.revocation_reason ?? 0) ?? state.revocation_reason})`,
      );
    if (state.status === "on-hold")
      throw refuse(
        "certificate-on-hold",
        `${name} is on hold (certificateHold) since ${state.revoked_at?.toISOString()}; it is usable again once released`,
      );

    // Step 8: a person logs in only with a certificate issued to a directory principal.
    if (purpose === "user-login" && !state.owner_id)
      throw refuse(
        "certificate-unmapped",
        `${name} was not issued to a directory user, so it cannot log one in`,
      );

    return {
      issuerId: issuer.row.id,
      serial: fields.serial,
      subjectDn: state.subject,
      sans: state.sans,
      ownerId: state.owner_id,
      orgUnit: state.org_unit,
      profile: state.profile,
      notBefore: fields.notBefore,
      notAfter: fields.notAfter,
      x5tS256,
      spkiSha256: state.spki_sha256.toString("hex"),
    };
  }

  /** Revocations.onChange: this node forgets the row at once (other nodes: CrossNodeInvalidation). */
  onStatusChange(change: StatusChanged): void {
    this.statuses.evict(change.issuerId, change.serial);
  }

  /**
   * The CA of ours whose name is the certificate's issuer (byte for byte: we wrote it so),
   * whose key identifier matches the AKI when there is one, and whose key verifies the
   * signature, made with that CA's own algorithm in both places (RFC 5280 §4.1.1.2). A retired
   * CA counts: it issues nothing new, but what it issued stays valid, with its CRLs and OCSP.
   */
  private async issuerOf(presented: Presented): Promise<Issuer> {
    const { fields, authorityKeyId } = presented;
    const named = this.issuers.all().filter((issuer) => issuer.row.subject_der.equals(fields.issuer));
    if (named.length === 0)
      throw refuse(
        "certificate-untrusted",
        `the client certificate was issued by ${issuerName(fields.issuer)}, which is not a CA of this service`,
      );
    for (const issuer of named) {
      if (authorityKeyId && !authorityKeyId.equals(issuer.row.key_id)) continue;
      const algorithm = issuer.signer.algorithmIdentifier;
      if (!fields.signatureAlgorithm.equals(algorithm) || !fields.tbsSignatureAlgorithm.equals(algorithm))
        continue;
      if (
        await verifySignature(issuer.signer.algorithm, this.publicKeyOf(issuer), fields.tbs, fields.signature)
      )
        return issuer;
    }
    throw refuse(
      "certificate-untrusted",
      `the client certificate names ${issuerName(fields.issuer)} as its issuer, but its signature does not verify with that CA's key (RFC 5280 §6.1.3): this service did not issue it`,
    );
  }

  /** The issuing CA and each CA above it up to one of our roots, valid at `now`. */
  private checkPath(issuer: Issuer, now: Date): void {
    let at: Issuer | undefined = issuer;
    for (let depth = 0; at && depth < 8; depth++) {
      const { row } = at;
      if (now < row.not_before || now > row.not_after)
        throw refuse(
          "certificate-untrusted",
          `the certificate of CA "${row.id}" in the path is valid from ${row.not_before.toISOString()} to ${row.not_after.toISOString()}, not now (RFC 5280 §6.1.3 (a)(2))`,
        );
      if (!row.parent_id) {
        if (row.kind === "root") return;
        break;
      }
      at = this.issuers.find(row.parent_id);
    }
    throw refuse(
      "certificate-untrusted",
      `the path from CA "${issuer.row.id}" does not reach a root CA of this service`,
    );
  }

  private remember(x5tS256: string, presented: Presented, issuer: Issuer): void {
    if (this.signatureMemoEntries === 0) return;
    this.signed.set(x5tS256, { presented, issuerId: issuer.row.id });
    if (this.signed.size > this.signatureMemoEntries) this.signed.delete(this.signed.keys().next().value!);
  }

  private publicKeyOf(issuer: Issuer): KeyObject {
    let key = this.issuerKeys.get(issuer);
    if (!key) {
      const spki = readCertificate(issuer.row.certificate).subjectPublicKeyInfo;
      key = createPublicKey({ key: spki, format: "der", type: "spki" });
      this.issuerKeys.set(issuer, key);
    }
    return key;
  }

  /** The certificate's row: from this node's memory, else one (coalesced) query, remembered. */
  private async stateOf(issuerId: string, serial: string): Promise<CertificateState | undefined> {
    const held = this.statuses.get(issuerId, serial);
    if (held) return held;
    const epoch = this.statuses.epoch;
    const state = await this.lookup.get({ issuerId, serial });
    if (state) this.statuses.putIfUnchanged(state, epoch);
    return state;
  }
}
