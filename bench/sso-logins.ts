/**
 * Certificate logins for `npm run bench:sso`: what a browser and a relying party do, end to
 * end, with a fresh TLS handshake presenting a user certificate every time:
 *
 *   1. GET  /oauth/authorize (code, PKCE S256, a first-party client: no consent)
 *           → 303 /login?interaction=X, with the interaction cookie
 *   2. GET  <mTLS listener>/login/certificate?interaction=X on a NEW TLS connection (no session
 *           resumption) with the user's certificate → 303 <issuer>/oauth/authorize/resume?…
 *   3. GET  /oauth/authorize/resume with the interaction cookie → 303 <redirect_uri>?code=…
 *   4. POST /oauth/token (authorization_code, code_verifier, client_secret_basic) → 200
 *
 * Driven from Node (not wrk: four requests, cookies, two listeners, client certificates),
 * BENCH_CONNECTIONS loops at once. `prepareLogins` fails with NotMeasured when the service
 * lacks a part the flow needs (the mTLS listener, the certificate login route), so that the
 * bench reports why instead of a figure.
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from "node:http";
import { type RequestOptions as HttpsRequestOptions, request as httpsRequest } from "node:https";
import {
  type ConnectionOptions,
  createSecureContext,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from "node:tls";
import { findBySerial } from "../db/stores/certificates.js";
import { actorOf, cliActor } from "../src/auth/principal.js";
import { loadConfig } from "../src/config.js";
import { openContext } from "../src/context.js";
import { encodePem } from "../src/pki/pem.js";
import { buildCsrPem } from "../tests/helpers/csr.js";

/** A part of the flow is missing from the service under test: reported, not measured. */
export class NotMeasured extends Error {
  override readonly name = "NotMeasured";
}

export interface LoginCertificate {
  readonly serial: string;
  readonly certificatePem: string;
  readonly keyPem: string;
  /**
   * The certificate and key, parsed once: a context per request would parse them and load
   * the default trust store every time, and make the driver, not the service, the bottleneck.
   */
  readonly context: SecureContext;
}

export interface LoginSetup {
  readonly issuer: string;
  readonly mtlsPort: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly certificates: readonly LoginCertificate[];
}

export interface LoopResult {
  readonly seconds: number;
  /** Rounds that ended as expected. */
  readonly completed: number;
  readonly perSecond: number;
  readonly latencyMs: { p50: number; p99: number; max: number };
  /** Failed logins by the step and answer that failed them. */
  readonly errors: Record<string, number>;
  readonly errorCount: number;
}

interface Answer {
  /** Whether the TLS session was resumed (never wanted here: every login is a full handshake). */
  readonly resumed?: boolean;
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

const REDIRECT_URI = "http://127.0.0.1:9/bench-callback"; // never contacted: the code is read from the Location

/** Sends `outgoing` (with `body`) and reads the whole answer. */
function exchange(outgoing: ClientRequest, what: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    outgoing.on("response", (response: IncomingMessage) => {
      // Read now: the socket is detached from the response once it has ended.
      const resumed = (response.socket as TLSSocket | null)?.isSessionReused?.() ?? false;
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          resumed,
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      response.on("error", reject);
    });
    outgoing.on("timeout", () => outgoing.destroy(new Error(`no answer from ${what} in 10 s`)));
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

/** One HTTP request on the main listener (a keep-alive agent, like a browser's). */
const http = (
  agent: HttpAgent,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> =>
  exchange(
    httpRequest(url, { method: init.method ?? "GET", headers: init.headers ?? {}, agent, timeout: 10_000 }),
    url,
    init.body,
  );

/**
 * One request on a NEW TLS connection to the mTLS listener (agent: false: no pooled socket,
 * no session cache, so a full handshake with the client certificate every time). The
 * server's own certificate is not checked: that is the browser's work, not the service's.
 */
const mtls = (port: number, path: string, certificate: LoginCertificate): Promise<Answer> => {
  const options: HttpsRequestOptions & Pick<ConnectionOptions, "secureContext"> = {
    host: "127.0.0.1",
    port,
    path,
    method: "GET",
    agent: false,
    secureContext: certificate.context,
    rejectUnauthorized: false,
    timeout: 10_000,
  };
  return exchange(httpsRequest(options), "the mTLS listener");
};

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

/** Whether something accepts TLS on the port (the mTLS listener, when the service has one). */
export function tlsListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, timeout: 5000 });
    socket.once("secureConnect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function api(baseUrl: string, token: string, path: string, body: object) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json",
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json().catch(() => ({}))) as Record<string, unknown>,
  };
}

/**
 * `count` directory users (subscribers of org unit "gov") and a user-signing certificate each,
 * requested by the user for itself (so it is owned by the user, as a login needs) and approved
 * by the operator. Made
 * through the service context in this process, on the service's database and key store, as
 * an operator at the CLI would (`ca user create`) and as the user would through the API: the
 * API only lets a user request its own certificate with one of our access tokens, which would
 * need a password + TOTP login per user first. Fails with NotMeasured when nothing listens
 * for TLS on the mTLS port.
 */
