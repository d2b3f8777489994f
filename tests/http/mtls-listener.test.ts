/**
 * The mutual-TLS listener (RFC 8705 §5): the application over HTTPS with our own development
 * certificate, asking for client certificates from our CAs, checked by the application; real
 * peers (node:https, node:tls, openssl s_client, curl) on both databases; no TLS session
 * resumption; the route that shows what a certificate proves; and `ca serve` running it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import {
  Agent,
  createServer as createHttpsServer,
  request as httpsRequest,
  type RequestOptions,
} from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectionOptions, TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixedClock } from "../../src/clock.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { encodePem } from "../../src/pki/pem.js";
import { type RunningServer, startListeners } from "../../src/server.js";
import {
  type ClientCertificate,
  forgeClientCertificate,
  issueClientCertificate,
  thumbprint,
} from "../helpers/client-certificates.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";
import { NEWKEY, runPeer } from "../helpers/peers.js";
import { freePort } from "../helpers/ports.js";

const DAY = 86_400_000;
const BIN = join(import.meta.dirname, "../../bin/ca.mjs");

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** Whether this request's TLS session was resumed, as the client saw it. */
  readonly resumed: boolean;
  /** Whether the request went on a connection used before (keep-alive). */
  readonly reusedSocket: boolean;
  readonly session: Buffer | undefined;
}

type TlsRequestOptions = RequestOptions & Pick<ConnectionOptions, "session">;

/** One HTTPS GET; `tls` carries the client certificate, the trust anchor, a session to resume, or an agent. */
function httpsGet(port: number, path: string, tls: TlsRequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const request = httpsRequest({ host: "127.0.0.1", port, path, agent: false, ...tls }, (response) => {
      const resumed = (response.socket as TLSSocket).isSessionReused();
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        // TLS 1.3 sends session tickets after the handshake: give them the time to arrive.
        setImmediate(() =>
          resolve({
            status: response.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString() || "{}"),
            resumed,
            reusedSocket: request.reusedSocket,
            session,
          }),
        );
      });
    });
    request.on("socket", (socket) => socket.on("session", (value: Buffer) => (session = value)));
    request.on("error", reject);
    request.end();
  });
}

/**
 * openssl with `input` on its standard input. s_client with -ign_eof sends an HTTP request that
 * closes the connection and reads until then: the session tickets (sent after the handshake)
 * have arrived when it exits, so -sess_out saves a session that could be resumed.
 */
function openssl(
  args: readonly string[],
  cwd: string,
  input = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "openssl",
      args,
      { cwd, timeout: 60_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    child.stdin!.end(input);
  });
}

const HTTP_REQUEST = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

/** openssl s_client verifying the server's chain up to root.pem and its IP address 127.0.0.1. */
const verifyServer = (port: number, cwd: string) =>
  openssl(
    [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-CAfile",
      "root.pem",
      "-verify_ip",
      "127.0.0.1",
      "-verify_return_error",
    ],
    cwd,
  );

/** openssl s_client with a client certificate, saving (-sess_out) or offering (-sess_in) a session. */
const sessionHandshake = (
  port: number,
  client: { cert: string; key: string },
  session: { flag: "-sess_out" | "-sess_in"; file: string },
  cwd: string,
) =>
  openssl(
    [
      ...["s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", "root.pem"],
      ...["-cert", client.cert, "-key", client.key, session.flag, session.file, "-ign_eof"],
    ],
    cwd,
    HTTP_REQUEST,
  );

const withCertificate = (certificate: ClientCertificate, ca: string) => ({
  key: certificate.keyPem,
  cert: certificate.certificatePem,
  ca,
});

