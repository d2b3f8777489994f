/**
 * Scopes and the claims they release (OpenID Connect Core §5.4, plus `org` for the
 * government directory). `openid` makes a request an OpenID Connect one (an ID token).
 */
export const SCOPES = ["openid", "profile", "email", "org"] as const;

export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  openid: ["sub"],
  profile: ["name", "preferred_username"],
  email: ["email"],
  org: ["employee_number", "org_unit", "roles"],
};

export const CLAIMS_SUPPORTED = [...new Set(Object.values(SCOPE_CLAIMS).flat())];

/** RFC 6749 §3.3: a space-delimited list; an empty string is no scope. */
export const parseScope = (scope: string | undefined): string[] =>
  scope ? [...new Set(scope.split(" ").filter(Boolean))] : [];
