/** The `ca` command as an operator runs it: real processes on an embedded data directory. */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/database.js";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "../../bin/ca.mjs");

describe("ca command", () => {
  let directory: string;
  const env = () => ({
    ...process.env,
    CA_DATA_DIR: join(directory, "data"),
    DATABASE_URL: "",
    LOG_LEVEL: "silent",
  });
  const ca = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: env(), cwd: directory });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "ca-cli-"));
  });
  afterAll(async () => rm(directory, { recursive: true, force: true }));

  it("explains itself: ca --help, each subcommand's --help, and unknown commands", async () => {
    const help = await ca("--help");
    expect(help.code).toBe(0);
    for (const command of [
      "init",
      "serve",
      "issue",
      "cert show",
      "cert list",
      "revoke",
      "hold",
      "release",
      "crl generate",
      "ocsp refresh",
      "apikey create",
      "audit verify",
      "client create",
      "sso rotate-key",
    ])
      expect(help.stdout).toContain(command);
    const issueHelp = await ca("issue", "--help");
    expect(issueHelp.stdout).toContain("--csr FILE");
    expect(issueHelp.stdout).toContain("--profile NAME");
    const unknown = await ca("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const badOption = await ca("cert", "list", "--colour");
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("--colour");
  });

  it("initializes once: CA hierarchy and a 0600 bootstrap key, then nothing new", async () => {
    const first = await ca("init");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('created root CA "root-1"');
    expect(first.stdout).toContain('created issuing CA "issuing-1"');
    const keyFile = join(directory, "data", "bootstrap-admin.key");
    expect(first.stdout).toContain(keyFile);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(keyFile, "utf8")).toMatch(/^gca_[a-z2-7]{16}_[A-Za-z0-9_-]{43}\n$/);
    const second = await ca("init");
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain("created");
  });

  it("creates org units and API keys, issues from a CSR file, lists and shows certificates", async () => {
    expect((await ca("org", "create", "gov/gz", "--name", "广州市", "--level", "city")).code).toBe(0);
    const apikey = await ca("apikey", "create", "--role", "ra-operator", "--org", "gov/gz");
    expect(apikey.code, apikey.stderr).toBe(0);
    expect(apikey.stdout.trim()).toMatch(/^gca_/);
    const missingOrg = await ca("apikey", "create", "--role", "ra-operator");
    expect(missingOrg.code).toBe(1);
    expect(missingOrg.stderr).toContain("org-unit-required");

    await run("openssl", [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      join(directory, "key.pem"),
      "-subj",
      "/CN=ignored",
      "-out",
      join(directory, "req.pem"),
      "-addext",
      "subjectAltName=DNS:portal.gz.gov.test",
    ]);
    const issued = await ca(
      "issue",
      "--csr",
      "req.pem",
      "--profile",
      "tls-server",
      "--org-unit",
      "gov/gz",
      "--out",
      "chain.pem",
    );
    expect(issued.code, issued.stderr).toBe(0);
    const chain = await readFile(join(directory, "chain.pem"), "utf8");
    expect(chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const subject = (
      await run("openssl", [
        "x509",
        "-in",
        join(directory, "chain.pem"),
        "-noout",
        "-subject",
        "-nameopt",
        "utf8,sep_comma_plus",
      ])
    ).stdout;
    expect(subject).toContain("CN=portal.gz.gov.test");
    expect(subject).toContain("OU=广州市"); // the org unit's name, from the directory, in UTF-8

    const list = await ca("cert", "list");
    expect(list.stdout).toContain("1 certificate(s)");
    const serial = list.stdout.split(/\s+/)[0]!;
    const show = await ca("cert", "show", serial);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('"profile": "tls-server"');
    expect((await ca("cert", "show", "abcdef")).code).toBe(1);

    const held = await ca("hold", serial);
    expect(held.stdout).toContain("is now on-hold");
    expect((await ca("release", serial)).stdout).toContain("is now good");
    const badReason = await ca("revoke", serial, "--reason", "bored");
    expect(badReason.code).toBe(2);
    expect(badReason.stderr).toContain("--reason must be one of unspecified, keyCompromise");
    const revoked = await ca("revoke", serial, "--reason", "superseded");
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`revoked issuing-1/${serial} (superseded)`);
    const twice = await ca("revoke", serial, "--reason", "superseded");
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("certificate-revoked");
    expect((await ca("cert", "list", "--status", "revoked")).stdout).toContain(serial);

    const refused = await ca(
      "issue",
      "--csr",
      "req.pem",
      "--profile",
      "tls-server",
      "--org-unit",
      "gov/nowhere",
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("org-unit-unknown");
  }, 180_000); // about twenty processes; slow when other suites share the two cores

  it("signs the OCSP responses that are missing (after a bulk import, say) with ca ocsp refresh", async () => {
    const db = await openDatabase({ directory: join(directory, "data", "db") });
    let before: number;
    try {
      before = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM ocsp_responses")).rows[0]!.n;
      await db.query("DELETE FROM ocsp_responses");
    } finally {
      await db.close();
    }
    expect(before).toBeGreaterThanOrEqual(2); // SHA-1 and SHA-256 CertIDs of the certificate issued above
    const refreshed = await ca("ocsp", "refresh");
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(refreshed.stdout).toContain(`responses of ${before / 2} certificate(s) signed`);
    const again = await openDatabase({ directory: join(directory, "data", "db") });
    try {
      const after = (await again.query<{ n: number }>("SELECT count(*)::int AS n FROM ocsp_responses"))
        .rows[0]!.n;
      expect(after).toBe(before);
    } finally {
      await again.close();
    }
    expect((await ca("ocsp", "refresh")).stdout).toContain("responses of 0 certificate(s) signed");
  });

  it("registers, lists and disables OIDC clients, and rotates the token signing key", async () => {
    const created = await ca(
      "client",
      "create",
      "--id",
      "hr-portal",
      "--name",
      "HR portal",
      "--grant",
      "authorization_code",
      "--grant",
      "refresh_token",
      "--redirect-uri",
      "https://hr.gov.test/cb",
      "--first-party",
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain("shown once");
    const view = JSON.parse(created.stdout);
    expect(view).toMatchObject({
      clientId: "hr-portal",
      firstParty: true,
      tokenEndpointAuthMethod: "client_secret_basic",
    });
    expect(view.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const refused = await ca(
      "client",
      "create",
      "--name",
      "x",
      "--grant",
      "authorization_code",
      "--redirect-uri",
      "http://evil.test/cb",
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("http is allowed only for loopback");
    expect((await ca("client", "list")).stdout).toMatch(
      /hr-portal\s+client_secret_basic\s+authorization_code,refresh_token\s+HR portal/,
    );
    expect((await ca("client", "disable", "hr-portal")).code).toBe(0);
    expect((await ca("client", "list")).stdout).toContain("(disabled)");
    const rotated = await ca("sso", "rotate-key");
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/new ES256 key \S+: in the JWKS now, signs from /);
  });

  it("verifies the audit chain, and exits 3 with the record number when it is tampered with", async () => {
    const intact = await ca("audit", "verify");
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/audit chain intact: \d+ records/);
    const db = await openDatabase({ directory: join(directory, "data", "db") });
    try {
      const locked = await ca("audit", "verify");
      expect(locked.code).toBe(1);
      expect(locked.stderr).toContain(`in use by process ${process.pid}`);
      await db.query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3");
    } finally {
      await db.close();
    }
    const broken = await ca("audit", "verify");
    expect(broken.code).toBe(3);
    expect(broken.stderr).toContain("BROKEN at record 3");
  });
});