describe.each(ENGINES)("the mTLS listener on %s (RFC 8705 §5, RFC 8446)", (engine) => {
  let harness: Harness;
  let clock: FixedClock;
  let running: RunningServer;
  let port: number;
  let rootPem: string;
  let directory: string;
  let subscriber: { id: string; token: string };
  let civilServant: ClientCertificate;
  let system: ClientCertificate;

  beforeAll(async () => {
    clock = new FixedClock(new Date(Math.floor(Date.now() / 1000) * 1000));
    harness = await createHarness(engine, {
      clock,
      env: { PORT: "0", HOST: "127.0.0.1", CA_MTLS_PORT: String(await freePort()) },
    });
    await harness.context.ocsp.invalidation.ensureListening();
    running = await startListeners(harness.context);
    port = running.mtls!.address.port;
    rootPem = encodePem("CERTIFICATE", harness.context.issuers.get("root-1").row.certificate);
    directory = await mkdtemp(join(tmpdir(), "ca-mtls-"));
    await writeFile(join(directory, "root.pem"), rootPem);
    subscriber = await harness.account("subscriber");
    civilServant = await issueClientCertificate(harness, {
      profile: "user-signing",
      token: subscriber.token,
    });
    system = await issueClientCertificate(harness, { profile: "tls-client" });
  });
  afterAll(async () => {
    await running?.close();
    await harness?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  /** Writes a certificate and its key for openssl and curl; returns their paths. */
  const files = async (name: string, certificate: ClientCertificate) => {
    const cert = join(directory, `${name}.pem`);
    const key = join(directory, `${name}.key`);
    await writeFile(cert, certificate.certificatePem);
    await writeFile(key, certificate.keyPem, { mode: 0o600 });
    return { cert, key };
  };

  /** curl --cert: GET /api/v1/me/certificate as a real peer. */
  const curlCertificate = (cert: string, key: string) =>
    runPeer(
      "curl",
      [
        "-sS",
        "--cacert",
        "root.pem",
        "--cert",
        cert,
        "--key",
        key,
        `https://127.0.0.1:${port}/api/v1/me/certificate`,
      ],
      directory,
    );

  it("serves over HTTPS a development certificate from our issuing CA that openssl verifies up to our root, asking for our CAs' certificates", async () => {
    const result = await verifyServer(port, directory);
    expect(result.stdout, result.stderr).toContain("Verify return code: 0 (ok)");
    // CertificateRequest.certificate_authorities (RFC 8446 §4.2.4): our issuing CA and root.
    const acceptable = result.stdout.split("Acceptable client certificate CA names")[1] ?? "";
    expect(acceptable).toContain("CN = Provincial E-Government Certification Centre Issuing CA 1");
    expect(acceptable).toContain("CN = Provincial E-Government Certification Centre Root CA");

    const served = new X509Certificate(running.mtls!.credentials.certificateChain);
    expect(served.checkIP("127.0.0.1")).toBe("127.0.0.1");
    const { rows } = await harness.context.db.query<{ profile: string; issuer_id: string }>(
      "SELECT profile, issuer_id FROM certificates WHERE serial = $1",
      [served.serialNumber.toLowerCase()],
    );
    expect(rows).toEqual([{ profile: "tls-server", issuer_id: "issuing-1" }]);
    const audit = await harness.context.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE actor = 'system:mtls-listener'",
    );
    expect(audit.rows.map((row) => row.action)).toContain("certificate.issue");
    // Its private key is in memory only: in no file of the data directory.
    const keyBody = running.mtls!.credentials.key.split("\n").slice(1, -2).join("");
    for (const entry of await readdir(harness.directory, { recursive: true, withFileTypes: true }))
      if (entry.isFile())
        expect(await readFile(join(entry.parentPath, entry.name), "latin1")).not.toContain(
          keyBody.slice(0, 40),
        );

    expect((await httpsGet(port, "/healthz", { ca: rootPem })).body).toEqual({ status: "ok" });
  });

  it("shows a civil servant's certificate to node:https and a business system's to curl --cert", async () => {
    const answer = await httpsGet(
      port,
      "/api/v1/me/certificate?purpose=user-login",
      withCertificate(civilServant, rootPem),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      issuer: "issuing-1",
      serial: civilServant.serial,
      ownerId: subscriber.id,
      profile: "user-signing",
      "x5t#S256": thumbprint(civilServant.der),
    });
    const { cert, key } = await files("system", system);
    const curl = await curlCertificate(cert, key);
    expect(curl.code, curl.stderr).toBe(0);
    expect(JSON.parse(curl.stdout)).toMatchObject({
      serial: system.serial,
      ownerId: null,
      profile: "tls-client",
    });
    const login = await httpsGet(
      port,
      "/api/v1/me/certificate?purpose=user-login",
      withCertificate(system, rootPem),
    );
    expect([login.status, login.body.code]).toEqual([401, "certificate-unmapped"]);
  });

  it("refuses a request without a certificate, and takes none from headers on the plain listener", async () => {
    const none = await httpsGet(port, "/api/v1/me/certificate", { ca: rootPem });
    expect([none.status, none.body.code]).toEqual([401, "certificate-required"]);
    const main = running.app.server.address() as AddressInfo;
    const faked = await fetch(`http://127.0.0.1:${main.port}/api/v1/me/certificate`, {
      headers: {
        "x-client-cert": encodeURIComponent(civilServant.certificatePem),
        "x-ssl-client-cert": civilServant.certificatePem.replace(/\n/g, " "),
        "ssl-client-cert": civilServant.certificatePem.replace(/\n/g, " "),
        "x-forwarded-client-cert": `Hash=${thumbprint(civilServant.der)}`,
      },
    });
    expect(faked.status).toBe(401);
    expect(((await faked.json()) as { code: string }).code).toBe("certificate-required");
    // OpenAPI 3.1 says so: this route's security is the TLS client certificate.
    const spec = (await harness.app.inject({ url: "/openapi.json" })).json();
    expect(spec.components.securitySchemes.mutualTLS.type).toBe("mutualTLS");
    expect(spec.paths["/api/v1/me/certificate"].get.security).toEqual([{ mutualTLS: [] }]);
  });

  it("refuses at once, on the same connection, a certificate held, then revoked through the API", async () => {
    const certificate = await issueClientCertificate(harness, { profile: "tls-client" });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ...withCertificate(certificate, rootPem) });
    const get = () => httpsGet(port, "/api/v1/me/certificate", { agent });
    const change = async (operation: string, payload: Record<string, unknown> = {}) => {
      const response = await harness.app.inject({
        method: "POST",
        url: `/api/v1/certificates/${certificate.serial}/${operation}`,
        headers: bearer(harness.adminToken),
        payload,
      });
      expect(response.statusCode, response.body).toBe(200);
    };
    try {
      expect((await get()).status).toBe(200);
      await change("hold");
      const held = await get();
      expect([held.status, held.body.code, held.reusedSocket]).toEqual([401, "certificate-on-hold", true]);
      await change("release");
      expect((await get()).status).toBe(200);
      await change("revoke", { reason: "keyCompromise" });
      const revoked = await get();
      expect([revoked.status, revoked.body.code, revoked.reusedSocket]).toEqual([
        401,
        "certificate-revoked",
        true,
      ]);
      const fresh = await httpsGet(port, "/api/v1/me/certificate", withCertificate(certificate, rootPem));
      expect([fresh.status, fresh.body.code]).toEqual([401, "certificate-revoked"]);
    } finally {
      agent.destroy();
    }
  });

  it("refuses, with the failed check's code, what our CAs did not issue, what is not for client authentication, and what is not on record", async () => {
    // A CA made with openssl under our issuing CA's very name, and a clientAuth certificate from it.
    const issuingSubject = new X509Certificate(
      harness.context.issuers.get("issuing-1").row.certificate,
    ).subject
      .split("\n")
      .map((part) => `/${part}`)
      .join("");
    const steps: string[][] = [
      [
        "req",
        "-x509",
        ...NEWKEY.p256,
        "-nodes",
        "-keyout",
        "fake-ca.key",
        "-out",
        "fake-ca.pem",
        "-subj",
        issuingSubject,
        "-days",
        "30",
      ],
      [
        "req",
        "-new",
        ...NEWKEY.p256,
        "-nodes",
        "-keyout",
        "fake.key",
        "-out",
        "fake.csr",
        "-subj",
        "/CN=impostor",
      ],
      [
        "x509",
        "-req",
        "-in",
        "fake.csr",
        "-CA",
        "fake-ca.pem",
        "-CAkey",
        "fake-ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-out",
        "fake.pem",
        "-extfile",
        "fake.ext",
      ],
    ];
    await writeFile(
      join(directory, "fake.ext"),
      "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    );
    for (const args of steps) {
      const step = await runPeer("openssl", args, directory);
      expect(step.code, step.stderr).toBe(0);
    }
    const curl = await curlCertificate("fake.pem", "fake.key");
    expect(curl.code, curl.stderr).toBe(0);
    expect(JSON.parse(curl.stdout)).toMatchObject({ status: 401, code: "certificate-untrusted" });

    const server = await issueClientCertificate(harness, {
      profile: "tls-server",
      commonName: "app.gov.test",
      names: [{ type: "dns", value: "app.gov.test" }],
    });
    const wrongPurpose = await httpsGet(port, "/api/v1/me/certificate", withCertificate(server, rootPem));
    expect([wrongPurpose.status, wrongPurpose.body.code]).toEqual([401, "certificate-eku"]);

    const unrecorded = await forgeClientCertificate(harness);
    const unknown = await httpsGet(port, "/api/v1/me/certificate", withCertificate(unrecorded, rootPem));
    expect([unknown.status, unknown.body.code]).toEqual([401, "certificate-unknown"]);
  });

  it("refuses an expired certificate by the service clock", async () => {
    const expiry = Date.parse(new X509Certificate(system.der).validTo) - clock.now().getTime() + DAY;
    clock.advance(expiry);
    try {
      const expired = await httpsGet(port, "/api/v1/me/certificate", withCertificate(system, rootPem));
      expect([expired.status, expired.body.code]).toEqual([401, "certificate-expired"]);
    } finally {
      clock.advance(-expiry);
    }
  });

  it("never resumes a TLS session, even after its CA list was renewed: node:tls and openssl s_client make a full handshake", async () => {
    await harness.context.issuers.reload(); // the listener renews its secure context (CA list)
    const first = await httpsGet(port, "/api/v1/me/certificate", withCertificate(civilServant, rootPem));
    expect(first.status).toBe(200);
    expect(first.session).toBeDefined(); // the client kept a session to offer
    const second = await httpsGet(port, "/api/v1/me/certificate", {
      ...withCertificate(civilServant, rootPem),
      session: first.session,
    });
    expect([second.status, second.resumed]).toEqual([200, false]);

    const client = await files("civil-servant", civilServant);
    const connect = (flag: "-sess_out" | "-sess_in") =>
      sessionHandshake(port, client, { flag, file: "session.pem" }, directory);
    const saved = await connect("-sess_out");
    expect(saved.stdout).toMatch(/^New, TLSv1\.3/m);
    const again = await connect("-sess_in");
    expect(again.stdout).toMatch(/^New, TLSv1\.3/m);
    expect(again.stdout).not.toMatch(/^Reused,/m);
  });

  it("refuses a resumed session on a listener that resumes (tls-session-resumed), where the same peers do resume", async () => {
    // A control: the same application behind an HTTPS server with Node's defaults, which resumes.
    const credentials = running.mtls!.credentials;
    const control = createHttpsServer(
      {
        key: credentials.key,
        cert: credentials.certificateChain,
        ca: rootPem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (request, response) => running.app.routing(request, response),
    );
    await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
    const controlPort = (control.address() as AddressInfo).port;
    try {
      const first = await httpsGet(
        controlPort,
        "/api/v1/me/certificate",
        withCertificate(civilServant, rootPem),
      );
      expect(first.status).toBe(200);
      const resumed = await httpsGet(controlPort, "/api/v1/me/certificate", {
        ...withCertificate(civilServant, rootPem),
        session: first.session,
      });
      expect([resumed.resumed, resumed.status, resumed.body.code]).toEqual([
        true,
        401,
        "tls-session-resumed",
      ]);

      const client = await files("civil-servant", civilServant);
      const connect = (flag: "-sess_out" | "-sess_in") =>
        sessionHandshake(controlPort, client, { flag, file: "control-session.pem" }, directory);
      await connect("-sess_out");
      expect((await connect("-sess_in")).stdout).toMatch(/^Reused, TLSv1\.3/m);
    } finally {
      control.closeAllConnections();
      await new Promise((resolve) => control.close(resolve));
    }
  });
});

