/**
 * The permission every route declares, and which roles hold it. Object-level rules
 * (org-unit subtree for RA operators, own certificates for subscribers) are in policy.ts.
 */
import type { Role } from "../../db/stores/principals.js";

const ALL: readonly Role[] = ["security-admin", "ra-operator", "auditor", "subscriber"];

export const PERMISSIONS = {
  "certificate:issue": ["security-admin", "ra-operator", "subscriber"],
  "certificate:read": ALL,
  "certificate:revoke": ["security-admin", "ra-operator", "subscriber"],
  "profile:read": ALL,
  "profile:manage": ["security-admin"],
  "issuer:read": ALL,
  "org-unit:read": ["security-admin", "ra-operator", "auditor"],
  "org-unit:manage": ["security-admin"],
  "principal:read": ["security-admin", "auditor"],
  "principal:manage": ["security-admin"],
  // RA operators: users of their org subtree; managing only subscribers (policy.ts, requireUserScope).
  "user:read": ["security-admin", "ra-operator", "auditor"],
  "user:manage": ["security-admin", "ra-operator"],
  "audit:read": ["security-admin", "auditor"],
  "ca:read": ["security-admin", "auditor"],
  "ca:manage": ["security-admin"],
  "client:read": ["security-admin", "auditor"],
  "client:manage": ["security-admin"],
  "dashboard:read": ["security-admin", "auditor"],
  "self:read": ALL,
  // Enrolment requests (src/ra): everyone but auditors asks for itself; subscribers see their
  // own, RA operators their subtree's too (policy.ts, enrollmentScope); RA operators and
  // security admins decide, never on their own request.
  "enrollment:request": ["security-admin", "ra-operator", "subscriber"],
  "enrollment:read": ALL,
  "enrollment:decide": ["security-admin", "ra-operator"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/** A principal holds a permission when any one of its roles does. */
export const rolesHold = (roles: readonly Role[], permission: Permission): boolean =>
  roles.some((role) => (PERMISSIONS[permission] as readonly Role[]).includes(role));
