/**
 * Property tests (fast-check, fixed seed) for the CSR parser and the issuance endpoint:
 * random bytes, mutated valid requests, requests assembled from random DER structures and
 * random JSON bodies never produce a 5xx, and parseCsr throws nothing but a 400 ServiceError
 * and accepts nothing that is not DER throughout. An input that is still valid may be issued
 * (201); then exactly one certificate and one audit record more exist, and the certificate is
 * DER. The base request is Ed25519 with a fixed key, so its bytes (and every run) are
 * reproducible. Inputs that once failed are kept in certs-fixtures/fuzz-regressions/.
 * The HTTP properties run on PGlite only: they are about the parser and the HTTP layer.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign } from "node:crypto";
import fc from "fast-check";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ParsedCsr, parseCsr } from "../../src/ca/csr.js";
import { ServiceError } from "../../src/errors.js";
import {
  bitString,
  type Der,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  setOf,
  tlv,
} from "../../src/pki/der.js";
import { children, decode, type Element } from "../../src/pki/der-reader.js";
import { encodeGeneralNames } from "../../src/pki/general-name.js";
import { OID } from "../../src/pki/oids.js";
import { decodePem, encodePem } from "../../src/pki/pem.js";
import { buildCsrDer, nameDer } from "../helpers/csr.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

const SEED = 0x5eed_c5a;
const HTTP_RUNS = 300;
const UNIT_RUNS = 1000;

/** Ed25519 signatures are deterministic, so a key from a fixed seed gives fixed CSR bytes. */
const FIXED_KEY: KeyObject = createPrivateKey({
  key: Buffer.concat([
    Buffer.from("302e020100300506032b657004220420", "hex"), // PKCS#8 prefix for Ed25519 (RFC 8410 §7)
    Buffer.alloc(32, 0x42),
  ]),
  format: "der",
  type: "pkcs8",
});

const BASE_DER = buildCsrDer({
  key: FIXED_KEY,
  commonName: "fuzz",
  names: [{ type: "dns", value: "ok.gov.test" }],
});
const BASE_PEM = encodePem("CERTIFICATE REQUEST", BASE_DER);

/** A body that issues BASE_* (tls-client takes Ed25519 keys and needs a stated commonName). */
const issueBody = (csr: string) => ({
  csr,
  profile: "tls-client",
  subject: { orgUnit: "gov", commonName: "fuzz.gov.test" },
  subjectAltNames: [{ type: "dns", value: "ok.gov.test" }],
});

// ---------------------------------------------------------------------------------------
// Arbitraries

type Mutation =
  | { kind: "set"; at: number; value: number }
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number };

