/**
 * The admin API accepts the provider's own access tokens besides API keys: a civil servant's
 * application calls it on the user's behalf, and the user's directory roles decide (RBAC).
 * The token must be live (not expired, nothing under it revoked: src/sso/access-tokens.ts)
 * and meant for this API: its `aud` names the issuer (RFC 9068 §4, step 3), which a client
 * gets by being registered with the issuer URL in its audience. A certificate-bound token
 * (RFC 8705 §3) is refused here, where no client certificate can be checked.
 */

import { unauthenticated } from "../errors.js";
import type { Directory } from "../identity/users.js";
import type { AccessTokens } from "../sso/access-tokens.js";
import type { Principal } from "./principal.js";

export async function principalFromAccessToken(
  tokens: AccessTokens,
  directory: Directory,
  issuer: string,
  token: string,
): Promise<Principal> {
  const claims = await tokens.access(token);
  if (!claims) throw unauthenticated("the access token is not active");
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audience.includes(issuer))
    throw unauthenticated(
      `the access token is not meant for this API: its aud must include ${issuer} (RFC 9068 §4)`,
    );
  if (claims.cnf)
    throw unauthenticated("a certificate-bound access token cannot be used on this listener (RFC 8705 §3)");
  const user = await directory.get(claims.sub);
  if (!user) throw unauthenticated("the access token was not issued for a directory user");
  if (user.disabledAt) throw unauthenticated("the user of this access token is disabled");
  return {
    id: user.id,
    kind: "user",
    name: user.name,
    roles: user.roles,
    orgUnit: user.orgUnit,
    dnsNames: [],
  };
}
