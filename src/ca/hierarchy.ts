/**
 * Creating CA certificates: a self-signed root and issuing CAs below it. Keys are
 * generated in the key store and never leave it; the ceremony's audit record names who
 * ran it and the public-key fingerprints.
 */
import { randomBytes } from "node:crypto";
import type { Database } from "../../db/database.js";
import { insertIssuer } from "../../db/stores/issuers.js";
import type { KeyAlgorithm, KeyStore } from "../../hsm-adapters/key-store.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { Clock } from "../clock.js";
import { conflict } from "../errors.js";
import { defaultSignatureAlgorithm } from "../pki/algorithms.js";
import { encodeTbsCertificate } from "../pki/certificate.js";
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  crlDistributionPoints,
  keyIdentifier,
  keyUsage,
  subjectKeyIdentifier,
} from "../pki/extensions.js";
import { encodeName, type Name } from "../pki/name.js";
import { OID } from "../pki/oids.js";
import { spkiSha256 } from "../pki/public-key.js";
import { X509Signer } from "../pki/signer.js";
import type { Issuer } from "./issuers.js";
import { issuerUrls } from "./issuers.js";
import { lintCertificate } from "./lint.js";
import { newSerial } from "./serial.js";

export interface CreateCaRequest {
  readonly id: string;
  readonly commonName: string;
  readonly algorithm: KeyAlgorithm;
  readonly validityYears: number;
  /** Absent for a root. */
  readonly parent?: Issuer | undefined;
  /** pathLenConstraint (RFC 5280 §4.2.1.9); issuing CAs get 0. */
  readonly pathLength?: number | undefined;
  /** Added to the audit record (e.g. who requested and who approved under dual control). */
  readonly auditDetails?: Readonly<Record<string, unknown>>;
}

export interface HierarchyContext {
  readonly db: Database;
  readonly keyStore: KeyStore;
  readonly clock: Clock;
  readonly publicBaseUrl: string;
  readonly country: string;
  readonly organization: string;
}

export async function createCa(
  context: HierarchyContext,
  actor: Actor,
  request: CreateCaRequest,
): Promise<void> {
  const { keyStore, clock } = context;
  const label = `ca-${request.id}-${randomBytes(4).toString("hex")}`;
  const key = await keyStore.generateKey({ label, algorithm: request.algorithm });
  const keyId = keyIdentifier(key.spki);
  const name: Name = [
    { type: OID.countryName, value: context.country },
    { type: OID.organizationName, value: context.organization },
    { type: OID.commonName, value: request.commonName },
  ];
  const subject = encodeName(name);
  const parent = request.parent;
  const now = clock.now();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 60_000);
  const wanted = new Date(notBefore);
  wanted.setUTCFullYear(wanted.getUTCFullYear() + request.validityYears);
  const notAfter = parent && wanted > parent.row.not_after ? parent.row.not_after : wanted;
  const signer =
    parent?.signer ?? new X509Signer(keyStore, label, defaultSignatureAlgorithm(request.algorithm));
  const serial = newSerial();
  const usages = ["digitalSignature", "keyCertSign", "cRLSign"] as const;
  lintCertificate({
    serial,
    notBefore,
    notAfter,
    issuerNotBefore: parent?.row.not_before ?? notBefore,
    issuerNotAfter: parent?.row.not_after ?? notAfter,
    subjectAttributes: name.length,
    names: [],
    keyUsage: usages,
    isCa: true,
  });
  const parentUrls = parent ? issuerUrls(context.publicBaseUrl, parent.row.id) : undefined;
  const tbs = encodeTbsCertificate({
    serial,
    signatureAlgorithm: signer.algorithmIdentifier,
    issuer: parent?.row.subject_der ?? subject,
    notBefore,
    notAfter,
    subject,
    subjectPublicKeyInfo: key.spki,
    extensions: [
      basicConstraints(true, request.pathLength),
      keyUsage(usages),
      subjectKeyIdentifier(keyId),
      ...(parent ? [authorityKeyIdentifier(parent.row.key_id)] : []),
      ...(parentUrls
        ? [authorityInfoAccess({ caIssuers: parentUrls.certificate, ocsp: parentUrls.ocsp })]
        : []),
      ...(parentUrls ? [crlDistributionPoints([parentUrls.crl])] : []),
    ],
  });
  const certificate = await signer.signStructure(tbs);
  await context.db.transaction(async (tx) => {
    const existing = await tx.query("SELECT 1 FROM issuers WHERE id = $1", [request.id]);
    if (existing.rows.length) throw conflict("issuer-exists", `issuer "${request.id}" exists already`);
    await insertIssuer(tx, {
      id: request.id,
      parent_id: parent?.row.id ?? null,
      kind: parent ? "issuing" : "root",
      key_label: label,
      key_algorithm: request.algorithm,
      certificate,
      subject_der: subject,
      key_id: keyId,
      not_before: notBefore,
      not_after: notAfter,
    });
    await appendAudit(tx, clock, [
      {
        ...actor.audit,
        action: parent ? "ca.create-issuing" : "ca.create-root",
        target: `issuer:${request.id}`,
        details: {
          keyStore: keyStore.kind,
          keyLabel: label,
          algorithm: request.algorithm,
          publicKeySha256: spkiSha256(key.spki).toString("hex"),
          parent: parent?.row.id ?? null,
          notAfter: notAfter.toISOString(),
          ...request.auditDetails,
        },
      },
    ]);
  });
}
