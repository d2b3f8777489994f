/** The one place that decides whether a principal may act, and on which objects. */
import type { CertificateScope } from "../../db/stores/certificates.js";
import { forbidden, unauthenticated } from "../errors.js";
import { inSubtree } from "../identity/org-units.js";
import { type Permission, roleHas } from "./permissions.js";
import type { Principal } from "./principal.js";

/** Route-level check: authenticated, and the role holds the permission. */
export function requirePermission(principal: Principal | undefined, permission: Permission): Principal {
  if (!principal) throw unauthenticated();
  if (!roleHas(principal.role, permission))
    throw forbidden(`the ${principal.role} role does not have the ${permission} permission`);
  return principal;
}

/** Object-level check for org-unit scoped roles: an RA operator acts only in its subtree. */
export function requireOrgScope(principal: Principal, orgUnit: string | null): void {
  if (principal.role !== "ra-operator") return;
  if (!orgUnit || !principal.orgUnit || !inSubtree(orgUnit, principal.orgUnit))
    throw forbidden(
      `org unit "${orgUnit ?? "(none)"}" is outside this RA operator's subtree "${principal.orgUnit}"`,
    );
}

/** Which certificates a principal may see. */
export function certificateScope(principal: Principal): CertificateScope {
  switch (principal.role) {
    case "security-admin":
    case "auditor":
      return { all: true };
    case "ra-operator":
      return { orgUnit: principal.orgUnit ?? "\u0000" };
    case "subscriber":
      return { ownerId: principal.id };
  }
}

export function canSeeCertificate(
  principal: Principal,
  certificate: { org_unit: string | null; owner_id: string | null },
): boolean {
  const scope = certificateScope(principal);
  if ("all" in scope) return true;
  if ("ownerId" in scope) return certificate.owner_id === scope.ownerId;
  return certificate.org_unit !== null && inSubtree(certificate.org_unit, scope.orgUnit);
}
