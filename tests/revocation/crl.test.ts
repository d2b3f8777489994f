/**
 * CRLs (RFC 5280 §5) judged by real peers: OpenSSL parses full and delta CRLs and
 * `openssl verify -crl_check` rejects a revoked certificate and accepts a released one;
 * GnuTLS parses them; HTTP serving follows nextUpdate; CRL numbers only increase.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../db/database.js";
import { encodePem } from "../../src/pki/pem.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness, issueTlsServer } from "../helpers/harness.js";

const run = promisify(execFile);

/** Runs a peer and returns its exit code and output (a refusal is a result, not an exception). */
async function peer(command: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(command, args, { maxBuffer: 256 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number | string; stdout?: string; stderr?: string };
    if (failed.code === "ENOENT") throw new Error(`${command} is not installed`);
    return { code: Number(failed.code), out: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

describe.each(ENGINES)("CRLs on %s", (engine) => {
  let harness: Harness;
  let directory: string;
  const file = (name: string) => join(directory, name);

  beforeAll(async () => {
    harness = await createHarness(engine);
    directory = await mkdtemp(join(tmpdir(), "crl-test-"));
    const issuers = harness.context.issuers;
    await writeFile(file("root.pem"), encodePem("CERTIFICATE", issuers.get("root-1").row.certificate));
    await writeFile(file("issuing.pem"), encodePem("CERTIFICATE", issuers.get("issuing-1").row.certificate));
  });
  afterAll(async () => {
    await harness?.close();
    await rm(directory, { recursive: true, force: true });
  });

  const issue = async (name: string): Promise<string> => {
    const { serial, certificate } = await issueTlsServer(harness, name);
    await writeFile(file(`${name}.pem`), certificate);
    return serial;
  };
  const act = (serial: string, operation: string, payload: object = {}) =>
    harness.app.inject({
      method: "POST",
      url: `/api/v1/certificates/${serial}/${operation}`,
      headers: bearer(harness.adminToken),
      payload,
    });
  const fetchCrl = async (name: string) => {
    const response = await harness.app.inject({ url: `/crl/${name}` });
    expect(response.statusCode, response.body).toBe(200);
    return response;
  };
  const saveCrl = async (name: string, as: string) => writeFile(file(as), (await fetchCrl(name)).body);
  const verify = (leaf: string, crls: string[], deltas = false) =>
    peer("openssl", [
      "verify",
      "-crl_check",
      ...(deltas ? ["-use_deltas"] : []),
      "-CAfile",
      file("root.pem"),
      "-untrusted",
      file("issuing.pem"),
      ...crls.flatMap((crl) => ["-CRLfile", file(crl)]),
      file(`${leaf}.pem`),
    ]);

  it("has a complete and a delta CRL for every issuer from the start, as OpenSSL reads them", async () => {
    for (const issuer of ["root-1", "issuing-1"]) {
      await saveCrl(`${issuer}.pem`, `${issuer}-start.pem`);
      const text = (await peer("openssl", ["crl", "-in", file(`${issuer}-start.pem`), "-noout", "-text"]))
        .out;
      expect(text).toContain("Version 2 (0x1)");
      expect(text).toContain("X509v3 CRL Number");
      expect(text).toContain("X509v3 Authority Key Identifier");
      expect(text).toContain(`URI:http://ca.test/crl/${issuer}-delta.crl`); // freshestCRL
      expect(text).toContain("No Revoked Certificates.");
      await saveCrl(`${issuer}-delta.pem`, `${issuer}-delta-start.pem`);
      const delta = (
        await peer("openssl", ["crl", "-in", file(`${issuer}-delta-start.pem`), "-noout", "-text"])
      ).out;
      expect(delta).toMatch(/X509v3 Delta CRL Indicator: critical\s+\d+/);
    }
  });

  it("lists a revoked certificate with its reason and invalidity date; openssl verify -crl_check rejects it", async () => {
    const serial = await issue("revoked");
    expect((await verify("revoked", ["issuing-1-start.pem", "root-1-start.pem"])).code).toBe(0);
    await act(serial, "revoke", { reason: "keyCompromise", invalidityDate: "2026-01-02T03:04:05Z" });
    const full = await harness.context.crls.generate("issuing-1", "full");
    expect(full?.entries).toBe(1);
    await saveCrl("issuing-1.pem", "issuing-revoked.pem");
    const text = (await peer("openssl", ["crl", "-in", file("issuing-revoked.pem"), "-noout", "-text"])).out;
    expect(text).toContain(`Serial Number: ${serial.toUpperCase()}`);
    expect(text).toContain("Key Compromise");
    expect(text).toContain("Invalidity Date");
    expect(text).toContain("Jan  2 03:04:05 2026 GMT");
    const result = await verify("revoked", ["issuing-revoked.pem", "root-1-start.pem"]);
    expect(result.code).not.toBe(0);
    expect(result.out).toContain("certificate revoked");
  });

  it("carries a released hold as removeFromCRL in the delta; with deltas OpenSSL accepts the certificate again", async () => {
    const serial = await issue("held");
    await act(serial, "hold");
    await harness.context.crls.generate("issuing-1", "full");
    await saveCrl("issuing-1.pem", "issuing-held.pem");
    const held = await verify("held", ["issuing-held.pem", "root-1-start.pem"]);
    expect(held.out).toContain("certificate revoked");
    expect(
      (await peer("openssl", ["crl", "-in", file("issuing-held.pem"), "-noout", "-text"])).out,
    ).toContain("Certificate Hold");

    await act(serial, "release");
    const delta = await harness.context.crls.generate("issuing-1", "delta");
    expect(delta?.baseNumber).toBeGreaterThan(0);
    await saveCrl("issuing-1-delta.pem", "issuing-released-delta.pem");
    const deltaText = (
      await peer("openssl", ["crl", "-in", file("issuing-released-delta.pem"), "-noout", "-text"])
    ).out;
    expect(deltaText).toContain(`Serial Number: ${serial.toUpperCase()}`);
    expect(deltaText).toContain("Remove From CRL");
    const accepted = await verify(
      "held",
      ["issuing-held.pem", "issuing-released-delta.pem", "root-1-start.pem"],
      true,
    );
    expect(accepted.code, accepted.out).toBe(0);
    // The next complete CRL no longer lists it at all.
    await harness.context.crls.generate("issuing-1", "full");
    await saveCrl("issuing-1.pem", "issuing-after-release.pem");
    expect((await verify("held", ["issuing-after-release.pem", "root-1-start.pem"])).code).toBe(0);
  });

  it("is parsed by GnuTLS certtool", async () => {
    const { code, out } = await peer("certtool", ["--crl-info", "--infile", file("issuing-revoked.pem")]);
    expect(code, out).toBe(0);
    expect(out).toMatch(/Revoked certificates \(1\)/);
  });

  it("publishes a delta soon after a status change, and numbers CRLs monotonically", async () => {
    const before = await harness.context.crls.current("issuing-1", "delta");
    const serial = await issue("late");
    await act(serial, "revoke", { reason: "superseded" });
    const published = await harness.context.crls.publishDue();
    const delta = published.find((crl) => crl.issuerId === "issuing-1" && crl.kind === "delta");
    expect(delta?.number).toBeGreaterThan(before!.number);
    expect(delta?.entries).toBeGreaterThanOrEqual(1);
    expect(await harness.context.crls.publishDue()).toEqual([]); // nothing changed since: nothing due
  });

  it("serves DER and PEM with caching headers that follow nextUpdate, and 304 for a current copy", async () => {
    const crl = (await harness.context.crls.current("issuing-1", "full"))!;
    const der = await fetchCrl("issuing-1.crl");
    expect(der.headers["content-type"]).toBe("application/pkix-crl");
    expect(der.rawPayload.equals(crl.der)).toBe(true);
    expect(der.headers.etag).toBe(`"issuing-1-${crl.number}"`);
    expect(der.headers.expires).toBe(crl.nextUpdate.toUTCString());
    expect(der.headers["last-modified"]).toBe(crl.thisUpdate.toUTCString());
    const maxAge = Number(/max-age=(\d+)/.exec(String(der.headers["cache-control"]))![1]);
    expect(Math.abs(maxAge - (crl.nextUpdate.getTime() - Date.now()) / 1000)).toBeLessThan(5);
    const pem = await fetchCrl("issuing-1.pem");
    expect(pem.body).toMatch(/^-----BEGIN X509 CRL-----\n/);
    const cached = await harness.app.inject({
      url: "/crl/issuing-1.crl",
      headers: { "if-none-match": der.headers.etag as string },
    });
    expect(cached.statusCode).toBe(304);
    expect((await harness.app.inject({ url: "/crl/nobody.crl" })).statusCode).toBe(404);
    expect((await harness.app.inject({ url: "/crl/../../etc/passwd" })).statusCode).toBe(404);
  });

  it("encodes a CRL of 10,000 entries that OpenSSL reads entry by entry", async () => {
    await harness.context.db.query(
      `INSERT INTO certificates (issuer_id, serial, profile, subject, spki_sha256, not_before, not_after, der, issued_at,
                                 status, revoked_at, status_changed_at, revocation_reason)
       SELECT 'issuing-1', md5('bulk' || i), 'tls-server', 'CN=bulk', '\\x00', now(), now() + interval '1 day', '\\x30', now(),
              'revoked', now(), now(), (i % 5)::smallint
       FROM generate_series(1, 10000) AS i`,
    );
    const crl = (await harness.context.crls.generate("issuing-1", "full"))!;
    expect(crl.entries).toBeGreaterThanOrEqual(10_000);
    await writeFile(file("big.der"), crl.der);
    const text = (await peer("openssl", ["crl", "-inform", "DER", "-in", file("big.der"), "-noout", "-text"]))
      .out;
    expect(text.match(/Serial Number:/g)?.length).toBe(crl.entries);
    const verified = await peer("openssl", [
      "crl",
      "-inform",
      "DER",
      "-in",
      file("big.der"),
      "-noout",
      "-CAfile",
      file("issuing.pem"),
    ]);
    expect(verified.out).toContain("verify OK");
  });
});

describe("CRL generation from two nodes on one PostgreSQL database", () => {
  it("lets one node generate at a time and never reuses a CRL number", async () => {
    const harness = await createHarness("postgres");
    const second = await openDatabase({ url: harness.database.url!, poolSize: 4 });
    try {
      const { openContext } = await import("../../src/context.js");
      const other = await openContext(harness.context.config, {
        db: second,
        keyStore: harness.context.keyStore,
      });
      const attempts = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? other : harness.context).crls.generate("issuing-1", "full"),
        ),
      );
      const numbers = attempts.filter((crl) => crl !== undefined).map((crl) => crl.number);
      expect(numbers.length).toBeGreaterThanOrEqual(1);
      expect(new Set(numbers).size).toBe(numbers.length);
      const { rows } = await harness.context.db.query<{ number: number }>(
        "SELECT number FROM crls WHERE issuer_id = 'issuing-1' ORDER BY number",
      );
      const all = rows.map((row) => row.number);
      expect(all).toEqual([...all].sort((a, b) => a - b));
    } finally {
      await second.close();
      await harness.close();
    }
  });
});
