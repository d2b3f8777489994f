/**
 * Every certificate profile, issued over real HTTP from a listening service (PGlite), then
 * judged by independent peers: OpenSSL (`openssl verify -x509_strict` with the profile's
 * purpose), GnuTLS (`certtool --verify-chain` with its purpose OID) and pyca/cryptography,
 * whose decoding of every extension must match the profile exactly. CSRs come from
 * `openssl req` (RSA, RSA-PSS, EC, Ed25519) and from the in-process builder.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GeneralName } from "../../src/pki/general-name.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { createHarness, type Harness, PUBLIC_URL } from "../helpers/harness.js";
import {
  certtoolCsr,
  certtoolVerifyChain,
  type InspectedCertificate,
  opensslCsr,
  opensslVerify,
  peerVersions,
  pythonInspect,
} from "../helpers/peers.js";
import {
  certificateParts,
  derToPem,
  EKU_OIDS,
  extensionsOf,
  fetchHierarchy,
  isMinimalNamedBitList,
  keyIdentifierOf,
  listen,
  OIDS,
  pemToDer,
  readTlv,
  sha256Hex,
  splitPems,
} from "./support.js";

type KeyChoice = "rsa2048" | "p256" | "p384" | "ed25519";
type Accept = "pem" | "der" | "json";

const ACCEPT: Record<Accept, string> = {
  pem: "application/pem-certificate-chain",
  der: "application/pkix-cert",
  json: "application/json",
};

interface Case {
  readonly profile: string;
  readonly key: KeyChoice;
  readonly csrBy: "openssl" | "certtool" | "builder";
  /** openssl req -sigopt rsa_padding_mode:pss */
  readonly pss?: boolean;
  readonly accept: Accept;
  readonly subject: { commonName?: string; serialNumber?: string };
  /** subjectAltNames in the JSON body; when absent, the service takes those the CSR requests. */
  readonly sans?: readonly GeneralName[];
  /** Names requested in the CSR's extensionRequest. */
  readonly csrSans?: readonly GeneralName[];
  /** The SANs cryptography must decode, in order. */
  readonly expectedSans: readonly GeneralName[];
  readonly expectedCommonName: string;
  /** Pinned here (and also checked against the profile the API serves). */
  readonly keyUsage: readonly string[];
  readonly extendedKeyUsage: readonly string[];
  /** openssl verify -purpose; undefined where OpenSSL has no fitting purpose (see below). */
  readonly opensslPurpose?: string;
  readonly certtoolPurpose: string;
  readonly hostname?: string;
  readonly ip?: string;
  readonly email?: string;
}

const PROFILE_NAMES = ["user-signing", "user-encryption", "tls-server", "tls-client", "ocsp-signer"];

