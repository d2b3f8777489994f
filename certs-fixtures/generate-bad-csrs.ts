/**
 * Regenerates certs-fixtures/bad-csrs/: one malformed or policy-violating PKCS#10 request
 * per file. Run with `node --import tsx certs-fixtures/generate-bad-csrs.ts`.
 *
 * Keys are fresh on every run, so the bytes differ between runs, but each file always has
 * the same single defect; certs-fixtures/README.md says what it is and which problem
 * (status and `code`) the issuance endpoint answers with, and tests/ca/bad-csrs.test.ts
 * checks exactly that.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Der,
  explicit,
  nullValue,
  octetString,
  oid,
  printableString,
  sequence,
  setOf,
  tlv,
} from "../src/pki/der.js";
import { encodeGeneralNames, type GeneralName } from "../src/pki/general-name.js";
import { OID } from "../src/pki/oids.js";
import { encodePem } from "../src/pki/pem.js";
import { buildCsrDer, type CsrOptions, generateTestKey, nameDer } from "../tests/helpers/csr.js";

export const BAD_CSR_DIRECTORY = fileURLToPath(new URL("./bad-csrs/", import.meta.url));

const pem = (der: Uint8Array, label = "CERTIFICATE REQUEST") => encodePem(label, der);

/** A subject whose only attribute value is the given raw DER element. */
const subjectWithValue = (value: Der): Der => sequence(setOf(sequence(oid(OID.commonName), value)));

/** An extensionRequest attribute (RFC 2985 §5.4.2) holding the given Extension DERs. */
const extensionRequest = (...extensions: Der[]): Der =>
  sequence(oid(OID.extensionRequest), setOf(sequence(...extensions)));

const sanExtension = (generalNames: Der): Der => sequence(oid(OID.subjectAltName), octetString(generalNames));

/** The content octets of a DER element (definite lengths only). */
function contentOf(der: Buffer): Buffer {
  const first = der[1]!;
  const header = first < 0x80 ? 2 : 2 + (first & 0x7f);
  return der.subarray(header);
}

const valid = (options: CsrOptions = {}) => buildCsrDer({ commonName: "bad-csr fixture", ...options });