/** Bytes that mean something in DER headers, mixed with any byte. */
const interestingByte = fc.oneof(
  fc.constantFrom(
    0x00,
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x1f,
    0x30,
    0x31,
    0x7f,
    0x80,
    0x81,
    0x82,
    0x84,
    0x85,
    0xa0,
    0xff,
  ),
  fc.integer({ min: 0, max: 255 }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: interestingByte }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

function mutate(base: Buffer, list: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(base);
  for (const m of list) {
    const at = m.at % (bytes.length + 1);
    switch (m.kind) {
      case "set":
        if (at < bytes.length) bytes[at] = m.value;
        break;
      case "flip":
        if (at < bytes.length) bytes[at]! ^= 1 << m.bit;
        break;
      case "truncate":
        bytes = bytes.subarray(0, at);
        break;
      case "insert":
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case "delete":
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
    }
  }
  return bytes;
}

/** PEM text with characters replaced, removed or inserted (from the base64 and armour alphabets). */
const pemMutation = fc.array(
  fc.record({
    at: fc.nat(),
    remove: fc.integer({ min: 0, max: 3 }),
    insert: fc.string({
      unit: fc.constantFrom("A", "z", "0", "+", "/", "=", "-", " ", "\n", "\r", "\t", "!", "é", "\u0000"),
      maxLength: 3,
    }),
  }),
  { minLength: 1, maxLength: 3 },
);

function mutatePem(text: string, edits: readonly { at: number; remove: number; insert: string }[]): string {
  let result = text;
  for (const edit of edits) {
    const at = edit.at % (result.length + 1);
    result = result.slice(0, at) + edit.insert + result.slice(at + edit.remove);
  }
  return result;
}

const SIGNATURE_OIDS = [
  OID.ecdsaWithSHA256,
  OID.ecdsaWithSHA384,
  OID.ecdsaWithSHA512,
  OID.sha256WithRSA,
  OID.sha384WithRSA,
  OID.sha512WithRSA,
  OID.sha1WithRSA,
  OID.ecdsaWithSHA1,
  OID.rsassaPss,
  OID.ed25519,
  "1.3.101.113",
];
const SOME_OIDS = [
  ...SIGNATURE_OIDS,
  OID.sha256,
  OID.sha384,
  OID.sha512,
  OID.sha1,
  OID.mgf1,
  OID.extensionRequest,
  OID.subjectAltName,
  OID.commonName,
  OID.countryName,
  OID.ecPublicKey,
  OID.p256,
  OID.rsaEncryption,
];

/** Random DER trees: known OIDs, small primitives of the usual tags, and nested structures. */
const { tree: derTree } = fc.letrec<{ tree: Der; primitive: Der; constructed: Der }>((tie) => ({
  tree: fc.oneof({ depthSize: "small", withCrossShrink: true }, tie("primitive"), tie("constructed")),
  primitive: fc.oneof(
    fc.constantFrom(...SOME_OIDS).map((dotted) => oid(dotted)),
    fc.constantFrom(nullValue, integer(0), integer(1), integer(2), integer(20), integer(65537)),
    fc
      .tuple(
        fc.constantFrom(
          0x01,
          0x02,
          0x03,
          0x04,
          0x05,
          0x06,
          0x0c,
          0x13,
          0x16,
          0x1e,
          0x80,
          0x81,
          0x82,
          0x86,
          0x87,
        ),
        fc.uint8Array({ maxLength: 12 }),
      )
      .map(([tag, content]) => tlv(tag, content)),
  ),
  constructed: fc
    .tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa1, 0xa2, 0xa3), fc.array(tie("tree"), { maxLength: 4 }))
    .map(([tag, items]) => tlv(tag, ...items)),
}));

/** AlgorithmIdentifiers: known OIDs with random parameters, and RSASSA-PSS-params-like shapes. */
const algorithmIdentifier = fc.oneof(
  fc
    .tuple(fc.constantFrom(...SIGNATURE_OIDS), fc.array(derTree, { maxLength: 2 }))
    .map(([dotted, params]) => sequence(oid(dotted), ...params)),
  fc
    .array(
      fc
        .tuple(fc.constantFrom(0xa0, 0xa1, 0xa2, 0xa3), fc.array(derTree, { maxLength: 2 }))
        .map(([tag, inner]) => tlv(tag, ...inner)),
      { maxLength: 4 },
    )
    .map((fields) => sequence(oid(OID.rsassaPss), sequence(...fields))),
);

const VALID_SPKI = createPublicKey(FIXED_KEY).export({ format: "der", type: "spki" });

/**
 * `der` with the header of its `target`-th element (pre-order) in a BER form DER forbids
 * (X.690 §10.1): a non-minimal long-form length, or for a constructed element the indefinite
 * length. Lenient decoders (OpenSSL's among them) accept both.
 */
function berVariant(der: Buffer, target: number, indefinite: boolean): Buffer {
  let index = 0;
  const rewrite = (element: Element): Buffer => {
    const here = index++;
    const constructed = (element.tag & 0x20) !== 0;
    const content = constructed ? Buffer.concat(children(element).map(rewrite)) : element.content;
    if (here !== target) return tlv(element.tag, content);
    if (indefinite && constructed)
      return Buffer.concat([Buffer.from([element.tag, 0x80]), content, Buffer.from([0x00, 0x00])]);
    return Buffer.concat([
      Buffer.from([element.tag, 0x82, content.length >> 8, content.length & 0xff]),
      content,
    ]);
  };
  return rewrite(decode(der));
}

/** Every constructed element, at any depth, decodes strictly (DER lengths, no trailing data). */
function expectStrictDer(element: Element): void {
  if ((element.tag & 0x20) !== 0) for (const child of children(element)) expectStrictDer(child);
}
const VALID_SAN_ATTRIBUTE = sequence(
  oid(OID.extensionRequest),
  setOf(
    sequence(
      sequence(
        oid(OID.subjectAltName),
        octetString(encodeGeneralNames([{ type: "dns", value: "ok.gov.test" }])),
      ),
    ),
  ),
);