export async function userCertificates(options: {
  /** The service's environment (DATABASE_URL, CA_DATA_DIR, …). */
  env: NodeJS.ProcessEnv;
  mtlsPort: number;
  count: number;
}): Promise<LoginCertificate[]> {
  if (!(await tlsListening(options.mtlsPort)))
    throw new NotMeasured(
      `nothing accepts TLS on CA_MTLS_PORT=${options.mtlsPort}: this build of \`ca serve\` has no mTLS listener`,
    );
  const context = await openContext(loadConfig({ ...options.env, LOG_LEVEL: "silent" }));
  const certificates: LoginCertificate[] = [];
  try {
    for (let i = 0; i < options.count; i++) {
      const user = await context.directory.create(cliActor("bench"), {
        name: `Bench User ${i}`,
        employeeNumber: `BENCH-${process.pid}-${i}`,
        orgUnit: "gov",
        roles: ["subscriber"],
      });
      const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
      const principal = { ...user, kind: "user" as const, dnsNames: [] };
      // The user's enrolment request, approved by the operator at the CLI (user-signing waits for an RA operator).
      const { enrollment } = await context.enrollments.submit(actorOf(principal), {
        csr: buildCsrPem({ key }),
        profile: "user-signing",
        method: "csr",
      });
      const { certificate } = await context.enrollments.approve(cliActor("bench"), enrollment.id);
      const [issued] = await findBySerial(context.db, certificate!.serial, certificate!.issuer);
      // With the CA certificates above it, as a browser sends them from its certificate store.
      const certificatePem =
        encodePem("CERTIFICATE", issued!.der) + context.issuers.get(issued!.issuer_id).chainPem;
      const keyPem = key.export({ format: "pem", type: "pkcs8" }).toString();
      certificates.push({
        serial: issued!.serial.toLowerCase(),
        certificatePem,
        keyPem,
        context: createSecureContext({ cert: certificatePem, key: keyPem }),
      });
    }
  } finally {
    await context.close();
  }
  const failure = await certificateCheck(options.mtlsPort, certificates[0]!);
  if (failure) throw new NotMeasured(`the mTLS listener refused a user certificate: ${failure}`);
  return certificates;
}

/**
 * The TLS half of a certificate login alone: a new connection (full handshake with the user
 * certificate) and GET /api/v1/me/certificate?purpose=user-login, where the service checks
 * the certificate as a login would (chain to our CAs, status, owned by a directory principal).
 */
async function certificateCheck(port: number, certificate: LoginCertificate): Promise<string | undefined> {
  const answer = await mtls(port, "/api/v1/me/certificate?purpose=user-login", certificate);
  if (answer.resumed) return "me/certificate: TLS session resumed";
  if (answer.status !== 200) return `me/certificate ${answer.status}`;
  const body = JSON.parse(answer.body) as { serial?: string; ownerId?: string | null };
  if (body.serial?.toLowerCase() !== certificate.serial || !body.ownerId)
    return "me/certificate: another certificate";
  return undefined;
}

/** Registers the relying party (first party, so no consent) and checks one whole login. */
export async function prepareLogins(options: {
  baseUrl: string;
  adminToken: string;
  mtlsPort: number;
  certificates: readonly LoginCertificate[];
}): Promise<LoginSetup> {
  const { baseUrl, adminToken } = options;
  const discovery = (await (await fetch(`${baseUrl}/.well-known/openid-configuration`)).json()) as {
    issuer: string;
  };
  const client = await api(baseUrl, adminToken, "/api/v1/clients", {
    clientId: "bench-web",
    name: "Bench web application",
    tokenEndpointAuthMethod: "client_secret_basic",
    grantTypes: ["authorization_code"],
    redirectUris: [REDIRECT_URI],
    scopes: ["openid", "profile"],
    firstParty: true,
  });
  if (client.status !== 201) throw new Error(`registering bench-web answered ${client.status}`);
  const setup: LoginSetup = {
    issuer: discovery.issuer,
    mtlsPort: options.mtlsPort,
    clientId: "bench-web",
    clientSecret: client.body.clientSecret as string,
    redirectUri: REDIRECT_URI,
    certificates: options.certificates,
  };
  // One whole login before measuring: every step must answer as the flow says.
  const agent = new HttpAgent({ keepAlive: true });
  try {
    const failure = await login(setup, agent, options.certificates[0]!);
    if (failure === "login/certificate 404")
      throw new NotMeasured(
        "the mTLS listener answers 404 for GET /login/certificate: this build has no certificate login route",
      );
    if (failure) throw new NotMeasured(`a certificate login failed at ${failure}`);
  } finally {
    agent.destroy();
  }
  return setup;
}

const cookiePairs = (answer: Answer): string[] =>
  (answer.headers["set-cookie"] ?? []).map((line) => line.split(";")[0]!).filter((pair) => !/=$/.test(pair));

