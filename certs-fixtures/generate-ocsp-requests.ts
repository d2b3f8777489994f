/**
 * Regenerates certs-fixtures/ocsp-requests/: one bad OCSPRequest (RFC 6960 §4.1.1) per file.
 * Run with `node --import tsx certs-fixtures/generate-ocsp-requests.ts`.
 *
 * The requests name an issuer by fixed made-up hashes, so the bytes are the same on every
 * run. certs-fixtures/README.md says what is wrong with each and which OCSP status the
 * responder answers (malformedRequest, or unauthorized for a well-formed request it will not
 * answer), and tests/revocation/ocsp-requests.test.ts checks exactly that.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  boolean,
  type Der,
  explicit,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  tlv,
} from "../src/pki/der.js";
import { OID } from "../src/pki/oids.js";

export const OCSP_REQUEST_DIRECTORY = fileURLToPath(new URL("./ocsp-requests/", import.meta.url));

const NAME_HASH_SHA1 = Buffer.alloc(20, 0x11);
const KEY_HASH_SHA1 = Buffer.alloc(20, 0x22);
const SERIAL = Buffer.from("30bc3214beddbdecc5f07f19078d0afd", "hex");
const sha1 = sequence(oid(OID.sha1), nullValue);

const certId = (fields: { algorithm?: Der; nameHash?: Buffer; keyHash?: Buffer; serial?: Der } = {}): Der =>
  sequence(
    fields.algorithm ?? sha1,
    octetString(fields.nameHash ?? NAME_HASH_SHA1),
    octetString(fields.keyHash ?? KEY_HASH_SHA1),
    fields.serial ?? tlv(0x02, SERIAL),
  );

const request = (...certIds: Der[]): Der => sequence(...certIds.map((id) => sequence(id)));
const extension = (id: string, value: Uint8Array, critical?: boolean): Der =>
  critical === undefined
    ? sequence(oid(id), octetString(value))
    : sequence(oid(id), boolean(critical), octetString(value));
const tbs = (list: Der, ...rest: Der[]): Der => sequence(list, ...rest);
const ocspRequest = (tbsRequest: Der, ...rest: Der[]): Der => sequence(tbsRequest, ...rest);
const withExtensions = (...extensions: Der[]): Der =>
  ocspRequest(tbs(request(certId()), explicit(2, sequence(...extensions))));
const nonce = (bytes: Buffer) => extension(OID.ocspNonce, octetString(bytes));

const VALID = ocspRequest(tbs(request(certId())));

/** Replaces the outer SEQUENCE's short-form length with an equivalent long form. */
function nonMinimalLength(der: Buffer): Buffer {
  if (der[1]! >= 0x80) throw new Error("expected a short-form length");
  return Buffer.concat([Buffer.from([0x30, 0x81, der[1]!]), der.subarray(2)]);
}

/** The outer SEQUENCE in BER indefinite length, closed by end-of-contents. */
const indefinite = (der: Buffer): Buffer =>
  Buffer.concat([Buffer.from([0x30, 0x80]), der.subarray(2), Buffer.from([0, 0])]);

export const OCSP_REQUESTS: Record<string, Uint8Array> = {
  "empty.der": Buffer.alloc(0),
  "http-text.der": Buffer.from("GET /ocsp HTTP/1.1\r\n\r\n", "latin1"),
  "truncated.der": VALID.subarray(0, 40),
  "trailing-data.der": Buffer.concat([VALID, Buffer.from([0, 0])]),
  "indefinite-length.der": indefinite(VALID),
  "non-minimal-length.der": nonMinimalLength(VALID),
  "high-tag-number.der": Buffer.from([0x1f, 0x81, 0x00, 0x00]),
  "empty-request-list.der": ocspRequest(tbs(sequence())),
  "eleven-cert-ids.der": ocspRequest(tbs(request(...Array.from({ length: 11 }, () => certId())))),
  "oversized-requestor-name.der": ocspRequest(
    sequence(
      explicit(
        1,
        explicit(4, sequence(tlv(0x31, sequence(oid(OID.commonName), tlv(0x0c, Buffer.alloc(9000, 0x61)))))),
      ),
      request(certId()),
    ),
  ),
  "version-explicit-v1.der": ocspRequest(tbs(explicit(0, integer(0)), request(certId()))),
  "extra-tbs-field.der": ocspRequest(tbs(request(certId()), integer(7))),
  "cert-id-without-serial.der": ocspRequest(
    tbs(sequence(sequence(sequence(sha1, octetString(NAME_HASH_SHA1), octetString(KEY_HASH_SHA1))))),
  ),
  "serial-non-minimal.der": ocspRequest(
    tbs(request(certId({ serial: tlv(0x02, Buffer.from([0x00, 0x01])) }))),
  ),
  "hash-length-mismatch.der": ocspRequest(
    tbs(request(certId({ nameHash: Buffer.alloc(32, 0x11), keyHash: Buffer.alloc(32, 0x22) }))),
  ),
  "md5-cert-id.der": ocspRequest(
    tbs(
      request(
        certId({
          algorithm: sequence(oid("1.2.840.113549.2.5"), nullValue),
          nameHash: Buffer.alloc(16),
          keyHash: Buffer.alloc(16),
        }),
      ),
    ),
  ),
  "hash-parameters-not-null.der": ocspRequest(
    tbs(request(certId({ algorithm: sequence(oid(OID.sha1), octetString(Buffer.alloc(2))) }))),
  ),
  "nonce-empty.der": withExtensions(nonce(Buffer.alloc(0))),
  "nonce-33-octets.der": withExtensions(nonce(Buffer.alloc(33, 0x5a))),
  "nonce-not-octet-string.der": withExtensions(extension(OID.ocspNonce, Buffer.alloc(16, 0x5a))),
  "nonce-twice.der": withExtensions(nonce(Buffer.alloc(16, 0x01)), nonce(Buffer.alloc(16, 0x02))),
  "critical-unknown-extension.der": withExtensions(
    extension("1.3.6.1.4.1.55555.9", Buffer.from([5, 0]), true),
  ),
  "critical-false-encoded.der": withExtensions(
    extension(OID.ocspNonce, octetString(Buffer.alloc(16, 0x5a)), false),
  ),
  "signature-not-bit-string.der": ocspRequest(
    tbs(request(certId())),
    explicit(0, sequence(sequence(oid(OID.ecdsaWithSHA256)), octetString(Buffer.alloc(64)))),
  ),
  // Well-formed, but nothing this service answers for (RFC 6960 §2.3 unauthorized):
  "sha384-cert-id.der": ocspRequest(
    tbs(
      request(
        certId({
          algorithm: sequence(oid(OID.sha384), nullValue),
          nameHash: Buffer.alloc(48, 0x11),
          keyHash: Buffer.alloc(48, 0x22),
        }),
      ),
    ),
  ),
  "other-issuer.der": VALID,
};

async function main(): Promise<void> {
  await mkdir(OCSP_REQUEST_DIRECTORY, { recursive: true });
  for (const file of await readdir(OCSP_REQUEST_DIRECTORY))
    if (!(file in OCSP_REQUESTS)) await rm(join(OCSP_REQUEST_DIRECTORY, file));
  for (const [file, bytes] of Object.entries(OCSP_REQUESTS))
    await writeFile(join(OCSP_REQUEST_DIRECTORY, file), bytes);
  console.log(`wrote ${Object.keys(OCSP_REQUESTS).length} requests to ${OCSP_REQUEST_DIRECTORY}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