describe("mTLS configuration", () => {
  it("defaults to port 3443 on HOST with an https public URL; CA_MTLS_PORT=0 turns it off", () => {
    expect(loadConfig({ HOST: "10.0.0.5", CA_DATA_DIR: "/tmp/x" }).mtls).toEqual({
      host: "10.0.0.5",
      port: 3443,
      publicUrl: "https://10.0.0.5:3443",
      certFile: undefined,
      keyFile: undefined,
    });
    expect(loadConfig({ CA_MTLS_PORT: "0" }).mtls).toBeUndefined();
    expect(
      loadConfig({ CA_MTLS_HOST: "::1", CA_MTLS_PORT: "8443", CA_MTLS_PUBLIC_URL: "https://sso.gov.test/" })
        .mtls,
    ).toMatchObject({ host: "::1", port: 8443, publicUrl: "https://sso.gov.test" });
  });

  it.each([
    [{ CA_TLS_CERT: "/etc/tls/cert.pem" }, "CA_TLS_CERT and CA_TLS_KEY go together"],
    [{ PORT: "3443" }, "CA_MTLS_PORT must differ from PORT (both are 3443)"],
    [{ CA_MTLS_PUBLIC_URL: "http://sso.gov.test" }, "CA_MTLS_PUBLIC_URL must be an https URL"],
    [{ CA_MTLS_PORT: "70000" }, "CA_MTLS_PORT must be an integer from 0 to 65535"],
  ])("refuses %o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("serves the operator's certificate from CA_TLS_CERT and CA_TLS_KEY, and refuses a key that does not match it", async () => {
    const directory = await mkdtemp(join(tmpdir(), "ca-mtls-files-"));
    try {
      for (const name of ["operator", "other"]) {
        const made = await runPeer(
          "openssl",
          [
            "req",
            "-x509",
            ...NEWKEY.p256,
            "-nodes",
            "-keyout",
            `${name}.key`,
            "-out",
            `${name}.pem`,
            "-subj",
            `/CN=${name}.gov.test`,
            "-days",
            "2",
          ],
          directory,
        );
        expect(made.code, made.stderr).toBe(0);
      }
      const start = async (keyFile: string) => {
        const harness = await createHarness("pglite", {
          env: {
            PORT: "0",
            CA_MTLS_PORT: String(await freePort()),
            CA_TLS_CERT: join(directory, "operator.pem"),
            CA_TLS_KEY: join(directory, keyFile),
          },
        });
        return { harness, running: await startListeners(harness.context).catch((error: Error) => error) };
      };
      const good = await start("operator.key");
      try {
        if (good.running instanceof Error) throw good.running;
        const served = await openssl(
          ["s_client", "-connect", `127.0.0.1:${good.running.mtls!.address.port}`],
          directory,
        );
        expect(served.stdout).toContain("subject=CN = operator.gov.test");
        const { rows } = await good.harness.context.db.query(
          "SELECT 1 FROM audit_log WHERE actor = 'system:mtls-listener'",
        );
        expect(rows).toHaveLength(0); // no development certificate was issued
      } finally {
        if (!(good.running instanceof Error)) await good.running.close();
        await good.harness.close();
      }
      const mismatched = await start("other.key");
      try {
        expect(mismatched.running).toBeInstanceOf(ConfigError);
        expect((mismatched.running as Error).message).toContain(
          "the mTLS listener's certificate and key cannot be used",
        );
      } finally {
        await mismatched.harness.close();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("ca serve with the mTLS listener", () => {
  let directory: string;
  let child: ChildProcess;
  let output = "";

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it("starts both listeners, issues its development certificate, and stops both on SIGTERM", async () => {
    directory = await mkdtemp(join(tmpdir(), "ca-mtls-serve-"));
    const [port, mtlsPort] = [await freePort(), await freePort()];
    child = spawn(process.execPath, [BIN, "serve"], {
      env: {
        ...process.env,
        DATABASE_URL: "",
        CA_DATA_DIR: join(directory, "data"),
        HOST: "127.0.0.1",
        PORT: String(port),
        CA_MTLS_PORT: String(mtlsPort),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 90_000;
    while (!output.includes("mTLS server certificate:")) {
      if (child.exitCode !== null) throw new Error(`ca serve exited with ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`ca serve did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toContain(`mTLS listener on https://127.0.0.1:${mtlsPort}`);
    expect(output).toMatch(
      /development certificate [0-9a-f]{32} for 127\.0\.0\.1, issued by "issuing-1"; its key is in memory only/,
    );

    const root = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/ca/root-1.crt`)).arrayBuffer());
    await writeFile(join(directory, "root.pem"), encodePem("CERTIFICATE", root));
    const verified = await verifyServer(mtlsPort, directory);
    expect(verified.stdout, verified.stderr).toContain("Verify return code: 0 (ok)");
    const anonymous = await httpsGet(mtlsPort, "/api/v1/me/certificate", {
      ca: encodePem("CERTIFICATE", root),
    });
    expect([anonymous.status, anonymous.body.code]).toEqual([401, "certificate-required"]);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    await expect(httpsGet(mtlsPort, "/healthz", { ca: encodePem("CERTIFICATE", root) })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  }, 120_000);
});
