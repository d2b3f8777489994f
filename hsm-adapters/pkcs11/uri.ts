/**
 * PKCS#11 URIs (RFC 7512) for the key store:
 *   pkcs11:token=gov-ca?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
 * The PIN comes from a file (`pin-source=file:PATH`, RFC 7512 §2.3) or an environment
 * variable (`pin-source=env:NAME`); `pin-value` is refused so that a PIN never sits in a
 * configuration string or a command line. `pin-source` is accepted in the path part too.
 * Vendor query attributes: `x-pool-size` (sessions, default 8), `x-probe-seconds` (health probe),
 * `x-softhsm2-conf` (SoftHSMv2's configuration file, set as SOFTHSM2_CONF before C_Initialize),
 * `x-verify-signatures` (`all`, the default, or `rsa`: which token signatures are verified on
 * the host before use; RSA always, since one faulty RSA-CRT signature reveals the key).
 */
import { KeyStoreError } from "../key-store.js";

export interface Pkcs11Uri {
  readonly modulePath: string;
  readonly token?: string | undefined;
  readonly serial?: string | undefined;
  readonly slotId?: number | undefined;
  readonly pinSource: { kind: "file"; path: string } | { kind: "env"; name: string };
  readonly poolSize: number;
  readonly probeSeconds: number;
  readonly softHsmConfig?: string | undefined;
  readonly verifySignatures: "all" | "rsa";
}

const invalid = (detail: string) => new KeyStoreError("bad-configuration", `PKCS#11 URI: ${detail}`);

/** RFC 7512 §2.3: attribute values are percent-encoded. */
function decode(value: string, name: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalid(`attribute "${name}" is not valid percent-encoding`);
  }
}

function attributes(part: string, separator: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const item of part.split(separator)) {
    if (!item) continue;
    const equals = item.indexOf("=");
    if (equals <= 0) throw invalid(`"${item}" is not name=value`);
    const name = item.slice(0, equals).toLowerCase();
    if (result.has(name)) throw invalid(`attribute "${name}" appears twice (RFC 7512 §2.3)`);
    result.set(name, decode(item.slice(equals + 1), name));
  }
  return result;
}

function integerAttribute(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max)
    throw invalid(`${name} must be an integer from ${min} to ${max}`);
  return number;
}

/** Parses the part after "pkcs11:". */
export function parsePkcs11Uri(rest: string): Pkcs11Uri {
  const question = rest.indexOf("?");
  const path = attributes(question >= 0 ? rest.slice(0, question) : rest, ";");
  const query = attributes(question >= 0 ? rest.slice(question + 1) : "", "&");
  if (path.has("pin-value") || query.has("pin-value"))
    throw invalid("pin-value is refused: give the PIN with pin-source=file:/path or pin-source=env:NAME");
  const modulePath = query.get("module-path");
  if (!modulePath)
    throw invalid("module-path is required, e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so");
  const pinText = query.get("pin-source") ?? path.get("pin-source");
  if (!pinText) throw invalid("pin-source is required: file:/path/to/pin or env:VARIABLE");
  let pinSource: Pkcs11Uri["pinSource"];
  if (pinText.startsWith("file:"))
    pinSource = { kind: "file", path: pinText.slice(5).replace(/^\/\/(?=\/)/, "") };
  else if (pinText.startsWith("env:")) pinSource = { kind: "env", name: pinText.slice(4) };
  else throw invalid(`pin-source "${pinText}" must start with file: or env:`);
  const token = path.get("token");
  const serial = path.get("serial");
  const slotText = path.get("slot-id");
  if (!token && !serial && slotText === undefined)
    throw invalid("name the token: token=LABEL, serial=… or slot-id=…");
  return {
    modulePath,
    token,
    serial,
    slotId: slotText === undefined ? undefined : integerAttribute(slotText, "slot-id", 0, 0, 2 ** 32 - 1),
    pinSource,
    poolSize: integerAttribute(query.get("x-pool-size"), "x-pool-size", 8, 1, 256),
    probeSeconds: integerAttribute(query.get("x-probe-seconds"), "x-probe-seconds", 10, 1, 3600),
    softHsmConfig: query.get("x-softhsm2-conf"),
    verifySignatures: verifyPolicy(query.get("x-verify-signatures")),
  };
}

function verifyPolicy(value: string | undefined): "all" | "rsa" {
  if (value === undefined || value === "all" || value === "rsa") return value ?? "all";
  throw invalid(`x-verify-signatures must be "all" or "rsa", got "${value}"`);
}
