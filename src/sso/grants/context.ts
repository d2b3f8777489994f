/** What the token endpoint's grant handlers share, and the RFC 6749 §5.1 response they build. */
import type { Database } from "../../../db/database.js";
import type { Clock } from "../../clock.js";
import type { SsoSessions } from "../sessions.js";
import type { TokenState } from "../token-state.js";
import type { TokenMinter } from "../tokens.js";
import type { UserClaims } from "../user-claims.js";

export interface GrantContext {
  readonly db: Database;
  readonly clock: Clock;
  readonly minter: TokenMinter;
  readonly sessions: SsoSessions;
  readonly state: TokenState;
  readonly users: UserClaims;
  /** Lifetime of a refresh token (never past its session). */
  readonly refreshTokenMs: number;
}

/** RFC 6749 §5.1 (and OpenID Connect Core §3.1.3.3 for id_token). */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
}

/**
 * A failure that must still commit what its transaction did (a revocation) before it is
 * reported: the transaction returns it instead of throwing, then `failAfterCommit` throws.
 */
export class CommitThenFail {
  constructor(readonly error: Error) {}
}

export function failAfterCommit<T>(outcome: T | CommitThenFail): T {
  if (outcome instanceof CommitThenFail) throw outcome.error;
  return outcome;
}