/** Mostly the valid part, sometimes a random one: deep defects need the rest to be valid. */
const mostly = <T>(valid: T, random: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(valid) }, { weight: 1, arbitrary: random });

/** Whole requests assembled from valid and random parts, signed by the fixed key. */
const structuredCsr = fc
  .record({
    version: mostly(integer(0), derTree),
    subject: mostly(nameDer("fuzz"), derTree),
    spki: fc.oneof(
      fc.constant(VALID_SPKI as Der),
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.integer({ min: 0, max: 3 }), fc.boolean())
          .map(([target, indefinite]) => berVariant(VALID_SPKI, target, indefinite)),
      },
      derTree,
    ),
    attributes: mostly(
      [VALID_SAN_ATTRIBUTE],
      fc.oneof(
        fc.array(derTree, { maxLength: 2 }),
        derTree.map((values) => [sequence(oid(OID.extensionRequest), setOf(values))]),
        fc
          .array(derTree, { maxLength: 3 })
          .map((extensions) => [sequence(oid(OID.extensionRequest), setOf(sequence(...extensions)))]),
        derTree.map((names) => [
          sequence(
            oid(OID.extensionRequest),
            setOf(sequence(sequence(oid(OID.subjectAltName), octetString(names)))),
          ),
        ]),
      ),
    ),
    algorithm: mostly(sequence(oid(OID.ed25519)), fc.oneof(algorithmIdentifier, derTree)),
    signatureField: mostly<Der | undefined>(undefined, derTree),
  })
  .map(({ version, subject, spki, attributes, algorithm, signatureField }) => {
    const info = sequence(version, subject, spki, implicit(0, Buffer.concat(attributes), true));
    return sequence(info, algorithm, signatureField ?? bitString(sign(null, info, FIXED_KEY)));
  });

/** JSON of any shape, for fields of the wrong type and unknown fields. */
const anyJson = fc.jsonValue({ maxDepth: 2 });
/** Any code point, with extra weight on those that trouble storage: NUL, C1, lone surrogates. */
const text = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
    fc.constantFrom("\u0000", "\u0007", "\u009f", "\ud800", "\udfff", "\u202e", "\ufffe", "\\", '"'),
  ),
  maxLength: 40,
});

/** An issuance body whose every field is mostly valid and otherwise random, plus unknown fields. */
const randomIssueBody = fc
  .tuple(
    fc.record({
      csr: fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom(BASE_PEM, BASE_DER.toString("base64"), BASE_DER.toString("base64url")),
        },
        text,
        anyJson,
      ),
      profile: mostly<unknown>(
        "tls-client",
        fc.oneof(fc.constantFrom("tls-server", "user-signing", "ocsp-signer", "nope"), text, anyJson),
      ),
      subject: fc.oneof(
        {
          weight: 5,
          arbitrary: fc.record(
            {
              orgUnit: mostly<unknown>("gov", fc.oneof(fc.constantFrom("gov/none", "GOV"), text, anyJson)),
              commonName: fc.oneof(fc.constant("fuzz.gov.test"), text, anyJson),
              serialNumber: fc.oneof(fc.constantFrom("12345", "A B"), text, anyJson),
            },
            { requiredKeys: ["orgUnit", "commonName"] },
          ),
        },
        anyJson,
      ),
      subjectAltNames: mostly<unknown>(
        [{ type: "dns", value: "ok.gov.test" }],
        fc.oneof(
          fc.array(
            fc.record(
              {
                type: fc.oneof(fc.constantFrom("dns", "ip", "email", "uri", "otherName"), anyJson),
                value: fc.oneof(
                  fc.constantFrom("ok.gov.test", "10.0.0.1", "::1", "a@gov.test", "https://gov.test/x"),
                  text,
                  anyJson,
                ),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 4 },
          ),
          anyJson,
        ),
      ),
    }),
    mostly<Record<string, unknown>>(
      {},
      fc.record({ issuer: fc.oneof(fc.constantFrom("root-1", "issuing-1", "nope"), text, anyJson) }),
    ),
    mostly<Record<string, unknown>>({}, fc.dictionary(text, anyJson, { minKeys: 1, maxKeys: 2 })),
    fc.subarray(["csr", "profile", "subject", "subjectAltNames"], { maxLength: 1 }),
  )
  .map(([known, issuer, unknown, omitted]) => {
    const body: Record<string, unknown> = { ...unknown, ...issuer, ...known };
    for (const key of omitted) delete body[key];
    return body;
  });