/** Each fixture: its file name and how to build its bytes (text is written as UTF-8). */
export const FIXTURES: ReadonlyArray<{ file: string; build: () => Uint8Array | string }> = [
  // --- Encoding (X.690 DER, RFC 7468 PEM) ---
  { file: "truncated.der", build: () => valid().subarray(0, 150) },
  { file: "trailing-data.der", build: () => Buffer.concat([valid(), Buffer.from([0x00, 0x00])]) },
  {
    // X.690 §10.1: the definite form is required; 0x80 followed by end-of-contents is BER.
    file: "indefinite-length.der",
    build: () => Buffer.concat([Buffer.from([0x30, 0x80]), contentOf(valid()), Buffer.from([0x00, 0x00])]),
  },
  {
    // X.690 §10.1: the outer length in three octets with a leading zero octet.
    file: "non-minimal-length.der",
    build: () => {
      const content = contentOf(valid());
      const length = Buffer.alloc(2);
      length.writeUInt16BE(content.length);
      return Buffer.concat([Buffer.from([0x30, 0x83, 0x00]), length, content]);
    },
  },
  {
    // X.690 §10.1: a length below 128 in the long form (0x81 0x01) inside the request info.
    file: "non-minimal-length-short-form.der",
    build: () => valid({ versionDer: Buffer.from([0x02, 0x81, 0x01, 0x00]) }),
  },
  {
    // X.690 §8.1.2.4: tag numbers of 31 and more (0x1f …) are never used by PKCS#10.
    file: "high-tag-number.der",
    build: () => valid({ subjectDer: subjectWithValue(Buffer.from([0x1f, 0x81, 0x00, 0x01, 0x41])) }),
  },
  { file: "empty.der", build: () => Buffer.alloc(0) },
  {
    file: "garbage-armour.pem",
    build: () =>
      pem(valid()).replace(
        "-----END CERTIFICATE REQUEST-----",
        "-----END CERTIFICATE REQUEST--\n~~ garbage ~~",
      ),
  },
  {
    file: "pem-label-mismatch.pem",
    build: () => pem(valid()).replace("-----END CERTIFICATE REQUEST-----", "-----END CERTIFICATE-----"),
  },
  { file: "wrong-label-certificate.pem", build: () => pem(valid(), "CERTIFICATE") },
  {
    // RFC 7468 §3: padding only at the end; here a '=' sits inside the base64 text.
    file: "bad-base64.pem",
    build: () => {
      const text = pem(valid());
      const at = text.indexOf("\n") + 9;
      return `${text.slice(0, at)}=${text.slice(at + 1)}`;
    },
  },
  {
    file: "empty-pem-body.pem",
    build: () => "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
  },

  // --- CertificationRequestInfo structure (RFC 2986 §4.1) ---
  { file: "version-1.pem", build: () => pem(valid({ version: 1 })) },
  { file: "version-negative.der", build: () => valid({ versionDer: Buffer.from([0x02, 0x01, 0xff]) }) },
  {
    // X.690 §8.3.2: the first nine bits of an INTEGER must not all be zero.
    file: "version-non-minimal.der",
    build: () => valid({ versionDer: Buffer.from([0x02, 0x02, 0x00, 0x00]) }),
  },
  {
    file: "subject-utf8-invalid.der",
    build: () =>
      valid({ subjectDer: subjectWithValue(tlv(0x0c, Buffer.from([0x67, 0x6f, 0xc3, 0x28, 0x76]))) }),
  },
  {
    // X.680 §41.4: PrintableString has no '*', '@' or '_'.
    file: "subject-printable-illegal.der",
    build: () => valid({ subjectDer: subjectWithValue(printableString("bad*name@gov_test")) }),
  },
  {
    // 1 MiB commonName: larger than the JSON body limit (256 KiB) in either form.
    file: "subject-1mib.der",
    build: () => valid({ subjectDer: nameDer("A".repeat(1024 * 1024)) }),
  },

  // --- Signature (RFC 2986 §4.2, RFC 5758, RFC 4055, RFC 8410) ---
  { file: "bad-signature.pem", build: () => pem(valid({ corruptSignature: true })) },
  { file: "bitstring-unused-bits.der", build: () => valid({ signatureUnusedBits: 1 }) },
  {
    file: "sha1-rsa.pem",
    build: () =>
      pem(
        valid({
          key: generateTestKey("rsa2048"),
          hash: "sha1",
          signatureAlgorithmDer: sequence(oid(OID.sha1WithRSA), nullValue),
        }),
      ),
  },
  {
    file: "sha1-ecdsa.pem",
    build: () => pem(valid({ hash: "sha1", signatureAlgorithmDer: sequence(oid(OID.ecdsaWithSHA1)) })),
  },
  {
    file: "ecdsa-algorithm-rsa-key.pem",
    build: () =>
      pem(
        valid({
          key: generateTestKey("rsa2048"),
          hash: "sha256",
          signatureAlgorithmDer: sequence(oid(OID.ecdsaWithSHA256)),
        }),
      ),
  },
  {
    file: "unknown-signature-algorithm.pem",
    build: () => pem(valid({ signatureAlgorithmDer: sequence(oid("1.3.6.1.4.1.55555.1.2")) })),
  },
  {
    // RFC 5758 §3.2: ecdsa-with-SHA256 has absent parameters, not NULL.
    file: "ecdsa-null-parameters.der",
    build: () => valid({ signatureAlgorithmDer: sequence(oid(OID.ecdsaWithSHA256), nullValue) }),
  },
  {
    // RFC 4055 §3.1: empty RSASSA-PSS-params mean SHA-1 and MGF1-SHA-1.
    file: "pss-sha1-defaults.pem",
    build: () =>
      pem(
        valid({
          key: generateTestKey("rsa2048"),
          hash: "sha1",
          signatureAlgorithmDer: sequence(oid(OID.rsassaPss), sequence()),
        }),
      ),
  },

  // --- Key policy ---
  { file: "rsa-1024.pem", build: () => pem(valid({ key: generateTestKey("rsa1024") })) },
  {
    file: "rsa-exponent-3.pem",
    build: () => pem(valid({ key: generateTestKey("rsa2048", { publicExponent: 3 }) })),
  },
  { file: "secp256k1.pem", build: () => pem(valid({ key: generateTestKey("secp256k1") })) },
  { file: "p521.pem", build: () => pem(valid({ key: generateTestKey("p521") })) },
  { file: "ed448.pem", build: () => pem(valid({ key: generateTestKey("ed448") })) },
  {
    file: "ed448-key-ed25519-algorithm.pem",
    build: () =>
      pem(
        valid({
          key: generateTestKey("ed448"),
          hash: null,
          signatureAlgorithmDer: sequence(oid(OID.ed25519)),
        }),
      ),
  },

  // --- Requested extensions (RFC 2985 §5.4.2, RFC 5280 §4.2.1.6) ---
  {
    // 10,000 dNSNames: the request (~110 KB) is larger than the 64 KiB accepted for a CSR.
    file: "san-10000-dns.der",
    build: () =>
      valid({
        names: Array.from({ length: 10_000 }, (_, i): GeneralName => ({ type: "dns", value: `h${i}.gov` })),
      }),
  },
  {
    // 10,000 iPAddresses fit in 64 KiB, so the count limit (100) is what refuses them.
    file: "san-10000-ip.der",
    build: () =>
      valid({
        names: Array.from(
          { length: 10_000 },
          (_, i): GeneralName => ({ type: "ip", value: `10.0.${i >> 8}.${i & 0xff}` }),
        ),
      }),
  },
  {
    file: "duplicate-san-extension.pem",
    build: () => {
      const names = encodeGeneralNames([{ type: "dns", value: "ok.gov.test" }]);
      return pem(valid({ extraAttributes: [extensionRequest(sanExtension(names), sanExtension(names))] }));
    },
  },
  {
    // otherName ::= [0] SEQUENCE { type-id OID, value [0] EXPLICIT ANY } (here a UPN, MS-WCCE).
    file: "san-othername.pem",
    build: () => {
      const otherName = tlv(
        0xa0,
        oid("1.3.6.1.4.1.311.20.2.3"),
        explicit(0, tlv(0x0c, Buffer.from("admin@gov.test"))),
      );
      return pem(valid({ extraAttributes: [extensionRequest(sanExtension(sequence(otherName)))] }));
    },
  },
  { file: "san-dns-space.pem", build: () => pem(valid({ names: [{ type: "dns", value: "exa mple.gov" }] })) },
  {
    file: "san-dns-leading-hyphen.pem",
    build: () => pem(valid({ names: [{ type: "dns", value: "-bad.gov" }] })),
  },
];

export async function generate(directory = BAD_CSR_DIRECTORY): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  for (const stale of await readdir(directory))
    if (/\.(der|pem)$/.test(stale)) await rm(join(directory, stale));
  for (const { file, build } of FIXTURES) await writeFile(join(directory, file), build());
  return FIXTURES.map(({ file }) => file);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await generate();
  console.log(`wrote ${files.length} fixtures to ${BAD_CSR_DIRECTORY}`);
}
