/**
 * application/x-www-form-urlencoded parameters (the OAuth endpoints' bodies, RFC 6749
 * Appendix B). A parameter given twice is refused (RFC 6749 §3.1, §3.2), and so is one
 * without a value's `=` that would make "a" and "a=" differ.
 */
import { invalidRequest } from "./oauth-error.js";

/** The longest parameter value the OAuth endpoints accept (their routes' schema; the lane relies on it). */
export const MAX_PARAMETER_LENGTH = 8192;

export function parseForm(
  body: string,
  duplicate: (name: string) => Error = (name) =>
    invalidRequest(`parameter ${name} is given more than once (RFC 6749 §3.1)`),
): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(body)) {
    if (name in params) throw duplicate(name.slice(0, 64));
    params[name] = value;
  }
  return params;
}

/** The query string's parameters under the same rule. */
export function parseQuery(url: string): Record<string, string> {
  const question = url.indexOf("?");
  return question < 0 ? Object.create(null) : parseForm(url.slice(question + 1));
}
