/**
 * The CA hierarchy judged by OpenSSL, GnuTLS and pyca/cryptography: the self-signed root,
 * the issuing CA (pathLenConstraint 0, keyCertSign and cRLSign, AKI = root SKI), nested
 * validity, and — with CA keys of every supported algorithm — our ECDSA, RSA PKCS#1 v1.5
 * and Ed25519 signature encodings, verified on certificates issued through the API.
 */
import { createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyAlgorithm } from "../../hsm-adapters/key-store.js";
import { newSerial } from "../../src/ca/serial.js";
import { FixedClock } from "../../src/clock.js";
import { encodeTbsCertificate } from "../../src/pki/certificate.js";
import { bitString, oid, sequence } from "../../src/pki/der.js";
import {
  authorityKeyIdentifier,
  basicConstraints,
  keyIdentifier,
  keyUsage,
  subjectKeyIdentifier,
} from "../../src/pki/extensions.js";
import { encodeName } from "../../src/pki/name.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { createHarness, type Harness, PUBLIC_URL } from "../helpers/harness.js";
import {
  certtoolVerify,
  certtoolVerifyChain,
  type InspectedCertificate,
  opensslVerify,
  pythonInspect,
} from "../helpers/peers.js";
import {
  certificateParts,
  children,
  derToPem,
  extensionsOf,
  fetchHierarchy,
  isMinimalNamedBitList,
  issueOverHttp,
  keyIdentifierOf,
  listen,
  OIDS,
  pemToDer,
  readTlv,
} from "./support.js";

const YEAR_MS = 365 * 86_400_000;
const CA_USAGES = ["digitalSignature", "keyCertSign", "cRLSign"];

const sorted = (values: readonly string[] | undefined) => [...(values ?? [])].sort();

/** A tls-client certificate for `key`, issued over HTTP. */
async function issueTlsClient(origin: string, harness: Harness, key = generateTestKey("p256")) {
  const document = await issueOverHttp(origin, harness.adminToken, {
    csr: buildCsrPem({ key }),
    profile: "tls-client",
    subject: { orgUnit: "gov", commonName: "interop-client" },
    subjectAltNames: [{ type: "dns", value: "client.gov.test" }],
  });
  return document.certificate;
}

async function expectChainAccepted(
  rootPem: string,
  issuingPem: string,
  leafPem: string,
  purpose: { openssl?: string; certtool?: string } = {},
) {
  const openssl = await opensslVerify(rootPem, [issuingPem], leafPem, {
    ...(purpose.openssl ? { purpose: purpose.openssl } : {}),
  });
  expect(openssl.ok, openssl.output).toBe(true);
  expect(openssl.chain).toHaveLength(3);
  const certtool = await certtoolVerifyChain(leafPem + issuingPem + rootPem, {
    ...(purpose.certtool ? { purpose: purpose.certtool } : {}),
  });
  expect(certtool.ok, certtool.output).toBe(true);
}

/** The INTEGERs r and s of an X.509 ECDSA signature (Ecdsa-Sig-Value, RFC 3279 §2.2.3). */
function ecdsaIntegers(signatureValue: Buffer): { r: Buffer; s: Buffer } {
  const [r, s] = children(readTlv(signatureValue));
  return { r: r!.content, s: s!.content };
}