const CASES: readonly Case[] = [
  {
    profile: "tls-server",
    key: "rsa2048",
    csrBy: "openssl",
    accept: "pem",
    subject: { commonName: "www.gov.test" },
    sans: [
      { type: "dns", value: "www.gov.test" },
      { type: "dns", value: "*.api.gov.test" },
      { type: "ip", value: "10.1.2.3" },
      { type: "ip", value: "2001:db8:0:0:0:0:0:1" },
    ],
    expectedSans: [
      { type: "dns", value: "www.gov.test" },
      { type: "dns", value: "*.api.gov.test" },
      { type: "ip", value: "10.1.2.3" },
      { type: "ip", value: "2001:db8::1" },
    ],
    expectedCommonName: "www.gov.test",
    keyUsage: ["digitalSignature", "keyEncipherment"],
    extendedKeyUsage: [OIDS.serverAuth],
    opensslPurpose: "sslserver",
    certtoolPurpose: OIDS.serverAuth,
    hostname: "payments.api.gov.test",
    ip: "10.1.2.3",
  },
  {
    profile: "tls-server",
    key: "p256",
    csrBy: "openssl",
    accept: "json",
    subject: {},
    csrSans: [
      { type: "dns", value: "portal.gov.test" },
      { type: "dns", value: "portal2.gov.test" },
    ],
    expectedSans: [
      { type: "dns", value: "portal.gov.test" },
      { type: "dns", value: "portal2.gov.test" },
    ],
    expectedCommonName: "portal.gov.test",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.serverAuth],
    opensslPurpose: "sslserver",
    certtoolPurpose: OIDS.serverAuth,
    hostname: "portal2.gov.test",
  },
  {
    profile: "tls-server",
    key: "p384",
    csrBy: "builder",
    accept: "der",
    subject: { commonName: "API.gov.test" },
    sans: [{ type: "dns", value: "api.gov.test" }],
    expectedSans: [{ type: "dns", value: "api.gov.test" }],
    expectedCommonName: "api.gov.test",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.serverAuth],
    opensslPurpose: "sslserver",
    certtoolPurpose: OIDS.serverAuth,
    hostname: "api.gov.test",
  },
  {
    // certtool writes a text description before the PEM block (RFC 7468 §2 explanatory text).
    profile: "tls-server",
    key: "p384",
    csrBy: "certtool",
    accept: "pem",
    subject: {},
    csrSans: [{ type: "dns", value: "gnutls.gov.test" }],
    expectedSans: [{ type: "dns", value: "gnutls.gov.test" }],
    expectedCommonName: "gnutls.gov.test",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.serverAuth],
    opensslPurpose: "sslserver",
    certtoolPurpose: OIDS.serverAuth,
    hostname: "gnutls.gov.test",
  },
  {
    profile: "tls-client",
    key: "p256",
    csrBy: "builder",
    accept: "json",
    subject: { commonName: "payments-batch" },
    sans: [
      { type: "dns", value: "batch.payments.gov.test" },
      { type: "uri", value: "spiffe://gov.test/ns/payments/sa/batch" },
    ],
    expectedSans: [
      { type: "dns", value: "batch.payments.gov.test" },
      { type: "uri", value: "spiffe://gov.test/ns/payments/sa/batch" },
    ],
    expectedCommonName: "payments-batch",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.clientAuth],
    opensslPurpose: "sslclient",
    certtoolPurpose: OIDS.clientAuth,
  },
  {
    profile: "tls-client",
    key: "rsa2048",
    csrBy: "openssl",
    pss: true,
    accept: "pem",
    subject: { commonName: "tax-gateway" },
    sans: [{ type: "uri", value: "https://tax.gov.test/clients/gateway" }],
    expectedSans: [{ type: "uri", value: "https://tax.gov.test/clients/gateway" }],
    expectedCommonName: "tax-gateway",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.clientAuth],
    opensslPurpose: "sslclient",
    certtoolPurpose: OIDS.clientAuth,
  },
  {
    profile: "tls-client",
    key: "ed25519",
    csrBy: "openssl",
    accept: "pem",
    subject: { commonName: "edge-agent" },
    sans: [],
    expectedSans: [],
    expectedCommonName: "edge-agent",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.clientAuth],
    opensslPurpose: "sslclient",
    certtoolPurpose: OIDS.clientAuth,
  },
  {
    profile: "user-signing",
    key: "p384",
    csrBy: "openssl",
    accept: "pem",
    subject: { commonName: "Li Wei", serialNumber: "ID-440106-0042" },
    sans: [{ type: "email", value: "li.wei@gz.gov.test" }],
    expectedSans: [{ type: "email", value: "li.wei@gz.gov.test" }],
    expectedCommonName: "Li Wei",
    keyUsage: ["digitalSignature", "nonRepudiation"],
    extendedKeyUsage: [OIDS.clientAuth, OIDS.emailProtection],
    opensslPurpose: "smimesign",
    certtoolPurpose: OIDS.emailProtection,
    email: "li.wei@gz.gov.test",
  },
  {
    profile: "user-signing",
    key: "rsa2048",
    csrBy: "builder",
    accept: "json",
    subject: { commonName: "Chen Jing" },
    csrSans: [{ type: "email", value: "chen.jing@gov.test" }],
    expectedSans: [{ type: "email", value: "chen.jing@gov.test" }],
    expectedCommonName: "Chen Jing",
    keyUsage: ["digitalSignature", "nonRepudiation"],
    extendedKeyUsage: [OIDS.clientAuth, OIDS.emailProtection],
    opensslPurpose: "smimesign",
    certtoolPurpose: OIDS.emailProtection,
    email: "chen.jing@gov.test",
  },
  {
    profile: "user-signing",
    key: "ed25519",
    csrBy: "builder",
    accept: "der",
    subject: { commonName: "Zhao Min" },
    sans: [{ type: "email", value: "zhao.min@gov.test" }],
    expectedSans: [{ type: "email", value: "zhao.min@gov.test" }],
    expectedCommonName: "Zhao Min",
    keyUsage: ["digitalSignature", "nonRepudiation"],
    extendedKeyUsage: [OIDS.clientAuth, OIDS.emailProtection],
    opensslPurpose: "smimesign",
    certtoolPurpose: OIDS.emailProtection,
    email: "zhao.min@gov.test",
  },
  {
    profile: "user-signing",
    key: "rsa2048",
    csrBy: "certtool",
    accept: "json",
    subject: { commonName: "Wang Fang" },
    csrSans: [{ type: "email", value: "wang.fang@gov.test" }],
    expectedSans: [{ type: "email", value: "wang.fang@gov.test" }],
    expectedCommonName: "Wang Fang",
    keyUsage: ["digitalSignature", "nonRepudiation"],
    extendedKeyUsage: [OIDS.clientAuth, OIDS.emailProtection],
    opensslPurpose: "smimesign",
    certtoolPurpose: OIDS.emailProtection,
    email: "wang.fang@gov.test",
  },
  {
    profile: "user-encryption",
    key: "rsa2048",
    csrBy: "openssl",
    accept: "pem",
    subject: { commonName: "Li Wei" },
    sans: [{ type: "email", value: "li.wei@gz.gov.test" }],
    expectedSans: [{ type: "email", value: "li.wei@gz.gov.test" }],
    expectedCommonName: "Li Wei",
    keyUsage: ["keyEncipherment"],
    extendedKeyUsage: [OIDS.emailProtection],
    opensslPurpose: "smimeencrypt",
    certtoolPurpose: OIDS.emailProtection,
    email: "li.wei@gz.gov.test",
  },
  {
    // OpenSSL's smimeencrypt purpose insists on keyEncipherment, which RFC 5480 §3 forbids
    // for id-ecPublicKey; EC encryption certificates are verified without a purpose there
    // (GnuTLS still checks emailProtection).
    profile: "user-encryption",
    key: "p256",
    csrBy: "openssl",
    accept: "json",
    subject: { commonName: "Chen Jing" },
    sans: [{ type: "email", value: "chen.jing@gov.test" }],
    expectedSans: [{ type: "email", value: "chen.jing@gov.test" }],
    expectedCommonName: "Chen Jing",
    keyUsage: ["keyAgreement"],
    extendedKeyUsage: [OIDS.emailProtection],
    certtoolPurpose: OIDS.emailProtection,
    email: "chen.jing@gov.test",
  },
  {
    profile: "user-encryption",
    key: "p384",
    csrBy: "builder",
    accept: "pem",
    subject: { commonName: "Zhao Min" },
    sans: [],
    expectedSans: [],
    expectedCommonName: "Zhao Min",
    keyUsage: ["keyAgreement"],
    extendedKeyUsage: [OIDS.emailProtection],
    certtoolPurpose: OIDS.emailProtection,
  },
  {
    profile: "ocsp-signer",
    key: "p256",
    csrBy: "builder",
    accept: "json",
    subject: { commonName: "OCSP Responder 1" },
    expectedSans: [],
    expectedCommonName: "OCSP Responder 1",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.ocspSigning],
    opensslPurpose: "ocsphelper",
    certtoolPurpose: OIDS.ocspSigning,
  },
  {
    profile: "ocsp-signer",
    key: "rsa2048",
    csrBy: "openssl",
    accept: "pem",
    subject: { commonName: "OCSP Responder 2" },
    expectedSans: [],
    expectedCommonName: "OCSP Responder 2",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.ocspSigning],
    opensslPurpose: "ocsphelper",
    certtoolPurpose: OIDS.ocspSigning,
  },
  {
    profile: "ocsp-signer",
    key: "ed25519",
    csrBy: "openssl",
    accept: "der",
    subject: { commonName: "OCSP Responder 3" },
    expectedSans: [],
    expectedCommonName: "OCSP Responder 3",
    keyUsage: ["digitalSignature"],
    extendedKeyUsage: [OIDS.ocspSigning],
    opensslPurpose: "ocsphelper",
    certtoolPurpose: OIDS.ocspSigning,
  },
];

