/** The provider's cookies (RFC 6265): HttpOnly, SameSite=Lax, Secure whenever the issuer is https. */

export const SESSION_COOKIE = "gca_sso";
/** One per pending interaction, so two tabs logging in at once do not overwrite each other. */
export const interactionCookie = (id: string): string => `gca_int_${id}`;

export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !(name in cookies)) cookies[name] = part.slice(eq + 1).trim();
  }
  return cookies;
}

export interface Cookie {
  readonly name: string;
  readonly value: string;
  /** Seconds; 0 deletes the cookie. */
  readonly maxAge: number;
}

export function serializeCookie(cookie: Cookie, secure: boolean): string {
  return [
    `${cookie.name}=${cookie.value}`,
    "Path=/",
    `Max-Age=${Math.max(0, Math.floor(cookie.maxAge))}`,
    "HttpOnly",
    "SameSite=Lax",
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}
