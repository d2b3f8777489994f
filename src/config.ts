/**
 * The one typed configuration of the service, read from the environment with embedded
 * defaults: with no variables set it runs on 127.0.0.1:3000 with PGlite and the software
 * key store under ./data. Every variable is listed in the README.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "../hsm-adapters/key-store.js";
import { isTimeZone } from "./operations/local-day.js";

/**
 * The mutual-TLS listener (RFC 8705 §5 "mtls_endpoint_aliases"): the same application over
 * HTTPS on a port of its own, asking every client for a certificate (RFC 8446 §4.3.2).
 */
export interface MtlsConfig {
  readonly host: string;
  readonly port: number;
  /** What clients are told to use (discovery's mtls_endpoint_aliases), e.g. https://sso.gov.cn:3443. */
  readonly publicUrl: string;
  /** PEM files of the listener's own certificate (chain) and key; unset: a development certificate. */
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
}

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Undefined when CA_MTLS_PORT=0. */
  readonly mtls: MtlsConfig | undefined;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  /** `ca serve` processes sharing the port (node:cluster); above 1 only with PostgreSQL. */
  readonly workers: number;
  readonly keyStoreUri: string;
  readonly kek: string | undefined;
  readonly publicBaseUrl: string;
  readonly caKeyAlgorithm: KeyAlgorithm;
  readonly caOrganization: string;
  readonly caCountry: string;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  readonly apiKeyCacheSeconds: number;
  /** IANA time zone of day-based figures ("revocations today" on the dashboard); UTC by default. */
  readonly timeZone: string;
  readonly crl: {
    readonly fullIntervalHours: number;
    readonly validityHours: number;
    readonly deltaValidityMinutes: number;
    readonly publishDelaySeconds: number;
  };
  readonly ocsp: {
    /** nextUpdate − thisUpdate of OCSP responses; they are re-signed half-way (RFC 5019 §6.2, CA/B BR §4.9.10). */
    readonly validityHours: number;
    /** Pre-signed responses each node keeps in memory (about 1 KB each). */
    readonly cacheEntries: number;
  };
  readonly sso: {
    /** JWS algorithm of ID, access and logout tokens (RFC 7518 §3.1). */
    readonly signingAlgorithm: "ES256" | "RS256";
    readonly accessTokenMinutes: number;
    readonly idTokenMinutes: number;
    readonly refreshTokenHours: number;
    readonly sessionHours: number;
    /** How long a new signing key is in the JWKS before it signs (staged rotation). */
    readonly keyPublishHours: number;
  };
  readonly enrollment: {
    /** Days a pending enrolment request waits for an RA operator before it expires. */
    readonly pendingDays: number;
  };
  readonly login: {
    /** Consecutive failed password logins that lock a directory user's account. */
    readonly maxFailures: number;
    readonly lockoutMinutes: number;
    /** Failed logins one remote address may make within the lockout time, per node; 0: no limit. */
    readonly addressMaxFailures: number;
  };
  /** Certificates expiring within `noticeDays` are listed for their holders and RA operators. */
  readonly expiryNotice: {
    readonly noticeDays: number;
    /** Where certificates entering that window are POSTed (JSON, once each, hourly job), if anywhere. */
    readonly webhookUrl: string | undefined;
  };
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  if (!allowed.includes(text as T))
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${text}"`);
  return text as T;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const host = env.HOST || "127.0.0.1";
  const port = integer(env, "PORT", 3000, 0, 65535);
  const dataDir = resolve(env.CA_DATA_DIR || "./data");
  const publicBaseUrl = (env.CA_PUBLIC_URL || `http://${bracketed(host)}:${port}`).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(publicBaseUrl))
    throw new ConfigError(
      `CA_PUBLIC_URL must be an http(s) URL without query or fragment, got "${publicBaseUrl}"`,
    );
  const mtls = mtlsConfig(env, host, port);
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new ConfigError("DATABASE_URL must be a postgres:// or postgresql:// URL");
  const workers = env.CA_WORKERS === "auto" ? availableParallelism() : integer(env, "CA_WORKERS", 1, 1, 64);
  if (workers > 1 && !databaseUrl)
    throw new ConfigError(
      `CA_WORKERS=${env.CA_WORKERS} needs PostgreSQL (DATABASE_URL): the embedded database belongs to one process`,
    );
  return {
    host,
    port,
    mtls,
    dataDir,
    databaseUrl,
    databasePoolSize: integer(env, "DATABASE_POOL_SIZE", 16, 1, 500),
    workers,
    keyStoreUri: env.CA_KEYSTORE || recordedKeyStore(dataDir) || `software:${resolve(dataDir, "keys")}`,
    kek: env.CA_KEK || undefined,
    publicBaseUrl,
    caKeyAlgorithm: oneOf(env, "CA_KEY_ALGORITHM", KEY_ALGORITHMS, "ecdsa-p256"),
    caOrganization: env.CA_ORGANIZATION || "Provincial E-Government Certification Centre",
    caCountry: countryCode(env.CA_COUNTRY),
    logLevel: oneOf(
      env,
      "LOG_LEVEL",
      ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const,
      "info",
    ),
    bodyLimitBytes: integer(env, "CA_BODY_LIMIT", 256 * 1024, 1024, 64 * 1024 * 1024),
    apiKeyCacheSeconds: integer(env, "CA_API_KEY_CACHE_SECONDS", 5, 0, 300),
    timeZone: timeZone(env.CA_TIME_ZONE),
    crl: {
      fullIntervalHours: integer(env, "CA_CRL_FULL_INTERVAL_HOURS", 6, 1, 168),
      validityHours: integer(env, "CA_CRL_VALIDITY_HOURS", 24, 1, 720),
      deltaValidityMinutes: integer(env, "CA_CRL_DELTA_VALIDITY_MINUTES", 60, 5, 1440),
      publishDelaySeconds: integer(env, "CA_CRL_PUBLISH_DELAY_SECONDS", 10, 1, 60),
    },
    ocsp: {
      validityHours: integer(env, "CA_OCSP_VALIDITY_HOURS", 24, 1, 168),
      cacheEntries: integer(env, "CA_OCSP_CACHE_ENTRIES", 100_000, 0, 10_000_000),
    },
    sso: {
      signingAlgorithm: oneOf(env, "CA_SSO_SIGNING_ALG", ["ES256", "RS256"] as const, "ES256"),
      accessTokenMinutes: integer(env, "CA_SSO_ACCESS_TOKEN_MINUTES", 10, 1, 1440),
      idTokenMinutes: integer(env, "CA_SSO_ID_TOKEN_MINUTES", 10, 1, 1440),
      refreshTokenHours: integer(env, "CA_SSO_REFRESH_TOKEN_HOURS", 8, 1, 720),
      sessionHours: integer(env, "CA_SSO_SESSION_HOURS", 10, 1, 720),
      keyPublishHours: integer(env, "CA_SSO_KEY_PUBLISH_HOURS", 24, 0, 720),
    },
    enrollment: {
      pendingDays: integer(env, "CA_ENROLLMENT_PENDING_DAYS", 14, 1, 365),
    },
    login: {
      maxFailures: integer(env, "CA_LOGIN_MAX_FAILURES", 5, 1, 100),
      lockoutMinutes: integer(env, "CA_LOGIN_LOCKOUT_MINUTES", 15, 1, 1440),
      addressMaxFailures: integer(env, "CA_LOGIN_ADDRESS_MAX_FAILURES", 50, 0, 1_000_000),
    },
    expiryNotice: {
      noticeDays: integer(env, "CA_EXPIRY_NOTICE_DAYS", 30, 1, 365),
      webhookUrl: webhookUrl(env.CA_EXPIRY_WEBHOOK_URL),
    },
  };
}

