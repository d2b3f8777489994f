/**
 * Bad OCSP requests (RFC 6960 §4.1.1): every file in certs-fixtures/ocsp-requests/ posted and
 * sent by GET on both engines, with the OCSP status its README row names; the strict parser's
 * exact errors; and fast-check properties (fixed seed) that random bytes, mutated valid
 * requests and random DER structures always get a well-formed OCSPResponse (RFC 6960 §2.3):
 * HTTP 200, application/ocsp-response, never a 5xx, a problem document or a crash. The
 * fuzzing runs on PGlite only: it is about the parser and the HTTP layer, not storage.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Der, explicit, nullValue, octetString, oid, sequence, tlv } from "../../src/pki/der.js";
import { OID } from "../../src/pki/oids.js";
import { encodeCertId, issuerHashes } from "../../src/revocation/ocsp/cert-id.js";
import { MAX_REQUEST_BYTES, OcspRequestError, parseOcspRequest } from "../../src/revocation/ocsp/request.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";
import { parseOcspResponse } from "../helpers/ocsp.js";

const FIXTURES = fileURLToPath(new URL("../../certs-fixtures/", import.meta.url));
const DIRECTORY = join(FIXTURES, "ocsp-requests");
const STATUS = { malformedRequest: 1, unauthorized: 6 } as const;

interface Fixture {
  readonly file: string;
  readonly status: keyof typeof STATUS;
  readonly detail: string | undefined;
}

/** The rows of the `ocsp-requests/` table of certs-fixtures/README.md. */
function readFixtures(): Fixture[] {
  const fixtures: Fixture[] = [];
  let inSection = false;
  for (const line of readFileSync(join(FIXTURES, "README.md"), "utf8").split("\n")) {
    if (line.startsWith("## ")) inSection = line.trim() === "## `ocsp-requests/`";
    if (!inSection || !line.trim().startsWith("|")) continue;
    const cells = line
      .trim()
      .slice(1, -1)
      .split("|")
      .map((cell) => cell.trim());
    const file = /^\[`([^`]+)`\]\(ocsp-requests\/([^)]+)\)$/.exec(cells[0] ?? "");
    if (!file) continue;
    const fail = (why: string) => new Error(`certs-fixtures/README.md, row ${file[1]}: ${why}`);
    if (file[1] !== file[2]) throw fail("the link names another file");
    if (cells.length !== 4) throw fail(`${cells.length} cells, expected 4`);
    const status = cells[2] as keyof typeof STATUS;
    if (!(status in STATUS)) throw fail(`OCSP status "${cells[2]}"`);
    const detail = /^`([^`]+)`$/.exec(cells[3]!)?.[1];
    if (status === "malformedRequest" ? !detail : cells[3] !== "n/a")
      throw fail("malformedRequest rows quote a parser detail, unauthorized rows say n/a");
    fixtures.push({ file: file[1]!, status, detail });
  }
  return fixtures;
}

const FIXTURE_ROWS = readFixtures();

describe("certs-fixtures/README.md, ocsp-requests/", () => {
  it("has exactly one row per request file, at least 15 of them", () => {
    const files = readdirSync(DIRECTORY).sort();
    expect(FIXTURE_ROWS.map((row) => row.file).sort()).toEqual(files);
    expect(FIXTURE_ROWS.filter((row) => row.status === "malformedRequest").length).toBeGreaterThanOrEqual(15);
  });

  it.each(FIXTURE_ROWS.map((row) => [row.file, row] as const))("parseOcspRequest on %s", (_name, row) => {
    const bytes = readFileSync(join(DIRECTORY, row.file));
    if (row.status === "unauthorized") {
      expect(() => parseOcspRequest(bytes)).not.toThrow();
      return;
    }
    expect(() => parseOcspRequest(bytes)).toThrow(OcspRequestError);
    expect(() => parseOcspRequest(bytes)).toThrow(row.detail);
  });
});

describe("parseOcspRequest (RFC 6960 §4.1.1) at its limits", () => {
  const hashes = { name: Buffer.alloc(20, 1), key: Buffer.alloc(20, 2) };
  const certId = (serial: Der, algorithm: Der = sequence(oid(OID.sha1), nullValue)) =>
    sequence(algorithm, octetString(hashes.name), octetString(hashes.key), serial);
  const request = (ids: Der[], ...extensions: Der[]) =>
    sequence(
      sequence(
        sequence(...ids.map((id) => sequence(id))),
        ...(extensions.length ? [explicit(2, sequence(...extensions))] : []),
      ),
    );
  const nonceExtension = (bytes: Buffer, critical = false) =>
    sequence(
      oid(OID.ocspNonce),
      ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []),
      octetString(octetString(bytes)),
    );

  it("accepts nonces of 1 and 32 octets (RFC 8954 §2.1), critical or not", () => {
    for (const size of [1, 32])
      expect(
        parseOcspRequest(
          request([certId(tlv(0x02, Buffer.from([1])))], nonceExtension(Buffer.alloc(size, 9))),
        ).nonce,
      ).toEqual(Buffer.alloc(size, 9));
    expect(
      parseOcspRequest(request([certId(tlv(0x02, Buffer.from([1])))], nonceExtension(Buffer.alloc(8), true)))
        .nonce,
    ).toEqual(Buffer.alloc(8));
  });

  it("accepts 10 CertIDs and digest parameters absent or NULL (RFC 5754 §2)", () => {
    const ids = Array.from({ length: 10 }, (_, i) => certId(tlv(0x02, Buffer.from([i + 1]))));
    expect(parseOcspRequest(request(ids)).certIds.map((id) => id.serial)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i + 1).toString(16).padStart(2, "0")),
    );
    expect(
      parseOcspRequest(request([certId(tlv(0x02, Buffer.from([5])), sequence(oid(OID.sha1)))])).certIds[0]!
        .hash,
    ).toBe("sha1");
  });

  it("keeps serials that cannot be ours (negative, over 20 octets) as unknown rather than malformed", () => {
    const negative = parseOcspRequest(request([certId(tlv(0x02, Buffer.from([0xff, 0x01])))])).certIds[0]!;
    expect(negative.serial).toBeUndefined();
    const long = parseOcspRequest(request([certId(tlv(0x02, Buffer.alloc(21, 0x11)))])).certIds[0]!;
    expect(long.serial).toBeUndefined();
    const padded = parseOcspRequest(request([certId(tlv(0x02, Buffer.from([0x00, 0x80])))])).certIds[0]!;
    expect(padded.serial).toBe("80");
  });

  it("checks a signed request's structure but does not require or verify the signature (RFC 6960 §4.1.2)", () => {
    const tbs = sequence(sequence(sequence(certId(tlv(0x02, Buffer.from([1]))))));
    const signed = sequence(
      tbs,
      explicit(0, sequence(sequence(oid(OID.ecdsaWithSHA256)), tlv(0x03, Buffer.from([0, 1, 2, 3])))),
    );
    expect(parseOcspRequest(signed).certIds).toHaveLength(1);
    expect(() => parseOcspRequest(Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x30))).toThrow(
      `the request has ${MAX_REQUEST_BYTES + 1} bytes; at most ${MAX_REQUEST_BYTES} are accepted`,
    );
  });
});

