/**
 * The one place that decides whether a principal may act, and on which objects. A principal
 * may hold several roles: it holds a permission when any role does, and its object scope is
 * that of its widest role (security admin and auditor: everything; RA operator: its org
 * subtree; subscriber: its own certificates).
 */

import type { CertificateScope } from "../../db/stores/certificates.js";
import type { EnrollmentScope } from "../../db/stores/enrollments.js";
import type { Role } from "../../db/stores/principals.js";
import { forbidden, ServiceError, unauthenticated } from "../errors.js";
import { inSubtree } from "../identity/org-units.js";
import { type Permission, rolesHold } from "./permissions.js";
import type { Actor, Principal } from "./principal.js";

const has = (principal: Principal, role: Role): boolean => principal.roles.includes(role);

const rolesText = (roles: readonly Role[]): string =>
  roles.length === 1 ? `the ${roles[0]} role` : `the roles ${roles.join(", ")}`;

/** Route-level check: authenticated, and one of its roles holds the permission. */
export function requirePermission(principal: Principal | undefined, permission: Permission): Principal {
  if (!principal) throw unauthenticated();
  if (!rolesHold(principal.roles, permission))
    throw forbidden(
      `${rolesText(principal.roles)} ${principal.roles.length === 1 ? "does" : "do"} not have the ${permission} permission`,
    );
  return principal;
}

/** Roles from widest to narrowest. */
const WIDEST_FIRST: readonly Role[] = ["security-admin", "ra-operator", "subscriber", "auditor"];

/**
 * The actor acting in one role, its widest among those `allowed` (a profile's requesters), so
 * that the rest of the action follows that role's rules; forbidden when it holds none of them.
 */
export function actingIn(actor: Actor, allowed: readonly Role[], action: string): Actor {
  const principal = actor.principal;
  if (!principal) return actor;
  const role = WIDEST_FIRST.find((candidate) => has(principal, candidate) && allowed.includes(candidate));
  if (!role) throw forbidden(`${rolesText(principal.roles)} may not ${action}`);
  return { ...actor, principal: { ...principal, roles: [role] } };
}

/**
 * Object-level check for acting on something of an org unit: a security admin acts anywhere,
 * an RA operator only in its subtree; other roles are limited by their permissions and by
 * `certificateScope`.
 */
export function requireOrgScope(principal: Principal, orgUnit: string | null): void {
  if (has(principal, "security-admin") || !has(principal, "ra-operator")) return;
  if (!orgUnit || !principal.orgUnit || !inSubtree(orgUnit, principal.orgUnit))
    throw forbidden(
      `org unit "${orgUnit ?? "(none)"}" is outside this RA operator's subtree "${principal.orgUnit}"`,
    );
}

/** Whether the principal requests certificates only for itself: a subscriber without an RA or admin role. */
export const requestsForItself = (principal: Principal): boolean =>
  has(principal, "subscriber") && !has(principal, "security-admin") && !has(principal, "ra-operator");

/** Which certificates a principal may see. */
export function certificateScope(principal: Principal): CertificateScope {
  if (has(principal, "security-admin") || has(principal, "auditor")) return { all: true };
  if (has(principal, "ra-operator")) return { orgUnit: principal.orgUnit ?? "\u0000" };
  return { ownerId: principal.id };
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

/**
 * The org subtree whose directory users a principal may read: undefined for all (security
 * admin, auditor), else an RA operator's own subtree.
 */
export function userReadScope(principal: Principal): string | undefined {
  if (has(principal, "security-admin") || has(principal, "auditor")) return undefined;
  return principal.orgUnit ?? "\u0000";
}

export function canSeeUser(principal: Principal, user: { orgUnit: string | null }): boolean {
  const scope = userReadScope(principal);
  return scope === undefined || (user.orgUnit !== null && inSubtree(user.orgUnit, scope));
}

/**
 * Managing a directory user (create, disable, password, TOTP): a security admin any user; an
 * RA operator, who registers the civil servants of its subtree, only subscribers there. It may
 * neither grant nor take over another role: setting the password and TOTP of an admin would
 * make it that admin.
 */
export function requireUserManagement(
  principal: Principal,
  user: { orgUnit: string | null; roles: readonly Role[] },
): void {
  if (has(principal, "security-admin")) return;
  if (!has(principal, "ra-operator"))
    throw forbidden("directory users are managed by security admins and RA operators");
  requireOrgScope(principal, user.orgUnit);
  const other = user.roles.filter((role) => role !== "subscriber");
  if (other.length > 0)
    throw forbidden(
      `an RA operator manages subscribers only; this user holds ${other.join(", ")} (a security admin's task)`,
    );
}

const sameRoles = (a: readonly Role[], b: readonly Role[]): boolean =>
  a.length === b.length && a.every((role) => b.includes(role));

/**
 * Changing a directory user (name, email, org unit, roles): the rules of managing it, for the
 * user as it is and as it will be, so an RA operator changes only subscribers of its subtree
 * who stay subscribers there; and nobody changes its own roles (no self-escalation, no locking
 * oneself out): another security admin must.
 */
export function requireUserChange(
  principal: Principal,
  before: { id: string; orgUnit: string | null; roles: readonly Role[] },
  after: { orgUnit: string | null; roles: readonly Role[] },
): void {
  if (principal.id === before.id && !sameRoles(before.roles, after.roles))
    throw new ServiceError(403, "own-roles", "nobody changes its own roles: another security admin must");
  requireUserManagement(principal, before);
  requireUserManagement(principal, after);
}
/**
 * Which enrolment requests a principal may see: security admins and auditors all; an RA
 * operator its own and those of requesters in its subtree; anyone else its own.
 */
export function enrollmentScope(principal: Principal): EnrollmentScope {
  if (has(principal, "security-admin") || has(principal, "auditor")) return { all: true };
  if (has(principal, "ra-operator"))
    return { orgUnit: principal.orgUnit ?? "\u0000", requesterId: principal.id };
  return { requesterId: principal.id };
}

export function canSeeEnrollment(
  principal: Principal,
  request: { requester_id: string; requester_org_unit: string | null },
): boolean {
  const scope = enrollmentScope(principal);
  if ("all" in scope) return true;
  if (request.requester_id === principal.id) return true;
  return (
    "orgUnit" in scope &&
    request.requester_org_unit !== null &&
    inSubtree(request.requester_org_unit, scope.orgUnit)
  );
}

/**
 * Deciding (approving, rejecting) an enrolment request: a security admin any, an RA operator
 * those of requesters in its subtree; nobody its own (four eyes). A local operator at the CLI
 * (no principal) decides any request.
 */
export function requireEnrollmentDecider(
  actor: Actor,
  request: { requester_id: string; requester_org_unit: string | null },
): void {
  const principal = actor.principal;
  if (!principal) return;
  if (principal.id === request.requester_id)
    throw forbidden("four eyes: a request is approved or rejected by someone other than its requester");
  if (has(principal, "security-admin")) return;
  if (!has(principal, "ra-operator"))
    throw forbidden("enrolment requests are decided by RA operators and security admins");
  requireOrgScope(principal, request.requester_org_unit);
}

/**
 * Whether a requester's own enrolment request is issued at once, whatever the profile's
 * approval: it is itself an approver (security admin, or RA operator, whose own org unit is
 * in its subtree).
 */
export const enrollsWithoutApproval = (principal: Principal): boolean =>
  has(principal, "security-admin") || has(principal, "ra-operator");
