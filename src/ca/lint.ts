/**
 * Pre-issuance lint (Boulder's habit: check the certificate we are about to sign, not the
 * request). A failure here is a bug or a misconfiguration, never a caller's mistake, so it
 * is a 500-class problem that stops the signature.
 */
import { ServiceError } from "../errors.js";
import type { KeyUsage } from "../pki/extensions.js";
import type { GeneralName } from "../pki/general-name.js";

export interface CertificatePlan {
  readonly serial: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly issuerNotBefore: Date;
  readonly issuerNotAfter: Date;
  readonly subjectAttributes: number;
  readonly names: readonly GeneralName[];
  readonly keyUsage: readonly KeyUsage[];
  readonly isCa: boolean;
}

export function lintCertificate(plan: CertificatePlan): void {
  const problems: string[] = [];
  if (plan.serial.length === 0 || plan.serial.length > 20 || (plan.serial[0]! & 0x80) !== 0)
    problems.push("serial must be positive and at most 20 octets (RFC 5280 §4.1.2.2)");
  if (plan.notAfter <= plan.notBefore) problems.push("notAfter must follow notBefore");
  if (plan.notAfter > plan.issuerNotAfter) problems.push("the certificate would outlive its issuer");
  if (plan.notBefore < plan.issuerNotBefore) problems.push("the certificate would start before its issuer");
  if (plan.notBefore.getMilliseconds() !== 0 || plan.notAfter.getMilliseconds() !== 0)
    problems.push("validity must be whole seconds (RFC 5280 §4.1.2.5)");
  if (plan.subjectAttributes === 0 && plan.names.length === 0)
    problems.push("a certificate needs a subject or a subjectAltName (RFC 5280 §4.2.1.6)");
  if (plan.keyUsage.length === 0) problems.push("keyUsage must name at least one usage (RFC 5280 §4.2.1.3)");
  if (!plan.isCa && (plan.keyUsage.includes("keyCertSign") || plan.keyUsage.includes("cRLSign")))
    problems.push("an end-entity certificate must not have keyCertSign or cRLSign");
  if (problems.length)
    throw new ServiceError(
      500,
      "lint-failed",
      `pre-issuance lint refused the certificate: ${problems.join("; ")}`,
    );
}