/** The answer must be a well-formed OCSPResponse over HTTP 200, whatever was sent. */
function expectOcspAnswer(response: LightMyRequestResponse, what: string): number {
  expect(response.statusCode, `${what}: ${response.body.slice(0, 300)}`).toBe(200);
  expect(response.headers["content-type"], what).toBe("application/ocsp-response");
  const parsed = parseOcspResponse(response.rawPayload);
  expect([0, 1, 6], what).toContain(parsed.status);
  if (parsed.status !== 0) expect(response.headers["cache-control"], what).toBe("no-store");
  return parsed.status;
}

describe.each(ENGINES)("bad OCSP requests over HTTP on %s", (engine) => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await createHarness(engine);
  });
  afterAll(async () => harness?.close());

  it.each(FIXTURE_ROWS.map((row) => [row.file, row] as const))("%s", async (name, row) => {
    const bytes = readFileSync(join(DIRECTORY, row.file));
    const posted = await harness.app.inject({
      method: "POST",
      url: "/ocsp/issuing-1",
      headers: { "content-type": "application/ocsp-request" },
      payload: bytes,
    });
    expect(expectOcspAnswer(posted, `POST ${name}`)).toBe(STATUS[row.status]);
    if (bytes.length === 0) return; // an empty GET path is another route (see below)
    for (const path of [encodeURIComponent(bytes.toString("base64")), bytes.toString("base64")]) {
      const got = await harness.app.inject({ method: "GET", url: `/ocsp/issuing-1/${path}` });
      expect(expectOcspAnswer(got, `GET ${name}`)).toBe(STATUS[row.status]);
    }
  });

  it("answers malformedRequest to GETs that are not base64 or not percent-decodable, and to bodies over 8 KiB", async () => {
    for (const path of ["", "!!!", "abc%zz", "%E0%A4%A", "MFQw=Ug", "a b c", "..%2F..%2Fetc%2Fpasswd"]) {
      const response = await harness.app.inject({ method: "GET", url: `/ocsp/issuing-1/${path}` });
      expect(expectOcspAnswer(response, `GET ${path}`), path).toBe(STATUS.malformedRequest);
    }
    const large = await harness.app.inject({
      method: "POST",
      url: "/ocsp/issuing-1",
      headers: { "content-type": "application/ocsp-request" },
      payload: Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x30),
    });
    expect(expectOcspAnswer(large, "POST over 8 KiB")).toBe(STATUS.malformedRequest);
    const noBody = await harness.app.inject({ method: "POST", url: "/ocsp/issuing-1" });
    expect(expectOcspAnswer(noBody, "POST without body")).toBe(STATUS.malformedRequest);
    const json = await harness.app.inject({
      method: "POST",
      url: "/ocsp/issuing-1",
      headers: { "content-type": "application/json" },
      payload: "{}",
    });
    expect(expectOcspAnswer(json, "POST of JSON")).toBe(STATUS.malformedRequest);
  });
});

