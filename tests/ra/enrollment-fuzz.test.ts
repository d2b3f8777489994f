/**
 * fast-check over POST /api/v1/enrollments, on both databases: whatever the body, the answer
 * is never a 5xx, and a refused request (4xx) writes no enrolment row and no audit record.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliActor } from "../../src/auth/principal.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

const anyJson = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const mostly = <T>(usual: T, other: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: other });

describe.each(ENGINES)("POST /api/v1/enrollments never fails with 5xx nor half-writes (%s)", (engine) => {
  let harness: Harness;
  let token: string;
  const csrs = [
    buildCsrPem({ key: generateTestKey("p256") }),
    buildCsrPem({ key: generateTestKey("ed25519") }),
  ];

  beforeAll(async () => {
    harness = await createHarness(engine);
    const user = await harness.context.directory.create(cliActor("test"), {
      name: "Fuzz Servant",
      employeeNumber: "E-FUZZ",
      orgUnit: "gov",
      roles: ["subscriber"],
    });
    token = (await harness.context.accounts.createApiKey(cliActor("test"), user.id, null)).token;
  });
  afterAll(async () => harness?.close());

  const counts = async () => {
    const { rows } = await harness.context.db.query<{ e: number; a: number }>(
      "SELECT (SELECT count(*) FROM enrollments)::int8 AS e, (SELECT count(*) FROM audit_log)::int8 AS a",
    );
    return rows[0]!;
  };

  const body = fc.record(
    {
      profile: mostly(
        "user-signing",
        fc.oneof(fc.constantFrom("tls-client", "tls-server", "ocsp-signer", "nope"), anyJson),
      ),
      method: mostly("csr", fc.oneof(fc.constantFrom("browser", "server-keygen", "CSR"), anyJson)),
      csr: fc.oneof(
        fc.constantFrom(...csrs),
        fc.string({ maxLength: 60 }),
        fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString("base64")),
        anyJson,
      ),
      serverKeyGeneration: fc.oneof(
        fc.record(
          {
            algorithm: fc.oneof(fc.constantFrom("ec:P-256", "ec:P-384", "ed25519", "rsa:1024"), anyJson),
            passphrase: fc.oneof(fc.string({ maxLength: 20 }), anyJson),
          },
          { requiredKeys: [] },
        ),
        anyJson,
      ),
      issuer: fc.oneof(fc.constantFrom("issuing-1", "root-1", "nope"), anyJson),
      subjectAltNames: fc.oneof(
        fc.array(
          fc.record({
            type: fc.oneof(fc.constantFrom("dns", "ip", "email", "uri"), anyJson),
            value: fc.oneof(
              fc.constantFrom("a@gov.test", "x.gov.test", "10.0.0.1"),
              fc.string({ maxLength: 30 }),
            ),
          }),
          { maxLength: 3 },
        ),
        anyJson,
      ),
      unexpected: anyJson,
    },
    { requiredKeys: [] },
  );

  it("answers every body with 201 or a precise 4xx problem, and a 4xx changes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const before = await counts();
        const response = await harness.app.inject({
          method: "POST",
          url: "/api/v1/enrollments",
          headers: bearer(token),
          payload,
        });
        expect(response.statusCode, response.body).toBeLessThan(500);
        if (response.statusCode >= 400) {
          expect(response.headers["content-type"]).toContain("application/problem+json");
          expect(response.json().code).toMatch(/^[a-z-]+$/);
          expect(await counts()).toEqual(before);
        } else expect(response.statusCode).toBe(201);
      }),
      { numRuns: 60 },
    );
  });
});