describe("the development hierarchy (ecdsa-p256) judged by the peers", () => {
  let harness: Harness;
  let origin: string;
  let hierarchy: Awaited<ReturnType<typeof fetchHierarchy>>;
  let root: InspectedCertificate;
  let issuing: InspectedCertificate;

  beforeAll(async () => {
    harness = await createHarness("pglite");
    origin = await listen(harness);
    hierarchy = await fetchHierarchy(origin);
    root = await pythonInspect(hierarchy.rootPem);
    issuing = await pythonInspect(hierarchy.issuingPem);
  });
  afterAll(async () => harness?.close());

  it("has a self-signed root that OpenSSL and GnuTLS take as a trust anchor", async () => {
    expect(root.version).toBe("v3");
    expect(root.issuer).toBe(root.subject);
    expect(root.subject).toBe(
      "CN=Provincial E-Government Certification Centre Root CA,O=Provincial E-Government Certification Centre,C=CN",
    );
    expect(root.basicConstraints).toEqual({ critical: true, ca: true, pathLength: null });
    expect(root.keyUsage?.critical).toBe(true);
    expect(sorted(root.keyUsage?.usages)).toEqual(sorted(CA_USAGES));
    const keyUsageDer = extensionsOf(hierarchy.rootDer).get(OIDS.keyUsage)!.value;
    expect(isMinimalNamedBitList(readTlv(keyUsageDer)), keyUsageDer.toString("hex")).toBe(true);
    const spki = certificateParts(hierarchy.rootDer).subjectPublicKeyInfo.encoded;
    expect(root.subjectKeyIdentifier).toEqual({ critical: false, keyIdentifier: keyIdentifierOf(spki) });
    // A self-signed root: no AKI, no AIA or CDP, no EKU (RFC 5280 §4.2.1.1 allows AKI to be omitted).
    expect(sorted(root.extensions.map((e) => e.oid))).toEqual(
      sorted([OIDS.basicConstraints, OIDS.keyUsage, OIDS.subjectKeyIdentifier]),
    );
    expect(root.unrecognized).toEqual([]);
    expect(root.serialPositive).toBe(true);
    expect(root.serialDerLength).toBe(16);
    expect(root.signatureAlgorithmOid).toBe(OIDS.ecdsaWithSHA256);
    expect(root.publicKey).toEqual({ type: "ec", bits: 256, curve: "secp256r1" });

    const openssl = await opensslVerify(hierarchy.rootPem, [], hierarchy.rootPem);
    expect(openssl.ok, openssl.output).toBe(true);
    expect(openssl.chain).toHaveLength(1);
    const certtool = await certtoolVerifyChain(hierarchy.rootPem);
    expect(certtool.ok, certtool.output).toBe(true);
  });

  it("has an issuing CA with pathLenConstraint 0, keyCertSign and cRLSign, and AKI = root SKI", async () => {
    expect(issuing.issuer).toBe(root.subject);
    expect(issuing.subject).toBe(
      "CN=Provincial E-Government Certification Centre Issuing CA 1,O=Provincial E-Government Certification Centre,C=CN",
    );
    expect(issuing.basicConstraints).toEqual({ critical: true, ca: true, pathLength: 0 });
    expect(issuing.keyUsage?.critical).toBe(true);
    expect(issuing.keyUsage?.usages).toContain("keyCertSign");
    expect(issuing.keyUsage?.usages).toContain("cRLSign");
    expect(sorted(issuing.keyUsage?.usages)).toEqual(sorted(CA_USAGES));
    expect(issuing.authorityKeyIdentifier).toEqual({
      critical: false,
      keyIdentifier: root.subjectKeyIdentifier!.keyIdentifier,
      authorityCertIssuer: null,
      authorityCertSerial: null,
    });
    const spki = certificateParts(hierarchy.issuingDer).subjectPublicKeyInfo.encoded;
    expect(issuing.subjectKeyIdentifier).toEqual({ critical: false, keyIdentifier: keyIdentifierOf(spki) });
    expect(issuing.authorityInfoAccess).toEqual({
      critical: false,
      ocsp: [`${PUBLIC_URL}/ocsp/root-1`],
      caIssuers: [`${PUBLIC_URL}/ca/root-1.crt`],
      other: [],
    });
    expect(issuing.crlDistributionPoints?.urls).toEqual([`${PUBLIC_URL}/crl/root-1.crl`]);
    expect(issuing.extendedKeyUsage).toBeUndefined();
    expect(issuing.unrecognized).toEqual([]);
    expect(issuing.serialDerLength).toBe(16);
    const critical = issuing.extensions.filter((e) => e.critical).map((e) => e.oid);
    expect(sorted(critical)).toEqual(sorted([OIDS.basicConstraints, OIDS.keyUsage]));

    const openssl = await opensslVerify(hierarchy.rootPem, [], hierarchy.issuingPem);
    expect(openssl.ok, openssl.output).toBe(true);
    expect(openssl.chain).toHaveLength(2);
    const chain = await certtoolVerifyChain(hierarchy.issuingPem + hierarchy.rootPem);
    expect(chain.ok, chain.output).toBe(true);
    const anchored = await certtoolVerify(hierarchy.rootPem, hierarchy.issuingPem);
    expect(anchored.ok, anchored.output).toBe(true);
  });

  it("nests the validity periods: leaf within issuing CA within root", async () => {
    const [rootFrom, rootTo] = [Date.parse(root.notBefore), Date.parse(root.notAfter)];
    const [issuingFrom, issuingTo] = [Date.parse(issuing.notBefore), Date.parse(issuing.notAfter)];
    expect(rootFrom).toBeLessThanOrEqual(issuingFrom);
    expect(issuingTo).toBeLessThanOrEqual(rootTo);
    expect(Math.round((rootTo - rootFrom) / YEAR_MS)).toBe(20);
    expect(Math.round((issuingTo - issuingFrom) / YEAR_MS)).toBe(10);
    const leaf = await pythonInspect(await issueTlsClient(origin, harness));
    expect(Date.parse(leaf.notBefore)).toBeGreaterThanOrEqual(issuingFrom);
    expect(Date.parse(leaf.notAfter)).toBeLessThanOrEqual(issuingTo);
  });

  it("has its pathLenConstraint 0 enforced by OpenSSL and GnuTLS", async () => {
    // A CA certificate signed by the issuing CA's key (not something the API would issue),
    // and a leaf under it: the leaf's path has one intermediate too many.
    const issuer = harness.context.issuers.get("issuing-1");
    const subKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const subSpki = createPublicKey(subKey).export({ format: "der", type: "spki" });
    const subName = encodeName([
      { type: OIDS.countryName, value: "CN" },
      { type: OIDS.commonName, value: "Unauthorised Sub CA" },
    ]);
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const later = new Date(now.getTime() + 30 * 86_400_000);
    const subCa = await issuer.signer.signStructure(
      encodeTbsCertificate({
        serial: newSerial(),
        signatureAlgorithm: issuer.signer.algorithmIdentifier,
        issuer: issuer.row.subject_der,
        notBefore: now,
        notAfter: later,
        subject: subName,
        subjectPublicKeyInfo: subSpki,
        extensions: [
          basicConstraints(true),
          keyUsage(["keyCertSign", "cRLSign"]),
          subjectKeyIdentifier(keyIdentifier(subSpki)),
          authorityKeyIdentifier(issuer.row.key_id),
        ],
      }),
    );
    const leafKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const leafSpki = createPublicKey(leafKey).export({ format: "der", type: "spki" });
    const algorithm = sequence(oid(OIDS.ecdsaWithSHA256));
    const leafTbs = encodeTbsCertificate({
      serial: newSerial(),
      signatureAlgorithm: algorithm,
      issuer: subName,
      notBefore: now,
      notAfter: later,
      subject: encodeName([{ type: OIDS.commonName, value: "leaf under the sub CA" }]),
      subjectPublicKeyInfo: leafSpki,
      extensions: [
        basicConstraints(false),
        keyUsage(["digitalSignature"]),
        subjectKeyIdentifier(keyIdentifier(leafSpki)),
        authorityKeyIdentifier(keyIdentifier(subSpki)),
      ],
    });
    const leaf = sequence(leafTbs, algorithm, bitString(sign("sha256", leafTbs, subKey)));
    const subCaPem = derToPem(subCa);
    const leafPem = derToPem(leaf);

    // Control: the sub CA certificate itself is a valid end of path (pathLen limits what follows it).
    const control = await opensslVerify(hierarchy.rootPem, [hierarchy.issuingPem], subCaPem);
    expect(control.ok, control.output).toBe(true);

    const openssl = await opensslVerify(hierarchy.rootPem, [subCaPem, hierarchy.issuingPem], leafPem);
    expect(openssl.ok, openssl.output).toBe(false);
    expect(openssl.output).toMatch(/path length constraint exceeded/i);
    const certtool = await certtoolVerifyChain(leafPem + subCaPem + hierarchy.issuingPem + hierarchy.rootPem);
    expect(certtool.ok, certtool.output).toBe(false);
  });

  it("caps a certificate at its issuer's notAfter, and the peers accept the capped chain", async () => {
    // The hierarchy is created almost ten years ago, so the issuing CA has 100 days left.
    const created = new Date();
    created.setUTCFullYear(created.getUTCFullYear() - 10);
    const clock = new FixedClock(new Date(created.getTime() + 100 * 86_400_000));
    const aged = await createHarness("pglite", { clock });
    try {
      clock.advance(Date.now() - clock.now().getTime());
      const agedOrigin = await listen(aged);
      const agedHierarchy = await fetchHierarchy(agedOrigin);
      const agedIssuing = await pythonInspect(agedHierarchy.issuingPem);
      const document = await issueOverHttp(agedOrigin, aged.adminToken, {
        csr: buildCsrPem({ key: generateTestKey("p256") }),
        profile: "user-signing",
        subject: { orgUnit: "gov", commonName: "Late Signer" },
      });
      const leaf = await pythonInspect(document.certificate);
      expect(leaf.notAfter).toBe(agedIssuing.notAfter);
      expect(Date.parse(leaf.notAfter) - Date.now()).toBeLessThan(101 * 86_400_000);
      await expectChainAccepted(agedHierarchy.rootPem, agedHierarchy.issuingPem, document.certificate, {
        openssl: "smimesign",
        certtool: OIDS.emailProtection,
      });
    } finally {
      await aged.close();
    }
  });

  it("encodes ECDSA signature values as minimal DER even when r or s has leading zero octets", async () => {
    await expectMinimalEcdsaSignatures(harness, origin, hierarchy, 32);
  });
});