/** One login; undefined when it ended with a 200 from the token endpoint, else the failing step. */
async function login(
  setup: LoginSetup,
  agent: HttpAgent,
  certificate: LoginCertificate,
): Promise<string | undefined> {
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(12).toString("base64url");
  const query = new URLSearchParams({
    response_type: "code",
    client_id: setup.clientId,
    redirect_uri: setup.redirectUri,
    scope: "openid profile",
    state,
    nonce: randomBytes(12).toString("base64url"),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  });
  // Step 1: the authorization request; a new browser, so a login is needed.
  const authorize = await http(agent, `${setup.issuer}/oauth/authorize?${query}`);
  const loginUrl = authorize.headers.location;
  const interaction = loginUrl ? new URL(loginUrl, setup.issuer).searchParams.get("interaction") : null;
  if (authorize.status !== 303 || !interaction) return `authorize ${authorize.status}`;
  const cookies = cookiePairs(authorize);
  // Step 2: the certificate login on the mTLS listener, a new TLS handshake.
  const certificateLogin = await mtls(
    setup.mtlsPort,
    `/login/certificate?interaction=${encodeURIComponent(interaction)}`,
    certificate,
  );
  if (certificateLogin.resumed) return "login/certificate: TLS session resumed";
  const resumeUrl = certificateLogin.headers.location;
  if (certificateLogin.status !== 303 || !resumeUrl) return `login/certificate ${certificateLogin.status}`;
  // Step 3: back on the provider's origin, with the interaction cookie.
  const resume = await http(agent, new URL(resumeUrl, setup.issuer).href, {
    headers: { cookie: cookies.join("; ") },
  });
  const callback = resume.headers.location ? new URL(resume.headers.location) : undefined;
  const code = callback?.searchParams.get("code");
  if (resume.status !== 303 || !code || callback?.searchParams.get("state") !== state)
    return `resume ${resume.status}${callback?.searchParams.get("error") ? ` ${callback.searchParams.get("error")}` : ""}`;
  // Step 4: the relying party redeems the code with its PKCE verifier.
  const token = await http(agent, `${setup.issuer}/oauth/token`, {
    method: "POST",
    headers: {
      authorization: basic(setup.clientId, setup.clientSecret),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: setup.redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  if (token.status !== 200) return `token ${token.status}`;
  const tokens = JSON.parse(token.body) as { id_token?: unknown; access_token?: unknown };
  if (typeof tokens.id_token !== "string" || typeof tokens.access_token !== "string")
    return "token without id_token";
  return undefined;
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/**
 * `concurrency` loops of `once` for `seconds`; each answers undefined (done) or the step that
 * failed. Rounds still running at the end are not counted.
 */
async function loops(
  concurrency: number,
  seconds: number,
  once: (index: number, round: number) => Promise<string | undefined>,
): Promise<LoopResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let errorCount = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async (index: number) => {
    for (let round = 0; performance.now() < deadline; round++) {
      const begun = performance.now();
      const failure = await once(index, round).catch((error: Error) => `error ${error.message}`);
      if (performance.now() > deadline) break;
      if (failure) {
        errorCount++;
        errors[failure] = (errors[failure] ?? 0) + 1;
      } else latencies.push(performance.now() - begun);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, index) => loop(index)));
  const elapsed = (Math.min(performance.now(), deadline) - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    seconds: elapsed,
    completed: latencies.length,
    perSecond: latencies.length / elapsed,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 },
    errors,
    errorCount,
  };
}

/** Whole certificate logins, `concurrency` at once. */
export async function runLogins(
  setup: LoginSetup,
  concurrency: number,
  seconds: number,
): Promise<LoopResult> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  try {
    return await loops(concurrency, seconds, (index, round) =>
      login(setup, agent, setup.certificates[(index + round) % setup.certificates.length]!),
    );
  } finally {
    agent.destroy();
  }
}

/**
 * A request to bench/tls-floor.ts, the same shape as `certificateCheck`: a new TLS connection
 * presenting the certificate, answered with its serial number and nothing else.
 */
async function floorCheck(port: number, certificate: LoginCertificate): Promise<string | undefined> {
  const answer = await mtls(port, "/", certificate);
  if (answer.resumed) return "floor: TLS session resumed";
  if (answer.status !== 200) return `floor ${answer.status}`;
  if (!/^[0-9A-Fa-f]+$/.test(answer.body) || BigInt(`0x${answer.body}`) !== BigInt(`0x${certificate.serial}`))
    return "floor: another certificate";
  return undefined;
}

/** `check` with each loop's next certificate, `concurrency` at once. */
const rotating =
  (check: (port: number, certificate: LoginCertificate) => Promise<string | undefined>) =>
  (
    port: number,
    certificates: readonly LoginCertificate[],
    concurrency: number,
    seconds: number,
  ): Promise<LoopResult> =>
    loops(concurrency, seconds, (index, round) =>
      check(port, certificates[(index + round) % certificates.length]!),
    );

/** The TLS half alone (certificateCheck), `concurrency` at once. */
export const runCertificateChecks = rotating(certificateCheck);

/** The same handshakes against bench/tls-floor.ts (floorCheck), `concurrency` at once. */
export const runFloorChecks = rotating(floorCheck);
