/**
 * Server-side key generation (RFC 7292 PKCS#12 delivery), on both databases: issued at once,
 * the PKCS#12 comes back in the answer and nothing of the key is kept; waiting for approval,
 * only the key sealed under the passphrase is stored, downloaded once (410 afterwards), and
 * never in clear in any table; a wrong passphrase changes nothing; the passphrase never
 * reaches the log. The files are opened with OpenSSL and python3-cryptography.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliActor } from "../../src/auth/principal.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";
import { PYTHON, runPeer } from "../helpers/peers.js";

const PASSPHRASE = "Spring-Festival 2026 passphrase";

/** What OpenSSL and Python find in a PKCS#12: algorithms, the key (PKCS#8 DER), the certificates. */
async function openPkcs12(directory: string, pkcs12: Buffer, passphrase: string) {
  const file = join(directory, `p${Math.random().toString(36).slice(2)}.p12`);
  await writeFile(file, pkcs12);
  const info = await runPeer(
    "openssl",
    ["pkcs12", "-info", "-in", file, "-passin", `pass:${passphrase}`, "-nodes"],
    directory,
  );
  expect(info.code, info.stderr).toBe(0);
  const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(info.stdout)?.[0];
  const certificates =
    info.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const python = await runPeer(
    PYTHON,
    [
      "-c",
      `import json, sys
from cryptography.hazmat.primitives.serialization import pkcs12, Encoding, PublicFormat
p = pkcs12.load_pkcs12(open(sys.argv[1], "rb").read(), sys.argv[2].encode())
spki = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo).hex()
print(json.dumps({
  "keyMatches": spki(p.key.public_key()) == spki(p.cert.certificate.public_key()),
  "friendlyName": p.cert.friendly_name.decode() if p.cert.friendly_name else None,
  "subject": p.cert.certificate.subject.rfc4514_string(),
  "additional": len(p.additional_certs),
}))`,
      file,
      passphrase,
    ],
    directory,
  );
  expect(python.code, python.stderr).toBe(0);
  return {
    // `-info` names the algorithms on stderr; stdout holds the PEM, whose base64 may spell anything.
    info: info.stderr,
    key: createPrivateKey(keyPem!),
    certificates: certificates.map((pem) => new X509Certificate(pem)),
    python: JSON.parse(python.stdout) as {
      keyMatches: boolean;
      friendlyName: string;
      subject: string;
      additional: number;
    },
  };
}