/**
 * Re-signs an issued certificate's TBS with the issuing CA until r (then s) is short by at
 * least one octet, so the INTEGER must be trimmed (X.690 §8.3.2), and has the peers verify it.
 */
async function expectMinimalEcdsaSignatures(
  harness: Harness,
  origin: string,
  hierarchy: Awaited<ReturnType<typeof fetchHierarchy>>,
  size: number,
) {
  const issued = pemToDer(await issueTlsClient(origin, harness));
  const parts = certificateParts(issued);
  const signer = harness.context.issuers.get("issuing-1").signer;
  // Below 2^(8·(size−1)−1): the leading octet is zero and the next one's high bit is clear,
  // so a correct encoder must drop the zero octet, and a sloppy one cannot get it right by luck.
  const bits = 8 * (size - 1) - 1;
  const limit = 2n ** BigInt(bits);
  for (const which of ["r", "s"] as const) {
    let signature: Buffer | undefined;
    for (let attempt = 0; attempt < 50_000 && !signature; attempt++) {
      const candidate = await signer.signatureValue(parts.tbs.encoded);
      const value = ecdsaIntegers(candidate)[which];
      if (BigInt(`0x${value.toString("hex")}`) < limit) signature = candidate;
    }
    expect(signature, `no ${which} below 2^${bits} in 50000 signatures`).toBeDefined();
    const certificate = sequence(parts.tbs.encoded, parts.signatureAlgorithm.encoded, bitString(signature!));
    await expectChainAccepted(hierarchy.rootPem, hierarchy.issuingPem, derToPem(certificate), {
      openssl: "sslclient",
      certtool: OIDS.clientAuth,
    });
    // Minimal: no leading 0x00 unless the next octet's high bit is set (X.690 §8.3.2).
    const value = ecdsaIntegers(signature!)[which];
    if (value[0] === 0) expect(value[1]! & 0x80).toBe(0x80);
    expect(value.length).toBeLessThan(size);
  }
}