const KEY_KIND: Record<KeyChoice, "rsa" | "ec" | "ed25519"> = {
  rsa2048: "rsa",
  p256: "ec",
  p384: "ec",
  ed25519: "ed25519",
};
const PY_KEY: Record<KeyChoice, InspectedCertificate["publicKey"]> = {
  rsa2048: { type: "rsa", bits: 2048 },
  p256: { type: "ec", bits: 256, curve: "secp256r1" },
  p384: { type: "ec", bits: 384, curve: "secp384r1" },
  ed25519: { type: "ed25519" },
};

const opensslSan = (names: readonly GeneralName[]): string =>
  names
    .map(
      (name) => `${{ dns: "DNS", ip: "IP", email: "email", uri: "URI" }[name.type]}:${name.value}` as string,
    )
    .join(",");

interface ServedProfile {
  validityDays: number;
  keyUsage: string[] | Record<string, string[]>;
  extendedKeyUsage: string[];
  ocspNoCheck?: boolean;
}

/** A CSR from the chosen source, and the SubjectPublicKeyInfo DER of its key. */
async function makeCsr(item: Case): Promise<{ csr: string; spki: Buffer }> {
  const names = item.csrSans ?? [];
  if (item.csrBy === "openssl") {
    const { csrPem, keyPem } = await opensslCsr(item.key, {
      commonName: "requested-by-openssl",
      ...(names.length ? { subjectAltName: opensslSan(names) } : {}),
      ...(item.pss ? { pss: true } : {}),
    });
    return { csr: csrPem, spki: createPublicKey(keyPem).export({ format: "der", type: "spki" }) };
  }
  if (item.csrBy === "certtool") {
    const { csrPem, keyPem } = await certtoolCsr(item.key, {
      commonName: "requested-by-gnutls",
      dnsNames: names.filter((name) => name.type === "dns").map((name) => name.value),
      emails: names.filter((name) => name.type === "email").map((name) => name.value),
    });
    return { csr: csrPem, spki: createPublicKey(keyPem).export({ format: "der", type: "spki" }) };
  }
  const key: KeyObject = generateTestKey(item.key);
  return {
    csr: buildCsrPem({ key, commonName: "requested-by-builder", names }),
    spki: createPublicKey(key).export({ format: "der", type: "spki" }),
  };
}

