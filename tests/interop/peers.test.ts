/**
 * The peer helpers themselves: a missing peer is an error (the interop suites fail, never
 * skip), and the pyca/cryptography decoder reads a certificate made by OpenSSL the way
 * OpenSSL meant it, so the profile suites compare against a faithful decoding.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PeerMissingError, PYTHON, peerVersions, pythonInspect, runPeer } from "../helpers/peers.js";
import { OIDS } from "./support.js";

describe("peer helpers", () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "ca-peers-test-"));
  });
  afterAll(async () => rm(directory, { recursive: true, force: true }));

  it("reports the installed OpenSSL, GnuTLS and Debian python3-cryptography", async () => {
    const versions = await peerVersions();
    expect(versions.openssl).toMatch(/^OpenSSL \d+\.\d+/);
    expect(versions.certtool).toMatch(/^certtool \d+\.\d+/);
    expect(versions.cryptography).toMatch(/^\d+\.\d+/);
  });

  it("throws when a peer is not installed", async () => {
    await expect(runPeer("gov-ca-no-such-peer", ["--version"], directory)).rejects.toBeInstanceOf(
      PeerMissingError,
    );
    await expect(pythonInspect("", join(directory, "no-python3"))).rejects.toBeInstanceOf(PeerMissingError);
  });

  it("throws when the interpreter cannot import cryptography", async () => {
    // -S: no site packages, so the Debian dist-packages (and cryptography) are out of reach.
    const wrapper = join(directory, "python-without-site");
    await writeFile(wrapper, `#!/bin/sh\nexec ${PYTHON} -S -I "$@"\n`);
    await chmod(wrapper, 0o755);
    await expect(pythonInspect("", wrapper)).rejects.toThrow(/cryptography is not importable/);
  });

  it("decodes every extension of an OpenSSL-made certificate as OpenSSL wrote it", async () => {
    const config = [
      "[req]",
      "distinguished_name = dn",
      "prompt = no",
      "x509_extensions = v3",
      "[dn]",
      "C = CN",
      "CN = peer decoder check",
      "[v3]",
      "basicConstraints = critical, CA:TRUE, pathlen:3",
      "keyUsage = critical, digitalSignature, nonRepudiation, keyAgreement, cRLSign",
      "extendedKeyUsage = serverAuth, OCSPSigning",
      "subjectKeyIdentifier = hash",
      "subjectAltName = DNS:a.example.test, IP:2001:db8::7, email:x@example.test, URI:https://example.test/id",
      "authorityInfoAccess = OCSP;URI:http://ocsp.example.test, caIssuers;URI:http://example.test/ca.crt",
      "crlDistributionPoints = URI:http://example.test/ca.crl",
      "noCheck = ignored",
      "",
    ].join("\n");
    await writeFile(join(directory, "x509.cnf"), config);
    const made = await runPeer(
      "openssl",
      [
        "req",
        "-config",
        "x509.cnf",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "certificate.pem",
        "-days",
        "2",
        "-set_serial",
        "0x7f0102030405060708090a0b0c0d0e0f",
      ],
      directory,
    );
    expect(made.code, made.stderr).toBe(0);
    const decoded = await pythonInspect(await readFile(join(directory, "certificate.pem"), "utf8"));
    expect(decoded.subject).toBe("CN=peer decoder check,C=CN");
    expect(decoded.serialHex).toBe("7f0102030405060708090a0b0c0d0e0f");
    expect(decoded.serialDerLength).toBe(16);
    expect(decoded.publicKey).toEqual({ type: "ec", bits: 256, curve: "secp256r1" });
    expect(decoded.basicConstraints).toEqual({ critical: true, ca: true, pathLength: 3 });
    expect(decoded.keyUsage).toEqual({
      critical: true,
      usages: ["digitalSignature", "nonRepudiation", "keyAgreement", "cRLSign"],
    });
    expect(decoded.extendedKeyUsage).toEqual({ critical: false, oids: [OIDS.serverAuth, OIDS.ocspSigning] });
    expect(decoded.subjectAltName?.names).toEqual([
      { type: "dns", value: "a.example.test" },
      { type: "ip", value: "2001:db8::7" },
      { type: "email", value: "x@example.test" },
      { type: "uri", value: "https://example.test/id" },
    ]);
    expect(decoded.authorityInfoAccess).toEqual({
      critical: false,
      ocsp: ["http://ocsp.example.test"],
      caIssuers: ["http://example.test/ca.crt"],
      other: [],
    });
    expect(decoded.crlDistributionPoints?.urls).toEqual(["http://example.test/ca.crl"]);
    expect(decoded.ocspNoCheck).toEqual({ critical: false });
    expect(decoded.subjectKeyIdentifier?.keyIdentifier).toMatch(/^[0-9a-f]{40}$/);
    expect(decoded.unrecognized).toEqual([]);
  });
});
