/**
 * The claims a relying party receives about a user (OpenID Connect Core §5.1, §5.4), by
 * scope, from the directory (src/identity).
 */
import type { Database } from "../../db/database.js";
import { getPrincipal } from "../../db/stores/principals.js";
import { SCOPE_CLAIMS } from "./scopes.js";

export interface DirectoryEntry {
  readonly id: string;
  readonly name: string;
  readonly employeeNumber: string | null;
  readonly email: string | null;
  readonly orgUnit: string | null;
  readonly roles: readonly string[];
  readonly disabled: boolean;
}

export class UserClaims {
  constructor(private readonly db: Database) {}

  async entry(id: string): Promise<DirectoryEntry | undefined> {
    const row = await getPrincipal(this.db, id);
    if (!row) return undefined;
    return {
      id: row.id,
      name: row.name,
      employeeNumber: null,
      email: null,
      orgUnit: row.org_unit,
      roles: [row.role],
      disabled: row.disabled_at !== null,
    };
  }

  /** The claims `scopes` release about `entry` (never more than the scopes name). */
  static forScopes(entry: DirectoryEntry, scopes: readonly string[]): Record<string, unknown> {
    const all: Record<string, unknown> = {
      name: entry.name,
      preferred_username: entry.employeeNumber ?? entry.id,
      email: entry.email ?? undefined,
      employee_number: entry.employeeNumber ?? undefined,
      org_unit: entry.orgUnit ?? undefined,
      roles: [...entry.roles],
    };
    const claims: Record<string, unknown> = {};
    for (const scope of scopes)
      for (const claim of SCOPE_CLAIMS[scope] ?? [])
        if (claim !== "sub" && all[claim] !== undefined) claims[claim] = all[claim];
    return claims;
  }
}