describe.each(ENGINES)("server-side key generation (%s)", (engine) => {
  let harness: Harness;
  let directory: string;
  const log = new PassThrough();
  let logText = "";
  let servant: { id: string; token: string };
  let operator: { id: string; token: string };

  const post = (token: string, url: string, payload?: object) =>
    harness.app.inject({ method: "POST", url, headers: bearer(token), ...(payload ? { payload } : {}) });
  /** Everything the enrolment, audit and notification tables hold, as text (bytea in hex). */
  const tableText = async () =>
    (
      await harness.context.db.query<{ t: string }>(
        `SELECT string_agg(t, ' ') AS t FROM (
           SELECT e::text AS t FROM enrollments e UNION ALL SELECT a::text FROM audit_log a
           UNION ALL SELECT n::text FROM portal_notifications n) rows`,
      )
    ).rows[0]!.t;

  beforeAll(async () => {
    log.on("data", (chunk: Buffer) => {
      logText += chunk.toString("utf8");
    });
    harness = await createHarness(engine, { env: { LOG_LEVEL: "trace" }, logStream: log });
    directory = await mkdtemp(join(tmpdir(), "ca-p12-"));
    const user = await harness.context.directory.create(cliActor("test"), {
      name: "Chen Jing",
      employeeNumber: "E-CHENJING",
      orgUnit: "gov",
      roles: ["subscriber"],
    });
    servant = {
      id: user.id,
      token: (await harness.context.accounts.createApiKey(cliActor("test"), user.id, null)).token,
    };
    operator = await harness.account("ra-operator", "gov");
  });
  afterAll(async () => {
    await harness?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("answers an auto profile's PKCS#12 at once (AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC) and keeps no key", async () => {
    const response = await post(servant.token, "/api/v1/enrollments", {
      profile: "tls-client",
      method: "server-keygen",
      serverKeyGeneration: { algorithm: "ec:P-256", passphrase: PASSPHRASE },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.headers["cache-control"]).toBe("no-store");
    const body = response.json();
    expect(body).toMatchObject({ status: "issued", method: "server-keygen", keyAwaitingDownload: false });
    const opened = await openPkcs12(directory, Buffer.from(body.pkcs12, "base64"), PASSPHRASE);
    expect(opened.info).toContain("MAC: sha256, Iteration 10000");
    expect(opened.info).toContain(
      "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256",
    );
    expect(opened.info).toContain(
      "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256",
    );
    expect(opened.info).not.toMatch(/RC2|3DES|DES-EDE|\bsha1\b|hmacWithSHA1\b/i);
    const [leaf, issuing, root] = opened.certificates;
    expect(leaf!.serialNumber.toLowerCase()).toBe(body.certificate.serial);
    expect(leaf!.subject).toContain("CN=Chen Jing");
    expect(issuing!.raw).toEqual(harness.context.issuers.get("issuing-1").row.certificate);
    expect(root!.raw).toEqual(harness.context.issuers.get("root-1").row.certificate);
    expect(leaf!.publicKey.export({ format: "der", type: "spki" })).toEqual(
      createPublicKey(opened.key).export({ format: "der", type: "spki" }),
    );
    expect(opened.python).toMatchObject({ keyMatches: true, additional: 2 });
    expect(opened.python.friendlyName).toContain("Chen Jing");
    const stored = await harness.context.db.query<{ encrypted_key: Buffer | null }>(
      "SELECT encrypted_key FROM enrollments WHERE id = $1",
      [body.id],
    );
    expect(stored.rows[0]!.encrypted_key).toBeNull();
    expect(await tableText()).not.toContain(
      opened.key.export({ format: "der", type: "pkcs8" }).toString("hex"),
    );
    // Nothing waits: a download is refused as gone.
    const download = await post(servant.token, `/api/v1/enrollments/${body.id}/pkcs12`, {
      passphrase: PASSPHRASE,
    });
    expect(download.statusCode).toBe(410);
    expect(download.json().code).toBe("key-gone");
  });

  it("seals a waiting key under the passphrase only, delivers it once after approval, then 410", async () => {
    const submitted = await post(servant.token, "/api/v1/enrollments", {
      profile: "user-signing",
      method: "server-keygen",
      serverKeyGeneration: { algorithm: "rsa:2048", passphrase: PASSPHRASE },
    });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const pending = submitted.json();
    expect(pending).toMatchObject({ status: "pending", keyAwaitingDownload: true });
    expect(pending.pkcs12).toBeUndefined();
    const early = await post(servant.token, `/api/v1/enrollments/${pending.id}/pkcs12`, {
      passphrase: PASSPHRASE,
    });
    expect(early.statusCode).toBe(409);
    expect(early.json().code).toBe("enrollment-not-issued");

    // The stored key is a PKCS#8 EncryptedPrivateKeyInfo that OpenSSL opens with the passphrase.
    const sealed = (
      await harness.context.db.query<{ encrypted_key: Buffer }>(
        "SELECT encrypted_key FROM enrollments WHERE id = $1",
        [pending.id],
      )
    ).rows[0]!.encrypted_key;
    const sealedFile = join(directory, "sealed.der");
    await writeFile(sealedFile, sealed);
    const asn1 = await runPeer("openssl", ["asn1parse", "-inform", "DER", "-in", sealedFile], directory);
    expect(asn1.stdout).toMatch(/PBES2[\s\S]*PBKDF2[\s\S]*hmacWithSHA256[\s\S]*aes-256-cbc/);
    const opensslKey = await runPeer(
      "openssl",
      ["pkey", "-inform", "DER", "-in", sealedFile, "-passin", `pass:${PASSPHRASE}`],
      directory,
    );
    expect(opensslKey.code, opensslKey.stderr).toBe(0);
    const before = await tableText();

    expect((await post(operator.token, `/api/v1/enrollments/${pending.id}/approve`)).json()).toMatchObject({
      status: "issued",
      keyAwaitingDownload: true,
    });
    const notYours = await post(operator.token, `/api/v1/enrollments/${pending.id}/pkcs12`, {
      passphrase: PASSPHRASE,
    });
    expect(notYours.statusCode).toBe(403);

    const wrong = await post(servant.token, `/api/v1/enrollments/${pending.id}/pkcs12`, {
      passphrase: "not the passphrase",
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({
      code: "passphrase-incorrect",
      detail: "the passphrase does not open this request's key",
    });
    expect(wrong.body).not.toContain("not the passphrase");
    expect((await harness.context.enrollments.get(cliActor("test"), pending.id)).keyAwaitingDownload).toBe(
      true,
    );

    const download = await post(servant.token, `/api/v1/enrollments/${pending.id}/pkcs12`, {
      passphrase: PASSPHRASE,
    });
    expect(download.statusCode, download.body).toBe(200);
    expect(download.headers["content-type"]).toBe("application/x-pkcs12");
    expect(download.headers["cache-control"]).toBe("no-store");
    const opened = await openPkcs12(directory, download.rawPayload, PASSPHRASE);
    expect(opened.python.keyMatches).toBe(true);
    expect(opened.certificates[0]!.subject).toContain("CN=Chen Jing");
    expect(opened.key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(createPublicKey(opensslKey.stdout).export({ format: "der", type: "spki" })).toEqual(
      createPublicKey(opened.key).export({ format: "der", type: "spki" }),
    );

    // Nothing of the key in clear, before or after: not the PKCS#8, not the PKCS#1 key.
    const pkcs8 = opened.key.export({ format: "der", type: "pkcs8" }).toString("hex");
    const pkcs1 = opened.key.export({ format: "der", type: "pkcs1" }).toString("hex");
    const after = await tableText();
    for (const text of [before, after]) {
      expect(text).not.toContain(pkcs8);
      expect(text).not.toContain(pkcs1);
    }
    expect(after).not.toContain(sealed.toString("hex")); // erased

    const second = await post(servant.token, `/api/v1/enrollments/${pending.id}/pkcs12`, {
      passphrase: PASSPHRASE,
    });
    expect(second.statusCode).toBe(410);
    expect(second.json()).toMatchObject({
      code: "key-gone",
      detail: `enrolment request "${pending.id}": its key was downloaded already and is no longer kept`,
    });
    const actions = await harness.context.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE target = $1 ORDER BY id",
      [`enrollment:${pending.id}`],
    );
    expect(actions.rows.map((r) => r.action)).toEqual([
      "enrollment.submit",
      "enrollment.approve",
      "enrollment.issue",
      "enrollment.deliver",
    ]);
  });

  it("erases a waiting key on rejection", async () => {
    const pending = (
      await post(servant.token, "/api/v1/enrollments", {
        profile: "user-encryption",
        method: "server-keygen",
        serverKeyGeneration: { algorithm: "ec:P-384", passphrase: PASSPHRASE },
      })
    ).json();
    expect(pending.keyAwaitingDownload).toBe(true);
    const rejected = await post(operator.token, `/api/v1/enrollments/${pending.id}/reject`, {
      reason: "duplicate",
    });
    expect(rejected.json()).toMatchObject({ status: "rejected", keyAwaitingDownload: false });
    const download = await post(servant.token, `/api/v1/enrollments/${pending.id}/pkcs12`, {
      passphrase: PASSPHRASE,
    });
    expect(download.statusCode).toBe(410);
  });

  it("never writes the passphrase to the log", () => {
    expect(logText.length).toBeGreaterThan(0);
    expect(logText).toContain("/api/v1/enrollments");
    expect(logText).not.toContain(PASSPHRASE);
    expect(logText).not.toContain("not the passphrase");
  });
});
