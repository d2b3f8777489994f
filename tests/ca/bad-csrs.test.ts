/**
 * Every file in certs-fixtures/bad-csrs/ (and fuzz-regressions/) posted to the issuance
 * endpoint, in the JSON form and the raw form, on both engines. The expected status, problem
 * code and detail of each come from certs-fixtures/README.md, which has one row per file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

const FIXTURES = fileURLToPath(new URL("../../certs-fixtures/", import.meta.url));

interface Outcome {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
}

interface Fixture {
  readonly directory: string;
  readonly file: string;
  readonly problem: string;
  /** "body": the JSON request names ok.gov.test; "csr": it names nothing, so the CSR's names count. */
  readonly sans: "body" | "csr";
  readonly json: Outcome;
  /** Undefined for a `.json` fixture, which is a whole request body. */
  readonly raw: Outcome | undefined;
}

const OUTCOME = /^(\d{3}) ([a-z0-9-]+)$/;

/**
 * The fixture tables of certs-fixtures/README.md, one per `## \`directory/\`` section; a row
 * is a fixture when its first cell is a file name in backquotes (the cells may be padded).
 */
function readExpectations(): Fixture[] {
  const fixtures: Fixture[] = [];
  let directory: string | undefined;
  for (const line of readFileSync(join(FIXTURES, "README.md"), "utf8").split("\n")) {
    const heading = /^## `([a-z0-9-]+)\/`$/.exec(line.trim());
    if (heading) directory = heading[1];
    const cells = line.trim().startsWith("|")
      ? line
          .trim()
          .slice(1, -1)
          .split("|")
          .map((cell) => cell.trim())
      : [];
    const file = /^`([^`]+)`$/.exec(cells[0] ?? "")?.[1];
    if (!file) continue;
    const fail = (why: string) => new Error(`certs-fixtures/README.md, row ${file}: ${why}`);
    if (!directory) throw fail("no `## `directory/`` heading above it");
    if (cells.length !== 6) throw fail(`${cells.length} cells, expected 6`);
    const [, problem, sans, jsonCell, rawCell, detailCell] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (sans !== "body" && sans !== "csr") throw fail(`SANs is "${sans}", expected body or csr`);
    const json = OUTCOME.exec(jsonCell);
    const raw = OUTCOME.exec(rawCell);
    if (!json) throw fail(`JSON is "${jsonCell}", expected "<status> <code>"`);
    if (file.endsWith(".json") ? rawCell !== "n/a" : !raw)
      throw fail(`Raw is "${rawCell}": "<status> <code>", or n/a exactly for a .json body`);
    const details = [...detailCell.matchAll(/`([^`]+)`/g)].map((quoted) => quoted[1]!);
    if (details.length < 1 || details.length > 2) throw fail("needs one or two quoted detail texts");
    fixtures.push({
      directory,
      file,
      problem,
      sans,
      json: { status: Number(json[1]), code: json[2]!, detail: details[0]! },
      raw: raw ? { status: Number(raw[1]), code: raw[2]!, detail: details.at(-1)! } : undefined,
    });
  }
  return fixtures;
}

const EXPECTATIONS = readExpectations();
const DIRECTORIES = [...new Set(EXPECTATIONS.map((fixture) => fixture.directory))];

describe("certs-fixtures/README.md", () => {
  it("has exactly one row per fixture file", () => {
    expect(DIRECTORIES).toContain("bad-csrs");
    for (const directory of DIRECTORIES) {
      const files = readdirSync(join(FIXTURES, directory)).filter((file) => file !== "README.md");
      const rows = EXPECTATIONS.filter((fixture) => fixture.directory === directory).map(({ file }) => file);
      expect(new Set(rows).size, `duplicate rows for ${directory}/`).toBe(rows.length);
      expect([...rows].sort(), `rows vs files in ${directory}/`).toEqual([...files].sort());
    }
    expect(EXPECTATIONS.filter((fixture) => fixture.directory === "bad-csrs").length).toBeGreaterThanOrEqual(
      24,
    );
  });

  it("expects only client errors, each with a code", () => {
    for (const { json, raw } of EXPECTATIONS)
      for (const outcome of raw ? [json, raw] : [json]) {
        expect(outcome.status).toBeGreaterThanOrEqual(400);
        expect(outcome.status).toBeLessThan(500);
        expect(outcome.code).toMatch(/^[a-z][a-z0-9-]+$/);
      }
  });
});

describe.each(ENGINES)("bad CSRs refused over HTTP on %s", (engine) => {
  let harness: Harness;
  let auditBaseline: number;

  const count = async (table: "certificates" | "audit_log"): Promise<number> => {
    const result = await harness.context.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    return Number(result.rows[0]!.n);
  };

  beforeAll(async () => {
    harness = await createHarness(engine);
    auditBaseline = await count("audit_log");
  });
  afterAll(async () => harness?.close());

  function expectProblem(response: LightMyRequestResponse, expected: Outcome, what: string): void {
    expect(response.statusCode, `${what}: ${response.body.slice(0, 500)}`).toBe(expected.status);
    expect(response.headers["content-type"], what).toMatch(/^application\/problem\+json(;|$)/);
    const problem = response.json() as Record<string, unknown>;
    expect(problem.code, what).toBe(expected.code);
    expect(problem.status, what).toBe(expected.status);
    expect(problem.type, what).toBe(`urn:gov-ca:problem:${expected.code}`);
    expect(problem.detail, what).toEqual(expect.any(String));
    expect(problem.detail as string, what).toContain(expected.detail);
  }

  async function expectNothingStored(what: string): Promise<void> {
    expect(await count("certificates"), `${what}: certificates`).toBe(0);
    expect(await count("audit_log"), `${what}: audit records`).toBe(auditBaseline);
  }

  it.each(EXPECTATIONS.map((fixture) => [`${fixture.directory}/${fixture.file}`, fixture] as const))(
    "%s",
    async (name, fixture) => {
      const bytes = readFileSync(join(FIXTURES, fixture.directory, fixture.file));
      const pem = fixture.file.endsWith(".pem");

      if (!fixture.raw) {
        const body = await harness.app.inject({
          method: "POST",
          url: "/api/v1/certificates",
          headers: {
            ...bearer(harness.adminToken),
            accept: "application/json",
            "content-type": "application/json",
          },
          payload: bytes,
        });
        expectProblem(body, fixture.json, `${name} as the request body`);
        await expectNothingStored(`${name} as the request body`);
        return;
      }

      const json = await harness.app.inject({
        method: "POST",
        url: "/api/v1/certificates",
        headers: { ...bearer(harness.adminToken), accept: "application/json" },
        payload: {
          csr: pem ? bytes.toString("utf8") : bytes.toString("base64"),
          profile: "tls-server",
          subject: { orgUnit: "gov" },
          ...(fixture.sans === "body" ? { subjectAltNames: [{ type: "dns", value: "ok.gov.test" }] } : {}),
        },
      });
      expectProblem(json, fixture.json, `${name} as JSON`);
      await expectNothingStored(`${name} as JSON`);

      const raw = await harness.app.inject({
        method: "POST",
        url: "/api/v1/certificates?profile=tls-server",
        headers: {
          ...bearer(harness.adminToken),
          accept: "application/json",
          "content-type": pem ? "application/x-pem-file" : "application/pkcs10",
        },
        payload: bytes,
      });
      expectProblem(raw, fixture.raw, `${name} as ${pem ? "application/x-pem-file" : "application/pkcs10"}`);
      await expectNothingStored(`${name} raw`);
    },
  );
});
