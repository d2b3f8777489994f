/** Who is calling: the principal behind a request, and how it appears in the audit log. */
import type { PrincipalRow, Role } from "../../db/stores/principals.js";

export const ROLES: readonly Role[] = ["security-admin", "ra-operator", "auditor", "subscriber"];

export interface Principal {
  readonly id: string;
  readonly kind: PrincipalRow["kind"];
  readonly name: string;
  /** At least one; a directory user may hold several, a service account holds one. */
  readonly roles: readonly Role[];
  /** The org unit; for an RA operator the root of the subtree it may act in. */
  readonly orgUnit: string | null;
  /** DNS names and IP addresses a subscriber may have in its certificates. */
  readonly dnsNames: readonly string[];
}

/** The acting party of a state change, as the audit log records it. */
export interface Actor {
  readonly audit: { readonly actor: string; readonly requestId?: string | undefined };
  readonly principal?: Principal;
}

export const principalFromRow = (row: PrincipalRow): Principal => ({
  id: row.id,
  kind: row.kind,
  name: row.name,
  roles: row.roles,
  orgUnit: row.org_unit,
  dnsNames: row.dns_names,
});

export const actorOf = (principal: Principal, requestId?: string): Actor => ({
  audit: { actor: `${principal.kind}:${principal.id}`, requestId },
  principal,
});

/** A local operator at the CLI, who holds the database and key store directly. */
export const cliActor = (user: string): Actor => ({ audit: { actor: `cli:${user}` } });
export const systemActor: Actor = { audit: { actor: "system" } };
