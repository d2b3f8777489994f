/**
 * The claims a relying party receives about a user (OpenID Connect Core §5.1, §5.4), by
 * scope, from the directory (src/identity).
 */
import { SCOPE_CLAIMS } from "./scopes.js";

/** What the provider reads of a directory user (src/identity/users.ts). */
export interface DirectoryEntry {
  readonly id: string;
  readonly name: string;
  readonly employeeNumber: string | null;
  readonly email: string | null;
  readonly orgUnit: string | null;
  readonly roles: readonly string[];
  readonly disabledAt: Date | null;
}

export class UserClaims {
  constructor(private readonly lookup: (id: string) => Promise<DirectoryEntry | undefined>) {}

  /** The directory user, if it exists and is enabled. */
  async entry(id: string): Promise<DirectoryEntry | undefined> {
    const entry = await this.lookup(id);
    return entry && !entry.disabledAt ? entry : undefined;
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
