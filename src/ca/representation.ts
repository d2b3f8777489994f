/** How certificates are returned: PEM chain (RFC 8555 §9.1), DER (RFC 2585), or JSON. */
import type { CertificateRow } from "../../db/stores/certificates.js";
import { encodePem } from "../pki/pem.js";
import type { Issuer } from "./issuers.js";

export const MEDIA = {
  pemChain: "application/pem-certificate-chain",
  der: "application/pkix-cert",
  json: "application/json",
} as const;

export type Representation = keyof typeof MEDIA;

/** Picks the first acceptable representation in the Accept header's order; PEM by default. */
export function chooseRepresentation(accept: string | undefined): Representation | undefined {
  if (!accept) return "pemChain";
  const ranges = accept
    .split(",")
    .map((part) => {
      const [type, ...params] = part.trim().toLowerCase().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      return { type: type!.trim(), q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((range) => range.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { type } of ranges) {
    if (
      type === "*/*" ||
      type === "application/*" ||
      type === MEDIA.pemChain ||
      type === "application/x-pem-file"
    )
      return "pemChain";
    if (type === MEDIA.der || type === "application/pkix-cert") return "der";
    if (type === MEDIA.json) return "json";
  }
  return undefined;
}

type CertificateFields = Pick<
  CertificateRow,
  | "issuer_id"
  | "serial"
  | "profile"
  | "subject"
  | "org_unit"
  | "sans"
  | "not_before"
  | "not_after"
  | "issued_at"
> &
  Partial<Pick<CertificateRow, "status" | "revoked_at" | "revocation_reason">>;

export function certificateSummary(row: CertificateFields) {
  return {
    serial: row.serial,
    issuer: row.issuer_id,
    profile: row.profile,
    subject: row.subject,
    orgUnit: row.org_unit,
    subjectAltNames: row.sans,
    notBefore: row.not_before.toISOString(),
    notAfter: row.not_after.toISOString(),
    issuedAt: row.issued_at.toISOString(),
    status: row.status ?? "good",
    ...(row.revoked_at
      ? { revokedAt: row.revoked_at.toISOString(), revocationReason: row.revocation_reason }
      : {}),
  };
}

export function certificateDocument(row: CertificateFields & { der: Buffer }, issuer: Issuer) {
  return {
    ...certificateSummary(row),
    certificate: encodePem("CERTIFICATE", row.der),
    chain: issuer.chain.map((der) => encodePem("CERTIFICATE", der)),
  };
}

export const pemChain = (der: Buffer, issuer: Issuer): string =>
  encodePem("CERTIFICATE", der) + issuer.chainPem;