/** An http(s) URL to POST expiry notices to, or undefined when unset. */
function webhookUrl(text: string | undefined): string | undefined {
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`CA_EXPIRY_WEBHOOK_URL must be an absolute http(s) URL, got "${text}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ConfigError(`CA_EXPIRY_WEBHOOK_URL must be an http(s) URL, got "${text}"`);
  return url.toString();
}

function timeZone(text: string | undefined): string {
  if (!text) return "UTC";
  if (!isTimeZone(text))
    throw new ConfigError(`CA_TIME_ZONE must be an IANA time zone such as Asia/Shanghai, got "${text}"`);
  return text;
}

const bracketed = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** CA_MTLS_*, CA_TLS_CERT and CA_TLS_KEY; CA_MTLS_PORT=0 turns the listener off. */
function mtlsConfig(env: NodeJS.ProcessEnv, host: string, port: number): MtlsConfig | undefined {
  const mtlsPort = integer(env, "CA_MTLS_PORT", 3443, 0, 65535);
  if (mtlsPort === 0) return undefined;
  if (mtlsPort === port && port !== 0)
    throw new ConfigError(`CA_MTLS_PORT must differ from PORT (both are ${port})`);
  const mtlsHost = env.CA_MTLS_HOST || host;
  const publicUrl = (env.CA_MTLS_PUBLIC_URL || `https://${bracketed(mtlsHost)}:${mtlsPort}`).replace(
    /\/+$/,
    "",
  );
  if (!/^https:\/\/[^/?#]+(\/[^?#]*)?$/.test(publicUrl))
    throw new ConfigError(
      `CA_MTLS_PUBLIC_URL must be an https URL without query or fragment, got "${publicUrl}"`,
    );
  const certFile = env.CA_TLS_CERT || undefined;
  const keyFile = env.CA_TLS_KEY || undefined;
  if (Boolean(certFile) !== Boolean(keyFile))
    throw new ConfigError(
      "CA_TLS_CERT and CA_TLS_KEY go together: set both, or neither for a development certificate",
    );
  return {
    host: mtlsHost,
    port: mtlsPort,
    publicUrl,
    certFile: certFile && resolve(certFile),
    keyFile: keyFile && resolve(keyFile),
  };
}

/** ISO 3166 alpha-2, as countryName requires (RFC 5280 Appendix A, X.520). */
function countryCode(text: string | undefined): string {
  if (!text) return "CN";
  if (!/^[A-Z]{2}$/.test(text))
    throw new ConfigError(`CA_COUNTRY must be a two-letter ISO 3166 code, got "${text}"`);
  return text;
}

/** The key store chosen by `ca init --keystore …`, recorded in the data directory. */
export const KEYSTORE_FILE = "keystore.uri";

function recordedKeyStore(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, KEYSTORE_FILE), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
