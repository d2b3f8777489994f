/**
 * An OpenID Provider under test, listening on a loopback port (openid-client speaks real
 * HTTP to it), with helpers to register clients as an administrator would.
 */
import { createHmac, generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import * as oidc from "openid-client";
import { findBySerial } from "../../db/stores/certificates.js";
import type { Role } from "../../db/stores/principals.js";
import { actorOf, cliActor } from "../../src/auth/principal.js";
import { encodePem } from "../../src/pki/pem.js";
import { startListeners } from "../../src/server.js";
import { buildCsrPem } from "./csr.js";
import type { Engine } from "./databases.js";
import { bearer, createHarness, type Harness } from "./harness.js";
import { freePort } from "./ports.js";

export interface SsoHarness extends Harness {
  readonly issuer: string;
  /** Registers a client through the admin API; returns its id and (client_secret_basic) secret. */
  client(body: Record<string, unknown>): Promise<{ clientId: string; clientSecret?: string }>;
  /** openid-client's configuration for a client_secret_basic client, by discovery. */
  discover(clientId: string, clientSecret: string): Promise<oidc.Configuration>;
  /** A directory user with a password and an enrolled TOTP secret, in `orgUnit` (default "gov"). */
  user(roles?: Role[], orgUnit?: string): Promise<TestUser>;
  /** The mTLS listener's base URL (when created with `mtls: true`). */
  readonly mtlsUrl: string;
  /** Our root CA certificate, PEM: what a browser must trust for the mTLS listener. */
  readonly rootPem: string;
  /** A user-signing certificate (clientAuth) issued to `user` as itself, with its key. */
  userCertificate(user: TestUser): Promise<{ serial: string; certificatePem: string; keyPem: string }>;
}

export interface TestUser {
  readonly id: string;
  readonly name: string;
  readonly employeeNumber: string;
  readonly password: string;
  readonly totpSecret: string;
}

let users = 0;

export async function createSsoHarness(
  engine: Engine,
  options: Parameters<typeof createHarness>[1] & { mtls?: boolean } = {},
): Promise<SsoHarness> {
  const port = await freePort();
  const mtlsPort = options.mtls ? await freePort() : 0;
  const issuer = `http://127.0.0.1:${port}`;
  const harness = await createHarness(engine, {
    ...options,
    env: {
      CA_PUBLIC_URL: issuer,
      HOST: "127.0.0.1",
      PORT: String(port),
      CA_MTLS_PORT: String(mtlsPort),
      ...options.env,
    },
  });
  await harness.context.sso.start(); // the revocation memory, as `ca serve` has it
  // With mTLS, the service's own two listeners; without, the harness app on the main port.
  const running = options.mtls ? await startListeners(harness.context) : undefined;
  if (!running) await harness.app.listen({ host: "127.0.0.1", port });
  return {
    ...harness,
    issuer,
    mtlsUrl: `https://127.0.0.1:${mtlsPort}`,
    rootPem: encodePem("CERTIFICATE", harness.context.issuers.get("root-1").row.certificate),
    async close() {
      await running?.close();
      await harness.close();
    },
    async userCertificate(user) {
      const entry = (await harness.context.directory.get(user.id))!;
      const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
      // The user asks for its own user-signing certificate; an operator at the CLI approves it.
      const { enrollment } = await harness.context.enrollments.submit(
        actorOf({
          id: entry.id,
          kind: "user",
          name: entry.name,
          roles: entry.roles,
          orgUnit: entry.orgUnit,
          dnsNames: [],
        }),
        { csr: buildCsrPem({ key }), profile: "user-signing", method: "csr" },
      );
      const approved =
        enrollment.certificate ??
        (await harness.context.enrollments.approve(cliActor("test"), enrollment.id)).certificate!;
      const [issued] = await findBySerial(harness.context.db, approved.serial, approved.issuer);
      return {
        serial: issued!.serial,
        certificatePem: encodePem("CERTIFICATE", issued!.der),
        keyPem: key.export({ format: "pem", type: "pkcs8" }).toString(),
      };
    },
    async client(body) {
      const response = await harness.app.inject({
        method: "POST",
        url: "/api/v1/clients",
        headers: bearer(harness.adminToken),
        payload: body,
      });
      if (response.statusCode !== 201) throw new Error(`client registration failed: ${response.body}`);
      return response.json();
    },
    async user(roles: Role[] = ["subscriber"], orgUnit = "gov") {
      const actor = cliActor("test");
      const employeeNumber = `E${process.pid}-${++users}`;
      const user = await harness.context.directory.create(actor, {
        name: `Civil Servant ${users}`,
        employeeNumber,
        orgUnit,
        roles,
        email: `servant${users}@gov.test`,
      });
      const password = `correct horse ${users} battery`;
      await harness.context.directory.setPassword(actor, user.id, password);
      const { secret } = await harness.context.directory.enrollTotp(actor, user.id);
      return { id: user.id, name: user.name, employeeNumber, password, totpSecret: secret };
    },
    discover(clientId, clientSecret) {
      return oidc.discovery(new URL(issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), {
        execute: [oidc.allowInsecureRequests],
      });
    },
  };
}

/** RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits), written here independently of src/identity. */
export function totp(secretBase32: string, at = Date.now()): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of secretBase32.replace(/=+$/, "").toUpperCase())
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g)!.map((byte) => Number.parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** A browser as far as the provider can tell: a cookie jar and redirects it follows by hand. */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly dispatcher?: unknown) {}

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    if (init.form) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await fetch(url, {
      method: init.method ?? (init.form ? "POST" : "GET"),
      headers,
      redirect: "manual",
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    } as RequestInit);
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/Max-Age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Follows redirects from `url` until one leaves `origin` (the relying party's callback) or a page is shown. */
  async follow(url: string, origin: string, init: { method?: string; form?: Record<string, string> } = {}) {
    let response = await this.request(url, init);
    let location = response.headers.get("location");
    while (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url);
      if (next.origin !== origin) return { response, location: next.href };
      url = next.href;
      response = await this.request(url);
      location = response.headers.get("location");
    }
    return { response, location: undefined, url };
  }
}

/** Logs `user` in with password + TOTP through the login page; returns the callback URL with the code. */
export async function passwordLogin(
  browser: Browser,
  issuer: string,
  authorizationUrl: URL,
  user: TestUser,
): Promise<string> {
  const start = await browser.follow(authorizationUrl.href, issuer);
  if (start.location) return start.location; // already logged in (SSO)
  const page = await start.response.text();
  const interaction = /name="interaction" value="([^"]+)"/.exec(page)?.[1];
  if (!interaction) throw new Error(`no login form: ${start.response.status} ${page.slice(0, 300)}`);
  const done = await browser.follow(`${issuer}/login/password`, issuer, {
    form: { interaction, login: user.employeeNumber, password: user.password, otp: totp(user.totpSecret) },
  });
  if (!done.location)
    throw new Error(
      `login did not redirect: ${done.response.status} ${(await done.response.text()).slice(0, 500)}`,
    );
  return done.location;
}

/** A relying party's back-channel logout endpoint (Back-Channel Logout 1.0 §2.5) on loopback. */
export interface LogoutReceiver {
  /** Its base URL; POSTs to `${url}/<client>` are recorded under that client. */
  readonly url: string;
  readonly received: { readonly client: string; readonly token: string }[];
  close(): Promise<void>;
}

export async function startLogoutReceiver(): Promise<LogoutReceiver> {
  const received: { client: string; token: string }[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      received.push({
        client: request.url!.slice(1),
        token: new URLSearchParams(body).get("logout_token") ?? "",
      });
      response.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