describe("OCSP request fuzzing over HTTP (PGlite only, for speed)", () => {
  const SEED = 0x0c5b_f22;
  const RUNS = 300;
  let harness: Harness;
  let valid: Buffer;
  let validWithNonce: Buffer;

  beforeAll(async () => {
    harness = await createHarness("pglite");
    const issued = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(harness.adminToken), accept: "application/json" },
      payload: {
        csr: buildCsrPem({ key: generateTestKey("p256"), names: [{ type: "dns", value: "fuzz.gov.test" }] }),
        profile: "tls-server",
        subject: { orgUnit: "gov" },
      },
    });
    const hashes = issuerHashes(harness.context.issuers.get("issuing-1").row.certificate);
    const certId = encodeCertId(hashes.sha1, issued.json().serial);
    valid = sequence(sequence(sequence(sequence(certId))));
    const nonce = sequence(oid(OID.ocspNonce), octetString(octetString(Buffer.alloc(16, 7))));
    validWithNonce = sequence(sequence(sequence(sequence(certId)), explicit(2, sequence(nonce))));
    for (const request of [valid, validWithNonce]) {
      const response = await post(request);
      expect(expectOcspAnswer(response, "the valid base request")).toBe(0);
      expect(parseOcspResponse(response.rawPayload).basic!.responses[0]!.status).toBe("good");
    }
  });
  afterAll(async () => harness?.close());

  const post = (payload: Uint8Array) =>
    harness.app.inject({
      method: "POST",
      url: "/ocsp/issuing-1",
      headers: { "content-type": "application/ocsp-request" },
      payload: Buffer.from(payload),
    });
  const get = (payload: Uint8Array, encode: boolean, urlSafe: boolean) => {
    const base64 = Buffer.from(payload).toString(urlSafe ? "base64url" : "base64");
    return harness.app.inject({
      method: "GET",
      url: `/ocsp/issuing-1/${encode ? encodeURIComponent(base64) : base64}`,
    });
  };

  const sendEveryWay = async (bytes: Uint8Array) => {
    expectOcspAnswer(await post(bytes), "POST");
    if (bytes.length > 0 && bytes.length <= MAX_REQUEST_BYTES) {
      expectOcspAnswer(await get(bytes, true, false), "GET percent-encoded");
      expectOcspAnswer(await get(bytes, false, false), "GET raw base64");
      expectOcspAnswer(await get(bytes, false, true), "GET base64url");
    }
    // The parser itself throws nothing but OcspRequestError.
    try {
      parseOcspRequest(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(OcspRequestError);
    }
  };

  it("random bytes: always an OCSPResponse", async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 300 }), sendEveryWay), {
      seed: SEED,
      numRuns: RUNS,
    });
  });

  it("mutated valid requests (flipped, inserted, deleted, truncated bytes): always an OCSPResponse", async () => {
    const mutation = fc.record({
      base: fc.constantFrom("plain", "nonce"),
      edits: fc.array(
        fc.record({
          kind: fc.constantFrom("flip", "insert", "delete", "truncate"),
          at: fc.nat(),
          byte: fc.integer({ min: 0, max: 255 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ base, edits }) => {
        let bytes = Buffer.from(base === "plain" ? valid : validWithNonce);
        for (const edit of edits) {
          const at = bytes.length ? edit.at % bytes.length : 0;
          if (edit.kind === "flip") bytes[at] = bytes[at]! ^ (edit.byte || 1);
          else if (edit.kind === "insert")
            bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([edit.byte]), bytes.subarray(at)]);
          else if (edit.kind === "delete")
            bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
          else bytes = bytes.subarray(0, at);
        }
        await sendEveryWay(bytes);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("requests assembled from random DER structures: always an OCSPResponse", async () => {
    const { element } = fc.letrec<{ element: Der }>((tie) => ({
      element: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.uint8Array({ maxLength: 40 }).map((bytes) => octetString(bytes)),
        fc.uint8Array({ minLength: 1, maxLength: 21 }).map((bytes) => tlv(0x02, bytes)),
        fc.constantFrom(oid(OID.sha1), oid(OID.sha256), oid(OID.sha384), oid(OID.ocspNonce), nullValue),
        fc.array(tie("element"), { maxLength: 5 }).map((items) => sequence(...items)),
        fc.tuple(fc.integer({ min: 0, max: 3 }), tie("element")).map(([tag, inner]) => explicit(tag, inner)),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(element, async (der) => sendEveryWay(sequence(sequence(der)))),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