// ---------------------------------------------------------------------------------------
// Unit level: parseCsr throws ServiceError (400) and nothing else, and accepts only DER.

/** parseCsr either accepts input that is DER throughout, or throws a 400 ServiceError. */
async function expectOnlyServiceError(input: Uint8Array | string): Promise<void> {
  let parsed: ParsedCsr;
  try {
    parsed = await parseCsr(input);
  } catch (error) {
    if (!(error instanceof ServiceError))
      throw new Error(`parseCsr threw ${(error as Error)?.name}: ${(error as Error)?.message}`, {
        cause: error,
      });
    expect(error.status).toBe(400);
    expect(error.code).toMatch(/^csr-[a-z-]+$/);
    expect(error.message.length).toBeGreaterThan(10);
    return;
  }
  try {
    expectStrictDer(decode(parsed.der));
  } catch (error) {
    throw new Error(`parseCsr accepted a request that is not DER: ${(error as Error).message}`);
  }
}

describe("parseCsr under fuzzing (unit level, no database)", () => {
  it("accepts the unmutated base request", async () => {
    expect((await parseCsr(BASE_DER)).key.name).toBe("ed25519");
    expect((await parseCsr(BASE_PEM)).requestedNames).toEqual([{ type: "dns", value: "ok.gov.test" }]);
  });

  it("random bytes: only ServiceError", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), (bytes) => expectOnlyServiceError(bytes)),
      { seed: SEED, numRuns: UNIT_RUNS },
    );
  });

  it("random text and PEM-like text: only ServiceError", async () => {
    const armoured = fc
      .tuple(
        fc.constantFrom("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", "CERTIFICATE"),
        fc.base64String(),
      )
      .map(([label, body]) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(text, armoured), (input) => expectOnlyServiceError(input)),
      { seed: SEED, numRuns: UNIT_RUNS },
    );
  });

  it("mutated DER of a valid request: only ServiceError", async () => {
    await fc.assert(
      fc.asyncProperty(mutations, (list) => expectOnlyServiceError(mutate(BASE_DER, list))),
      { seed: SEED, numRuns: UNIT_RUNS },
    );
  });

  it("mutated PEM of a valid request: only ServiceError", async () => {
    await fc.assert(
      fc.asyncProperty(pemMutation, (edits) => expectOnlyServiceError(mutatePem(BASE_PEM, edits))),
      { seed: SEED, numRuns: UNIT_RUNS },
    );
  });

  it("requests assembled from random DER structures: only ServiceError", async () => {
    await fc.assert(
      fc.asyncProperty(structuredCsr, (der) => expectOnlyServiceError(der)),
      { seed: SEED, numRuns: UNIT_RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------
// HTTP level

describe("CSR fuzzing over HTTP (PGlite only, for speed)", () => {
  let harness: Harness;

  const counts = async () => {
    const result = await harness.context.db.query<{ certificates: number; audit: number }>(
      "SELECT (SELECT count(*)::int FROM certificates) AS certificates, (SELECT count(*)::int FROM audit_log) AS audit",
    );
    return { certificates: Number(result.rows[0]!.certificates), audit: Number(result.rows[0]!.audit) };
  };

  beforeAll(async () => {
    harness = await createHarness("pglite");
  });
  afterAll(async () => harness?.close());

  const postJson = (body: unknown) =>
    harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: {
        ...bearer(harness.adminToken),
        accept: "application/json",
        "content-type": "application/json",
      },
      payload: JSON.stringify(body),
    });

  const postRaw = (payload: Buffer | string, contentType: string) =>
    harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates?profile=tls-client",
      headers: { ...bearer(harness.adminToken), accept: "application/json", "content-type": contentType },
      payload,
    });

  /** A problem document (4xx), or 201 with exactly one more certificate and audit record. */
  async function expectProblemOrIssued(
    response: LightMyRequestResponse,
    before: { certificates: number; audit: number },
  ): Promise<void> {
    const after = await counts();
    expect(response.statusCode, response.body.slice(0, 300)).toBeLessThan(500);
    if (response.statusCode === 201) {
      const issued = response.json() as { serial: string; certificate: string };
      expect(issued.serial).toMatch(/^[0-9a-f]+$/);
      // What we signed is DER throughout (RFC 5280 §4.1), whatever encoding the request used.
      expectStrictDer(decode(decodePem(issued.certificate, ["CERTIFICATE"]).der));
      expect(after).toEqual({ certificates: before.certificates + 1, audit: before.audit + 1 });
      return;
    }
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json(;|$)/);
    const problem = response.json() as Record<string, unknown>;
    expect(problem.status).toBe(response.statusCode);
    expect(problem.code).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(typeof problem.detail === "string" && problem.detail.length > 0).toBe(true);
    expect(after).toEqual(before);
  }

  it("issues the unmutated base request (so the 201 branch below is real)", async () => {
    const before = await counts();
    const response = await postJson(issueBody(BASE_PEM));
    expect(response.statusCode, response.body).toBe(201);
    await expectProblemOrIssued(response, before);
  });

  it("(a) random bytes, raw and in JSON: never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        const buffer = Buffer.from(bytes);
        let before = await counts();
        await expectProblemOrIssued(await postRaw(buffer, "application/pkcs10"), before);
        before = await counts();
        await expectProblemOrIssued(await postJson(issueBody(buffer.toString("base64") || "A")), before);
      }),
      { seed: SEED, numRuns: HTTP_RUNS },
    );
  });

  it("(b) a valid request with byte mutations, truncations and insertions: never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(mutations, async (list) => {
        const der = mutate(BASE_DER, list);
        let before = await counts();
        await expectProblemOrIssued(await postJson(issueBody(der.toString("base64") || "A")), before);
        before = await counts();
        await expectProblemOrIssued(await postRaw(der, "application/pkcs10"), before);
      }),
      { seed: SEED, numRuns: HTTP_RUNS },
    );
  });

  it("(b) a valid request's PEM with character edits: never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(pemMutation, async (edits) => {
        const pem = mutatePem(BASE_PEM, edits);
        let before = await counts();
        await expectProblemOrIssued(await postJson(issueBody(pem)), before);
        before = await counts();
        await expectProblemOrIssued(await postRaw(pem, "application/x-pem-file"), before);
      }),
      { seed: SEED, numRuns: HTTP_RUNS },
    );
  });

  /** Status codes seen by a property, to show that its inputs reach issuance and refusal alike. */
  const tally = (statuses: readonly number[]) =>
    Object.fromEntries(
      [...new Set(statuses)].sort().map((status) => [status, statuses.filter((s) => s === status).length]),
    );

  it("(b) requests assembled from random DER structures: never a 5xx", async () => {
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(structuredCsr, async (der) => {
        const before = await counts();
        const response = await postJson(issueBody(der.toString("base64")));
        statuses.push(response.statusCode);
        await expectProblemOrIssued(response, before);
      }),
      { seed: SEED, numRuns: HTTP_RUNS },
    );
    const seen = tally(statuses);
    expect(seen[201], JSON.stringify(seen)).toBeGreaterThan(0);
    expect(seen[400], JSON.stringify(seen)).toBeGreaterThan(HTTP_RUNS / 2);
  });

  it("(c) random JSON bodies (wrong types, unknown fields): never a 5xx", async () => {
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: randomIssueBody }, { weight: 1, arbitrary: anyJson }),
        async (body) => {
          const before = await counts();
          const response = await postJson(body);
          statuses.push(response.statusCode);
          await expectProblemOrIssued(response, before);
        },
      ),
      { seed: SEED, numRuns: HTTP_RUNS },
    );
    const seen = tally(statuses);
    expect(seen[201], JSON.stringify(seen)).toBeGreaterThan(0);
    expect(seen[400], JSON.stringify(seen)).toBeGreaterThan(0);
    expect(seen[404], JSON.stringify(seen)).toBeGreaterThan(0);
  });
});
