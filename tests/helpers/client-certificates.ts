/**
 * Client certificates for the mTLS tests: issued through the API (as a subscriber for itself,
 * so that it is owned by a directory principal, or as the admin), and forged ones: signed by
 * our issuing CA's key but never recorded, or made under a CA of nobody's with our CA's name.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from "node:crypto";
import { ServiceError } from "../../src/errors.js";
import { encodeTbsCertificate } from "../../src/pki/certificate.js";
import { bitString, type Der, oid, sequence } from "../../src/pki/der.js";
import {
  authorityKeyIdentifier,
  basicConstraints,
  type ExtendedKeyUsage,
  extendedKeyUsage,
  type KeyUsage,
  keyIdentifier,
  keyUsage,
} from "../../src/pki/extensions.js";
import { OID } from "../../src/pki/oids.js";
import { encodePem } from "../../src/pki/pem.js";
import { buildCsrPem, nameDer } from "./csr.js";
import { bearer, type Harness } from "./harness.js";

export interface ClientCertificate {
  readonly serial: string;
  readonly der: Buffer;
  readonly certificatePem: string;
  readonly key: KeyObject;
  readonly keyPem: string;
}

const withKey = (der: Buffer, key: KeyObject, serial: string): ClientCertificate => ({
  serial,
  der,
  certificatePem: encodePem("CERTIFICATE", der),
  key,
  keyPem: key.export({ format: "pem", type: "pkcs8" }).toString(),
});

/**
 * With the admin's token (none given), issues through POST /api/v1/certificates, stating a
 * `subject`: the certificate has no owner. With a subscriber's `token`, the subscriber asks for
 * its own certificate through an enrolment request (POST /api/v1/enrollments), which the admin
 * approves when the profile waits for an RA operator: the certificate is the subscriber's
 * (owner_id set), as a civil servant gets it.
 */
export async function issueClientCertificate(
  harness: Harness,
  options: { profile: string; token?: string; commonName?: string; names?: { type: "dns"; value: string }[] },
): Promise<ClientCertificate> {
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const csr = buildCsrPem({ key });
  const names = options.names ? { subjectAltNames: options.names } : {};
  if (options.token === undefined) {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
      payload: {
        csr,
        profile: options.profile,
        subject: { orgUnit: "gov", commonName: options.commonName ?? "erp-system" },
        ...names,
      },
    });
    if (response.statusCode !== 201)
      throw new Error(`issuance answered ${response.statusCode}: ${response.body}`);
    const body = response.json() as { serial: string; certificate: string };
    return withKey(Buffer.from(new X509Certificate(body.certificate).raw), key, body.serial);
  }
  const submitted = await harness.app.inject({
    method: "POST",
    url: "/api/v1/enrollments",
    headers: bearer(options.token),
    payload: { csr, profile: options.profile, method: "csr", ...names },
  });
  if (submitted.statusCode !== 201)
    throw new Error(`enrolment answered ${submitted.statusCode}: ${submitted.body}`);
  let enrollment = submitted.json() as { id: string; status: string; certificate: { serial: string } | null };
  if (enrollment.status === "pending") {
    const approved = await harness.app.inject({
      method: "POST",
      url: `/api/v1/enrollments/${enrollment.id}/approve`,
      headers: bearer(harness.adminToken),
    });
    if (approved.statusCode !== 200)
      throw new Error(`approval answered ${approved.statusCode}: ${approved.body}`);
    enrollment = approved.json();
  }
  const serial = enrollment.certificate!.serial;
  const fetched = await harness.app.inject({
    method: "GET",
    url: `/api/v1/certificates/${serial}`,
    headers: { ...bearer(options.token), accept: "application/pkix-cert" },
  });
  if (fetched.statusCode !== 200) throw new Error(`certificate fetch answered ${fetched.statusCode}`);
  return withKey(fetched.rawPayload, key, serial);
}

export interface ForgeOptions {
  /** The issuer's Name (DER); default: our issuing CA's. */
  readonly issuerName?: Der;
  /** Signs the certificate: our issuing CA's own key (through its signer) when absent. */
  readonly foreignKey?: KeyObject;
  readonly serial?: string;
  readonly commonName?: string;
  readonly keyUsages?: readonly KeyUsage[];
  readonly extendedKeyUsages?: readonly ExtendedKeyUsage[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/** A client certificate (digitalSignature, clientAuth) that the service never recorded. */
export async function forgeClientCertificate(
  harness: Harness,
  options: ForgeOptions = {},
): Promise<ClientCertificate> {
  const issuer = harness.context.issuers.get("issuing-1");
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const spki = generateSpki(key);
  const serial = options.serial ?? `7f${randomBytes(15).toString("hex")}`;
  const now = Date.now();
  const tbs = encodeTbsCertificate({
    serial: Buffer.from(serial, "hex"),
    signatureAlgorithm: sequence(oid(OID.ecdsaWithSHA256)),
    issuer: options.issuerName ?? issuer.row.subject_der,
    notBefore: options.notBefore ?? new Date(Math.floor(now / 1000) * 1000 - 60_000),
    notAfter: options.notAfter ?? new Date(Math.floor(now / 1000) * 1000 + 86_400_000),
    subject: nameDer(options.commonName ?? "forged"),
    subjectPublicKeyInfo: spki,
    extensions: [
      basicConstraints(false),
      keyUsage(options.keyUsages ?? ["digitalSignature"]),
      extendedKeyUsage(options.extendedKeyUsages ?? ["clientAuth"]),
      authorityKeyIdentifier(
        options.foreignKey ? keyIdentifier(generateSpki(options.foreignKey)) : issuer.row.key_id,
      ),
    ],
  });
  const der = options.foreignKey
    ? sequence(
        tbs,
        sequence(oid(OID.ecdsaWithSHA256)),
        bitString(sign("sha256", tbs, { key: options.foreignKey, dsaEncoding: "der" })),
      )
    : await issuer.signer.signStructure(tbs);
  return withKey(der, key, serial);
}

/** SubjectPublicKeyInfo DER of a key pair's public half. */
const generateSpki = (key: KeyObject): Buffer => createPublicKey(key).export({ format: "der", type: "spki" });

/** RFC 8705 §3.1 x5t#S256, computed here independently of src/. */
export const thumbprint = (der: Buffer): string => createHash("sha256").update(der).digest("base64url");

/** Expects `promise` to be refused with a ClientCertificateError of `code`; returns its message. */
export async function refusal(promise: Promise<unknown>, code: string): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ServiceError))
    throw new Error(`expected a refusal with ${code}, got ${String(error)}`);
  if (error.code !== code || error.status !== 401)
    throw new Error(`expected 401 ${code}, got ${error.status} ${error.code}: ${error.message}`);
  return error.message;
}
