/**
 * Redirect URIs: registered exactly, matched exactly (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1:
 * simple string comparison, no wildcards, no prefix or case folding, no normalisation). The
 * one exception is RFC 8252 §7.3: for a native app's loopback IP redirect (http, 127.0.0.1
 * or [::1]) any port is accepted at request time, since the app picks a free one.
 */

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]"]);
/** RFC 8252 §7.1 private-use URI scheme: reverse domain name, so it contains a dot. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/;

/** Why a URI cannot be registered as a redirect target, or undefined when it can. */
export function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "is not an absolute URI";
  }
  if (url.href !== uri) return `is not in normal form (it would be read as "${url.href}")`;
  if (url.hash) return "has a fragment (RFC 6749 §3.1.2)";
  if (url.username || url.password) return "has user information";
  if (url.protocol === "https:") return url.hostname.includes("*") ? "has a wildcard" : undefined;
  if (url.protocol === "http:")
    return LOOPBACK_HOSTS.has(url.hostname)
      ? undefined
      : "uses http: http is allowed only for loopback IP literals (RFC 8252 §7.3)";
  if (PRIVATE_USE_SCHEME.test(url.protocol)) return undefined; // RFC 8252 §7.1
  return `uses the scheme ${url.protocol} (https, loopback http or a private-use scheme only)`;
}

/** Whether `requested` is one of the `registered` redirect URIs. */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const loopback = withoutLoopbackPort(requested);
  return loopback !== undefined && registered.some((uri) => withoutLoopbackPort(uri) === loopback);
}

function withoutLoopbackPort(uri: string): string | undefined {
  const match = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::\d{1,5})?(\/.*)?$/.exec(uri);
  if (!match) return undefined;
  return `http://${match[1]}${match[2] ?? ""}`;
}