describe("issued certificates judged by OpenSSL, GnuTLS and pyca/cryptography (PGlite, real HTTP)", () => {
  let harness: Harness;
  let origin: string;
  let hierarchy: Awaited<ReturnType<typeof fetchHierarchy>>;
  let issuing: InspectedCertificate;
  const profiles = new Map<string, ServedProfile>();
  const issuedPems = new Map<string, string>();

  beforeAll(async () => {
    // Fails (never skips) when a peer is missing.
    const versions = await peerVersions();
    console.info(
      `interop peers: ${versions.openssl}; ${versions.certtool}; cryptography ${versions.cryptography}`,
    );
    harness = await createHarness("pglite");
    origin = await listen(harness);
    hierarchy = await fetchHierarchy(origin);
    issuing = await pythonInspect(hierarchy.issuingPem);
    for (const name of PROFILE_NAMES) {
      const response = await fetch(`${origin}/api/v1/profiles/${name}`, {
        headers: { authorization: `Bearer ${harness.adminToken}` },
      });
      expect(response.status).toBe(200);
      profiles.set(name, (await response.json()) as ServedProfile);
    }
  });
  afterAll(async () => harness?.close());

  it("serves the root as DER and the issuing CA as a PEM chain over HTTP", async () => {
    expect(hierarchy.rootContentType).toContain("application/pkix-cert");
    expect(hierarchy.rootDer[0]).toBe(0x30);
    expect(hierarchy.chainContentType).toContain("application/pem-certificate-chain");
    expect(hierarchy.chainPems).toHaveLength(2);
    expect(pemToDer(hierarchy.chainPems[1]!).equals(hierarchy.rootDer)).toBe(true);
    const root = await pythonInspect(hierarchy.rootPem);
    expect(issuing.issuer).toBe(root.subject);
  });

  it("covers every profile, and P-256, P-384, RSA-2048 and Ed25519 keys", () => {
    expect(new Set(CASES.map((item) => item.profile))).toEqual(new Set(PROFILE_NAMES));
    expect(new Set(CASES.map((item) => item.key))).toEqual(new Set(["p256", "p384", "rsa2048", "ed25519"]));
    for (const kind of ["rsa2048", "p256", "p384", "ed25519"] as const)
      expect(CASES.some((item) => item.csrBy === "openssl" && item.key === kind)).toBe(true);
    expect(new Set(CASES.map((item) => item.csrBy))).toEqual(new Set(["openssl", "certtool", "builder"]));
  });

  for (const item of CASES) {
    const title = `${item.profile} for a ${item.key} key (CSR by ${item.csrBy}${item.pss ? ", RSA-PSS" : ""}, answer as ${item.accept})`;
    it(title, async () => {
      const profile = profiles.get(item.profile)!;
      const { csr, spki } = await makeCsr(item);
      const requestedAt = Date.now();
      const response = await fetch(`${origin}/api/v1/certificates`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${harness.adminToken}`,
          "content-type": "application/json",
          accept: ACCEPT[item.accept],
        },
        body: JSON.stringify({
          csr: item.csrBy === "builder" ? pemToBase64(csr) : csr,
          profile: item.profile,
          subject: { orgUnit: "gov", ...item.subject },
          ...(item.sans ? { subjectAltNames: item.sans } : {}),
        }),
      });
      const received =
        item.accept === "der" ? Buffer.from(await response.arrayBuffer()) : await response.text();
      expect(response.status, String(received)).toBe(201);
      expect(response.headers.get("content-type")).toContain(ACCEPT[item.accept]);

      // The leaf, and the chain the service returned with it (when the representation has one).
      let leafPem: string;
      let served: { subject?: string; serial?: string } = {};
      if (item.accept === "der") {
        leafPem = derToPem(received as Buffer);
      } else if (item.accept === "pem") {
        const pems = splitPems(received as string);
        expect(pems).toHaveLength(3);
        leafPem = pems[0]!;
        expect(pems.slice(1).map(pemToDer)).toEqual(hierarchy.chainPems.map(pemToDer));
      } else {
        const body = JSON.parse(received as string);
        leafPem = body.certificate;
        expect(body.chain.map(pemToDer)).toEqual(hierarchy.chainPems.map(pemToDer));
        expect(body.profile).toBe(item.profile);
        served = body;
      }
      issuedPems.set(`${item.profile}/${item.key}`, leafPem);

      // OpenSSL builds leaf → issuing → root and accepts it for the profile's purpose.
      const openssl = await opensslVerify(hierarchy.rootPem, [hierarchy.issuingPem], leafPem, {
        ...(item.opensslPurpose ? { purpose: item.opensslPurpose } : {}),
        ...(item.hostname ? { verifyHostname: item.hostname } : {}),
        ...(item.ip ? { verifyIp: item.ip } : {}),
        ...(item.email ? { verifyEmail: item.email } : {}),
      });
      expect(openssl.ok, openssl.output).toBe(true);
      expect(openssl.chain).toHaveLength(3);

      // GnuTLS, with the EKU purpose and the name it would be checked for.
      const certtool = await certtoolVerifyChain(leafPem + hierarchy.issuingPem + hierarchy.rootPem, {
        purpose: item.certtoolPurpose,
        ...(item.hostname ? { hostname: item.hostname } : {}),
        ...(item.email ? { email: item.email } : {}),
      });
      expect(certtool.ok, certtool.output).toBe(true);

      // pyca/cryptography decodes everything, and it matches the profile exactly.
      const leaf = await pythonInspect(leafPem);
      expect(leaf.version).toBe("v3");
      expect(leaf.spkiSha256).toBe(sha256Hex(spki));
      expect(leaf.publicKey).toEqual(PY_KEY[item.key]);
      expect(leaf.issuer).toBe(issuing.subject);
      const cn = item.expectedCommonName.replace(/[\\",+;<>=]/g, "\\$&");
      const expectedSubject = `CN=${cn},OU=Provincial Government,O=Provincial E-Government Certification Centre,C=CN`;
      expect(leaf.subject).toBe(
        item.subject.serialNumber
          ? `2.5.4.5=${item.subject.serialNumber},${expectedSubject}`
          : expectedSubject,
      );
      expect(leaf.subjectAttributes.map((a) => [a.oid, a.tag])).toEqual([
        [OIDS.countryName, "PrintableString"],
        [OIDS.organizationName, "UTF8String"],
        [OIDS.organizationalUnitName, "UTF8String"],
        [OIDS.commonName, "UTF8String"],
        ...(item.subject.serialNumber ? [[OIDS.serialNumber, "PrintableString"]] : []),
      ]);
      if (served.subject) expect(served.subject).toBe(leaf.subject.replace(/^2\.5\.4\.5=/, "serialNumber="));

      // Serial: 16 octets, positive (RFC 5280 §4.1.2.2), the one the API reports.
      expect(leaf.serialPositive).toBe(true);
      expect(leaf.serialDerLength).toBe(16);
      const serialHex = leaf.serialHex.padStart(32, "0");
      expect(response.headers.get("location")).toBe(`/api/v1/certificates/${serialHex}`);
      if (served.serial) expect(served.serial).toBe(serialHex);
      expect(certificateParts(pemToDer(leafPem)).serial.content.toString("hex")).toBe(serialHex);

      // Validity: the profile's length, backdated a little, inside the issuer's.
      const notBefore = Date.parse(leaf.notBefore);
      const notAfter = Date.parse(leaf.notAfter);
      expect(notBefore).toBeLessThanOrEqual(requestedAt);
      expect(notBefore).toBeGreaterThan(requestedAt - 5 * 60_000);
      expect((notAfter - notBefore) / 1000).toBe(profile.validityDays * 86_400 - 1);
      expect(notBefore).toBeGreaterThanOrEqual(Date.parse(issuing.notBefore));
      expect(notAfter).toBeLessThanOrEqual(Date.parse(issuing.notAfter));

      // The extensions, and no others (cryptography refuses duplicates itself).
      const expectedOids = [
        OIDS.basicConstraints,
        OIDS.keyUsage,
        OIDS.extKeyUsage,
        OIDS.subjectKeyIdentifier,
        OIDS.authorityKeyIdentifier,
        ...(item.expectedSans.length ? [OIDS.subjectAltName] : []),
        OIDS.authorityInfoAccess,
        ...(profile.ocspNoCheck ? [OIDS.ocspNoCheck] : [OIDS.crlDistributionPoints, OIDS.freshestCrl]),
      ];
      expect(leaf.extensions.map((e) => e.oid).sort()).toEqual([...expectedOids].sort());
      expect(leaf.unrecognized).toEqual([]);
      const critical = leaf.extensions.filter((e) => e.critical).map((e) => e.oid);
      expect(critical.sort()).toEqual([OIDS.basicConstraints, OIDS.keyUsage].sort());

      expect(leaf.basicConstraints).toEqual({ critical: true, ca: false, pathLength: null });

      const servedUsages = Array.isArray(profile.keyUsage)
        ? profile.keyUsage
        : profile.keyUsage[KEY_KIND[item.key]];
      expect([...(servedUsages ?? [])].sort()).toEqual([...item.keyUsage].sort());
      expect(leaf.keyUsage?.critical).toBe(true);
      expect([...(leaf.keyUsage?.usages ?? [])].sort()).toEqual([...item.keyUsage].sort());
      const keyUsageDer = extensionsOf(pemToDer(leafPem)).get(OIDS.keyUsage)!.value;
      expect(isMinimalNamedBitList(readTlv(keyUsageDer)), keyUsageDer.toString("hex")).toBe(true);

      expect(profile.extendedKeyUsage.map((name) => EKU_OIDS[name])).toEqual(item.extendedKeyUsage);
      expect(leaf.extendedKeyUsage).toEqual({ critical: false, oids: item.extendedKeyUsage });

      if (item.expectedSans.length)
        expect(leaf.subjectAltName).toEqual({ critical: false, names: item.expectedSans });
      else expect(leaf.subjectAltName).toBeUndefined();

      expect(leaf.subjectKeyIdentifier).toEqual({ critical: false, keyIdentifier: keyIdentifierOf(spki) });
      expect(leaf.authorityKeyIdentifier).toEqual({
        critical: false,
        keyIdentifier: issuing.subjectKeyIdentifier!.keyIdentifier,
        authorityCertIssuer: null,
        authorityCertSerial: null,
      });

      if (profile.ocspNoCheck) {
        // RFC 6960 §4.2.2.2.1: a delegated responder is not itself checked by OCSP or CRL.
        expect(item.profile).toBe("ocsp-signer");
        expect(leaf.ocspNoCheck).toEqual({ critical: false });
        expect(leaf.authorityInfoAccess).toEqual({
          critical: false,
          ocsp: [],
          caIssuers: [`${PUBLIC_URL}/ca/issuing-1.crt`],
          other: [],
        });
        expect(leaf.crlDistributionPoints).toBeUndefined();
        expect(leaf.freshestCrl).toBeUndefined();
      } else {
        expect(leaf.ocspNoCheck).toBeUndefined();
        expect(leaf.authorityInfoAccess).toEqual({
          critical: false,
          ocsp: [`${PUBLIC_URL}/ocsp/issuing-1`],
          caIssuers: [`${PUBLIC_URL}/ca/issuing-1.crt`],
          other: [],
        });
        expect(leaf.crlDistributionPoints).toEqual({
          critical: false,
          urls: [`${PUBLIC_URL}/crl/issuing-1.crl`],
          points: [
            {
              fullName: [{ type: "uri", value: `${PUBLIC_URL}/crl/issuing-1.crl` }],
              relativeName: null,
              reasons: null,
              crlIssuer: null,
            },
          ],
        });
        // RFC 5280 §4.2.1.15: where the delta CRLs are.
        expect(leaf.freshestCrl).toEqual({
          critical: false,
          urls: [`${PUBLIC_URL}/crl/issuing-1-delta.crl`],
          points: [
            {
              fullName: [{ type: "uri", value: `${PUBLIC_URL}/crl/issuing-1-delta.crl` }],
              relativeName: null,
              reasons: null,
              crlIssuer: null,
            },
          ],
        });
      }

      // The signature is the issuing CA's algorithm, the same inside and outside the TBS.
      const parts = certificateParts(pemToDer(leafPem));
      expect(parts.tbsSignatureAlgorithm.encoded.equals(parts.signatureAlgorithm.encoded)).toBe(true);
      expect(leaf.signatureAlgorithmOid).toBe(OIDS.ecdsaWithSHA256);
    });
  }

  it("dereferences the AIA caIssuers URL to the issuing CA certificate (RFC 5280 §4.2.2.1)", async () => {
    const leaf = await pythonInspect(issuedPems.get("tls-client/p256")!);
    const url = new URL(leaf.authorityInfoAccess!.caIssuers[0]!);
    expect(url.origin).toBe(PUBLIC_URL);
    const response = await fetch(`${origin}${url.pathname}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/pkix-cert");
    expect(Buffer.from(await response.arrayBuffer()).equals(hierarchy.issuingDer)).toBe(true);
  });

  describe("negative controls: the peers do reject what they should", () => {
    it("rejects a certificate whose signature was altered", async () => {
      const der = pemToDer(issuedPems.get("tls-client/p256")!);
      der[der.length - 3]! ^= 0x01;
      const tampered = derToPem(der);
      const openssl = await opensslVerify(hierarchy.rootPem, [hierarchy.issuingPem], tampered);
      expect(openssl.ok, openssl.output).toBe(false);
      expect(openssl.output).toMatch(/signature failure/i);
      const certtool = await certtoolVerifyChain(tampered + hierarchy.issuingPem + hierarchy.rootPem);
      expect(certtool.ok, certtool.output).toBe(false);
    });

    it("rejects a certificate used for a purpose its profile does not grant", async () => {
      const client = issuedPems.get("tls-client/p256")!;
      const asServer = await opensslVerify(hierarchy.rootPem, [hierarchy.issuingPem], client, {
        purpose: "sslserver",
      });
      expect(asServer.ok, asServer.output).toBe(false);
      expect(asServer.output).toMatch(/unsuitable certificate purpose/);
      const certtool = await certtoolVerifyChain(client + hierarchy.issuingPem + hierarchy.rootPem, {
        purpose: OIDS.serverAuth,
      });
      expect(certtool.ok, certtool.output).toBe(false);
      const responder = issuedPems.get("ocsp-signer/p256")!;
      const responderAsSigner = await opensslVerify(hierarchy.rootPem, [hierarchy.issuingPem], responder, {
        purpose: "smimesign",
      });
      expect(responderAsSigner.ok, responderAsSigner.output).toBe(false);
    });

    it("rejects a host name the subjectAltName does not cover", async () => {
      const server = issuedPems.get("tls-server/rsa2048")!;
      const openssl = await opensslVerify(hierarchy.rootPem, [hierarchy.issuingPem], server, {
        purpose: "sslserver",
        verifyHostname: "www.other.test",
      });
      expect(openssl.ok, openssl.output).toBe(false);
      expect(openssl.output).toMatch(/hostname mismatch/i);
      const certtool = await certtoolVerifyChain(server + hierarchy.issuingPem + hierarchy.rootPem, {
        hostname: "www.other.test",
      });
      expect(certtool.ok, certtool.output).toBe(false);
    });

    it("rejects a chain that ends in another root", async () => {
      const other = await createHarness("pglite");
      try {
        const otherRoot = derToPem(other.context.issuers.get("root-1").row.certificate);
        const leafPem = issuedPems.get("user-signing/p384")!;
        const openssl = await opensslVerify(otherRoot, [hierarchy.issuingPem], leafPem);
        expect(openssl.ok, openssl.output).toBe(false);
        const certtool = await certtoolVerifyChain(leafPem + hierarchy.issuingPem + otherRoot);
        expect(certtool.ok, certtool.output).toBe(false);
      } finally {
        await other.close();
      }
    });
  });
});

function pemToBase64(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
}