interface AlgorithmCase {
  readonly algorithm: KeyAlgorithm;
  readonly publicKey: InspectedCertificate["publicKey"];
  readonly signatureOid: string;
  /** The exact AlgorithmIdentifier DER (RFC 5758 §3.2, RFC 4055 §5, RFC 8410 §3). */
  readonly algorithmIdentifierHex: string;
  /** For ECDSA: the size of r and s in octets. */
  readonly ecdsaSize?: number;
}

const ALGORITHMS: readonly AlgorithmCase[] = [
  {
    algorithm: "ecdsa-p384",
    publicKey: { type: "ec", bits: 384, curve: "secp384r1" },
    signatureOid: OIDS.ecdsaWithSHA384,
    algorithmIdentifierHex: "300a06082a8648ce3d040303",
    ecdsaSize: 48,
  },
  {
    algorithm: "rsa-3072",
    publicKey: { type: "rsa", bits: 3072 },
    signatureOid: OIDS.sha256WithRSAEncryption,
    algorithmIdentifierHex: "300d06092a864886f70d01010b0500",
  },
  {
    algorithm: "ed25519",
    publicKey: { type: "ed25519" },
    signatureOid: OIDS.ed25519,
    algorithmIdentifierHex: "300506032b6570",
  },
  {
    // Slow to generate: one hierarchy, one certificate.
    algorithm: "rsa-4096",
    publicKey: { type: "rsa", bits: 4096 },
    signatureOid: OIDS.sha256WithRSAEncryption,
    algorithmIdentifierHex: "300d06092a864886f70d01010b0500",
  },
];

