/**
 * The OCSP responder (RFC 6960, RFC 5019) judged by real clients against a real listening
 * server: `openssl ocsp` (POST; OpenSSL 3.0's client has no GET) asks and verifies the
 * response, its signature and its delegated signer (id-kp-OCSPSigning, issued by the CA);
 * GnuTLS `ocsptool --ask` asks and `ocsptool -e` verifies responses fetched with GET
 * (RFC 5019 §5, base64 in the path, percent-encoded or not). Good, revoked with reason,
 * on hold, released, unknown, unauthorized, nonce (RFC 8954), SHA-1 and SHA-256 CertIDs.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePem } from "../../src/pki/pem.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness, issueTlsServer } from "../helpers/harness.js";
import { generalizedTimes, parseOcspResponse } from "../helpers/ocsp.js";
import { opensslVerify, type PeerRun, pythonInspect, runPeer } from "../helpers/peers.js";

describe.each(ENGINES)(
  "OCSP responder with openssl and GnuTLS clients on %s (RFC 6960, RFC 5019)",
  (engine) => {
    let harness: Harness;
    let directory: string;
    let base: string;
    const file = (name: string) => join(directory, name);

    beforeAll(async () => {
      // The certificates' AIA must name this very server, so its port is chosen first.
      const port = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, "127.0.0.1", () => {
          const { port } = probe.address() as AddressInfo;
          probe.close(() => resolve(port));
        });
      });
      harness = await createHarness(engine, { env: { CA_PUBLIC_URL: `http://127.0.0.1:${port}` } });
      base = await harness.app.listen({ host: "127.0.0.1", port });
      directory = await mkdtemp(join(tmpdir(), "ocsp-test-"));
      const issuers = harness.context.issuers;
      await writeFile(file("root.pem"), encodePem("CERTIFICATE", issuers.get("root-1").row.certificate));
      await writeFile(
        file("issuing.pem"),
        encodePem("CERTIFICATE", issuers.get("issuing-1").row.certificate),
      );
    });
    afterAll(async () => {
      await harness?.close();
      if (directory) await rm(directory, { recursive: true, force: true });
    });

    const issue = async (name: string): Promise<string> => {
      const { serial, certificate } = await issueTlsServer(harness, name);
      await writeFile(file(`${name}.pem`), certificate);
      return serial;
    };
    const act = async (serial: string, operation: string, payload: object = {}) => {
      const response = await harness.app.inject({
        method: "POST",
        url: `/api/v1/certificates/${serial}/${operation}`,
        headers: bearer(harness.adminToken),
        payload,
      });
      expect(response.statusCode, response.body).toBe(200);
    };

    /** `openssl ocsp` as a client: POSTs to the URL, verifies against root.pem (issuing.pem untrusted). */
    const openssl = (options: {
      cert?: string;
      serial?: string;
      issuer?: string;
      path?: string;
      nonce?: boolean;
      sha256?: boolean;
      extra?: string[];
    }): Promise<PeerRun> =>
      runPeer(
        "openssl",
        [
          "ocsp",
          "-issuer",
          options.issuer ?? "issuing.pem",
          ...(options.sha256 ? ["-sha256"] : []), // the CertID digest; it must come before -cert
          ...(options.cert ? ["-cert", options.cert] : ["-serial", options.serial!]),
          "-url",
          `${base}${options.path ?? "/ocsp/issuing-1"}`,
          "-CAfile",
          "root.pem",
          "-verify_other",
          "issuing.pem",
          options.nonce === false ? "-no_nonce" : "-nonce",
          ...(options.extra ?? []),
        ],
        directory,
      );

    const expectVerified = (run: PeerRun) => {
      expect(run.stderr, run.command).toContain("Response verify OK");
      expect(`${run.stdout}${run.stderr}`, run.command).not.toMatch(/WARNING|error/i);
    };

    it("answers at the URL in the certificate's AIA, which GnuTLS ocsptool --ask follows by itself", async () => {
      const serial = await issue("aia");

      const uri = await runPeer("openssl", ["x509", "-noout", "-ocsp_uri", "-in", "aia.pem"], directory);

      expect(uri.stdout.trim()).toBe(`${base}/ocsp/issuing-1`);

      const run = await runPeer(
        "ocsptool",

        ["--ask", "--load-cert", "aia.pem", "--load-issuer", "issuing.pem", "--load-trust", "issuing.pem"],

        directory,
      );

      expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);

      expect(run.stderr).toContain("Connecting to OCSP server: 127.0.0.1");

      expect(run.stdout).toContain("Verifying OCSP Response: Success.");

      expect(run.stdout).toContain(`Serial Number: ${serial}`);

      expect(run.stdout).toContain("Certificate Status: good");
    });

    it("answers good for a new certificate, pre-signed, verified through the delegated signer", async () => {
      await issue("good");
      const run = await openssl({ cert: "good.pem", nonce: false, extra: ["-resp_text"] });
      expect(run.code, run.stderr).toBe(0);
      expectVerified(run);
      expect(run.stdout).toMatch(/^good\.pem: good$/m);
      expect(run.stdout).toMatch(/Hash Algorithm: sha1/);
      expect(run.stdout).toContain("OCSP Signing");
      expect(run.stdout).toContain("OCSP No Check");
      expect(run.stdout).not.toContain("Response Extensions"); // no nonce: the pre-signed one
    });

    it("echoes the nonce (RFC 8954) in a live response, which openssl checks", async () => {
      await issue("nonce");
      const run = await openssl({ cert: "nonce.pem", extra: ["-req_text", "-resp_text"] });
      expect(run.code, run.stderr).toBe(0);
      expectVerified(run);
      const nonces = [...run.stdout.matchAll(/OCSP Nonce: ?\n\s+(0410[0-9A-F]{32})/g)].map(
        (match) => match[1],
      );
      expect(nonces).toHaveLength(2); // request and response
      expect(nonces[0]).toBe(nonces[1]);
      expect(run.stdout).toMatch(/^nonce\.pem: good$/m);
    });

    it("answers SHA-256 CertIDs (openssl -sha256)", async () => {
      await issue("sha256");
      for (const nonce of [false, true]) {
        const run = await openssl({ cert: "sha256.pem", sha256: true, nonce, extra: ["-resp_text"] });
        expect(run.code, run.stderr).toBe(0);
        expectVerified(run);
        expect(run.stdout).toMatch(/Hash Algorithm: sha256/);
        expect(run.stdout).toMatch(/^sha256\.pem: good$/m);
      }
    });

    it("answers revoked with time and reason as soon as the revocation returns", async () => {
      const serial = await issue("revoked");
      expect((await openssl({ cert: "revoked.pem", nonce: false })).stdout).toMatch(/^revoked\.pem: good$/m);
      await act(serial, "revoke", { reason: "keyCompromise" });
      const { rows } = await harness.context.db.query<{ revoked_at: Date }>(
        "SELECT revoked_at FROM certificates WHERE serial = $1",
        [serial],
      );
      const revokedAt = rows[0]!.revoked_at;
      const opensslTime = `${revokedAt.toUTCString().slice(8, 11)} ${String(revokedAt.getUTCDate()).padStart(2, " ")} ${revokedAt.toISOString().slice(11, 19)} ${revokedAt.getUTCFullYear()} GMT`;
      for (const nonce of [false, true]) {
        const run = await openssl({ cert: "revoked.pem", nonce });
        expect(run.code, run.stderr).toBe(0);
        expectVerified(run);
        expect(run.stdout).toMatch(/^revoked\.pem: revoked$/m);
        expect(run.stdout).toContain("\tReason: keyCompromise");
        expect(run.stdout).toContain(`\tRevocation Time: ${opensslTime}`);
      }
      const sha256 = await openssl({ cert: "revoked.pem", nonce: false, sha256: true });
      expect(sha256.stdout).toMatch(/^revoked\.pem: revoked$/m);
    });

    it("answers certificateHold while on hold and good again once released", async () => {
      const serial = await issue("held");
      await act(serial, "hold");
      for (const nonce of [false, true]) {
        const run = await openssl({ cert: "held.pem", nonce });
        expectVerified(run);
        expect(run.stdout).toMatch(/^held\.pem: revoked$/m);
        expect(run.stdout).toContain("\tReason: certificateHold");
      }
      await act(serial, "release");
      for (const nonce of [false, true]) {
        const run = await openssl({ cert: "held.pem", nonce });
        expectVerified(run);
        expect(run.stdout).toMatch(/^held\.pem: good$/m);
      }
    });

    it("answers unknown for a serial this issuer never issued", async () => {
      for (const nonce of [false, true]) {
        const run = await openssl({ serial: "0x0123456789abcdef", nonce });
        expect(run.code, run.stderr).toBe(0);
        expectVerified(run);
        expect(run.stdout).toMatch(/^0x0123456789abcdef: unknown$/m);
      }
    });

    it("answers for the issuing CA at the root's URL, and unauthorized for another issuer's serial or an unknown issuer", async () => {
      const root = await openssl({
        issuer: "root.pem",
        cert: "issuing.pem",
        path: "/ocsp/root-1",
        nonce: false,
      });
      expect(root.code, root.stderr).toBe(0);
      expectVerified(root);
      expect(root.stdout).toMatch(/^issuing\.pem: good$/m);
      for (const path of ["/ocsp/issuing-1", "/ocsp/nobody", "/ocsp/Not_An_Id"]) {
        const run = await openssl({ issuer: "root.pem", cert: "issuing.pem", path });
        expect(`${run.stdout}${run.stderr}`, path).toContain("Responder Error: unauthorized (6)");
      }
    });

    it("serves GET with the base64 request in the path, percent-encoded or not, with RFC 5019 caching headers", async () => {
      // Find a request whose base64 has '/' or '+', so that both URL forms differ.
      let request = "";
      for (let attempt = 0; attempt < 20 && !/[/+]/.test(request); attempt++) {
        await issue("get");
        await runPeer(
          "openssl",
          ["ocsp", "-issuer", "issuing.pem", "-cert", "get.pem", "-no_nonce", "-reqout", "get.req"],
          directory,
        );
        request = (await readFile(file("get.req"))).toString("base64");
      }
      expect(request).toMatch(/[/+]/);
      const answers: Buffer[] = [];
      for (const path of [encodeURIComponent(request), request]) {
        const response = await fetch(`${base}/ocsp/issuing-1/${path}`);
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toBe("application/ocsp-response");
        expect(response.headers.get("cache-control")).toMatch(
          /^max-age=\d+, public, no-transform, must-revalidate$/,
        );
        expect(response.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]+"$/);
        expect(response.headers.get("last-modified")).toMatch(/ GMT$/);
        expect(response.headers.get("expires")).toMatch(/ GMT$/);
        answers.push(Buffer.from(await response.arrayBuffer()));
      }
      expect(answers[0]!.equals(answers[1]!)).toBe(true); // the same pre-signed bytes
      await writeFile(file("get.resp"), answers[0]!);
      const checked = await runPeer(
        "openssl",
        [
          "ocsp",
          "-respin",
          "get.resp",
          "-issuer",
          "issuing.pem",
          "-cert",
          "get.pem",
          "-CAfile",
          "root.pem",
          "-verify_other",
          "issuing.pem",
          "-no_nonce",
        ],
        directory,
      );
      expectVerified(checked);
      expect(checked.stdout).toMatch(/^get\.pem: good$/m);
      const gnutls = await runPeer(
        "ocsptool",
        ["-e", "--load-trust", "issuing.pem", "--infile", "get.resp"],
        directory,
      );
      expect(gnutls.code, `${gnutls.stdout}${gnutls.stderr}`).toBe(0);
      expect(gnutls.stdout).toContain("Verifying OCSP Response: Success.");
      expect(gnutls.stdout).toContain("Certificate Status: good");
    });

    it("is asked and verified by GnuTLS ocsptool --ask, with and without nonce", async () => {
      const serial = await issue("gnutls");
      const ask = (...options: string[]) =>
        runPeer(
          "ocsptool",
          [
            `--ask=${base}/ocsp/issuing-1`,
            "--load-cert",
            "gnutls.pem",
            "--load-issuer",
            "issuing.pem",
            "--load-trust",
            "issuing.pem",
            ...options,
          ],
          directory,
        );
      for (const nonce of [[], ["--nonce"]]) {
        const run = await ask(...nonce);
        expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
        expect(run.stdout).toContain("Verifying OCSP Response: Success.");
        expect(run.stdout).toContain("Certificate Status: good");
        expect(run.stdout).toContain(`Serial Number: ${serial}`);
        if (nonce.length) expect(run.stdout).toMatch(/Nonce: [0-9a-f]+/);
      }
      await act(serial, "revoke", { reason: "superseded" });
      const revoked = await ask();
      expect(revoked.stdout).toContain("Verifying OCSP Response: Success.");
      expect(revoked.stdout).toContain("Certificate Status: revoked");
    });

    it("signs with a delegated responder certificate that openssl and pyca/cryptography accept (RFC 6960 §4.2.2.2)", async () => {
      const serial = await issue("signer");
      await runPeer(
        "openssl",
        ["ocsp", "-issuer", "issuing.pem", "-cert", "signer.pem", "-no_nonce", "-reqout", "signer.req"],
        directory,
      );
      const response = await fetch(`${base}/ocsp/issuing-1`, {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body: await readFile(file("signer.req")),
      });
      expect(response.headers.get("content-type")).toBe("application/ocsp-response");
      const der = Buffer.from(await response.arrayBuffer());
      const parsed = parseOcspResponse(der);
      expect(parsed.status).toBe(0);
      expect(parsed.basic!.responses).toEqual([
        expect.objectContaining({ serialHex: serial, status: "good" }),
      ]);
      const [signer] = parsed.basic!.certificates;
      const signerPem = encodePem("CERTIFICATE", signer!);
      const inspected = await pythonInspect(signerPem);
      expect(inspected.extendedKeyUsage?.oids).toEqual(["1.3.6.1.5.5.7.3.9"]);
      expect(inspected.ocspNoCheck).toEqual({ critical: false });
      expect(inspected.keyUsage).toEqual({ critical: true, usages: ["digitalSignature"] });
      expect(inspected.basicConstraints).toMatchObject({ ca: false });
      expect(inspected.authorityInfoAccess?.ocsp).toEqual([]); // nocheck: nothing to ask about it
      // ResponderID byKey: SHA-1 of the signer's subjectPublicKey, i.e. its subject key identifier (method 1).
      expect(parsed.basic!.responderKeyHash.toString("hex")).toBe(
        inspected.subjectKeyIdentifier?.keyIdentifier,
      );
      const verified = await opensslVerify(
        await readFile(file("root.pem"), "utf8"),
        [await readFile(file("issuing.pem"), "utf8")],
        signerPem,
        { purpose: "ocsphelper" },
      );
      expect(verified.ok, verified.output).toBe(true);
      // GeneralizedTime without fractional seconds everywhere (RFC 5280 §4.1.2.5.2, RFC 6960 §4.2.2.1).
      const times = generalizedTimes(der);
      expect(times.length).toBeGreaterThanOrEqual(3); // producedAt, thisUpdate, nextUpdate
      for (const time of times) expect(time).toMatch(/^\d{14}Z$/);
    });
  },
);