describe.each(ALGORITHMS)("a hierarchy with $algorithm CA keys", (item) => {
  let harness: Harness;
  let origin: string;
  let hierarchy: Awaited<ReturnType<typeof fetchHierarchy>>;

  beforeAll(async () => {
    harness = await createHarness("pglite", { env: { CA_KEY_ALGORITHM: item.algorithm } });
    origin = await listen(harness);
    hierarchy = await fetchHierarchy(origin);
  });
  afterAll(async () => harness?.close());

  it("has root and issuing CA certificates the peers accept, signed with the right algorithm", async () => {
    const root = await pythonInspect(hierarchy.rootPem);
    const issuing = await pythonInspect(hierarchy.issuingPem);
    for (const [certificate, der] of [
      [root, hierarchy.rootDer],
      [issuing, hierarchy.issuingDer],
    ] as const) {
      expect(certificate.publicKey).toEqual(item.publicKey);
      expect(certificate.signatureAlgorithmOid).toBe(item.signatureOid);
      const parts = certificateParts(der);
      expect(parts.signatureAlgorithm.encoded.toString("hex")).toBe(item.algorithmIdentifierHex);
      expect(parts.tbsSignatureAlgorithm.encoded.toString("hex")).toBe(item.algorithmIdentifierHex);
    }
    expect(issuing.basicConstraints).toEqual({ critical: true, ca: true, pathLength: 0 });
    expect(issuing.authorityKeyIdentifier?.keyIdentifier).toBe(root.subjectKeyIdentifier?.keyIdentifier);
    expect(Date.parse(issuing.notAfter)).toBeLessThanOrEqual(Date.parse(root.notAfter));

    const self = await opensslVerify(hierarchy.rootPem, [], hierarchy.rootPem);
    expect(self.ok, self.output).toBe(true);
    const openssl = await opensslVerify(hierarchy.rootPem, [], hierarchy.issuingPem);
    expect(openssl.ok, openssl.output).toBe(true);
    const certtool = await certtoolVerifyChain(hierarchy.issuingPem + hierarchy.rootPem);
    expect(certtool.ok, certtool.output).toBe(true);
  });

  it("issues tls-client certificates that OpenSSL and GnuTLS verify", async () => {
    const keys = item.algorithm === "rsa-4096" ? (["p256"] as const) : (["p256", "ed25519"] as const);
    for (const key of keys) {
      const leafPem = await issueTlsClient(origin, harness, generateTestKey(key));
      const leaf = await pythonInspect(leafPem);
      expect(leaf.signatureAlgorithmOid).toBe(item.signatureOid);
      expect(certificateParts(pemToDer(leafPem)).signatureAlgorithm.encoded.toString("hex")).toBe(
        item.algorithmIdentifierHex,
      );
      expect(leaf.extendedKeyUsage?.oids).toEqual([OIDS.clientAuth]);
      await expectChainAccepted(hierarchy.rootPem, hierarchy.issuingPem, leafPem, {
        openssl: "sslclient",
        certtool: OIDS.clientAuth,
      });
    }
  });

  if (item.ecdsaSize)
    it("encodes ECDSA signature values as minimal DER even when r or s has leading zero octets", async () => {
      await expectMinimalEcdsaSignatures(harness, origin, hierarchy, item.ecdsaSize!);
    });
});
