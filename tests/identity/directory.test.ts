/** The directory of civil servants: create, import, disable, list, passwords and TOTP enrolment. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, Queryable } from "../../db/database.js";
import { type Actor, actorOf, cliActor } from "../../src/auth/principal.js";
import { SecretSealer } from "../../src/identity/secret-seal.js";
import { base32Decode } from "../../src/identity/totp.js";
import { readUserImport } from "../../src/identity/user-import.js";
import { Directory } from "../../src/identity/users.js";
import { ENGINES } from "../helpers/databases.js";
import { createHarness, type Harness } from "../helpers/harness.js";

const admin = cliActor("test");

describe.each(ENGINES)("directory on %s", (engine) => {
  let harness: Harness;
  let directory: Directory;

  beforeAll(async () => {
    harness = await createHarness(engine);
    directory = harness.context.directory;
    await harness.orgUnit("gov/gz/tianhe", "county");
    await harness.orgUnit("gov/sz", "city");
  });
  afterAll(async () => harness?.close());

  const auditOf = async (target: string) =>
    (
      await harness.context.db.query<{ action: string; actor: string; outcome: string; details: object }>(
        // Append order (id): the chain's seq may not be assigned yet (sealed after commit).
        "SELECT action, actor, outcome, details FROM audit_log WHERE target = $1 ORDER BY id",
        [target],
      )
    ).rows;

  it("creates a user with several roles, and finds it by id and by employee number in any case", async () => {
    const user = await directory.create(admin, {
      name: "王芳",
      employeeNumber: "GZ-1001",
      orgUnit: "gov/gz",
      roles: ["ra-operator", "auditor"],
      email: "wang.fang@gz.gov.test",
    });
    expect(user).toMatchObject({
      name: "王芳",
      employeeNumber: "GZ-1001",
      email: "wang.fang@gz.gov.test",
      orgUnit: "gov/gz",
      roles: ["ra-operator", "auditor"],
      disabledAt: null,
      hasPassword: false,
      hasTotp: false,
      lockedUntil: null,
    });
    expect(Object.keys(user)).not.toContain("passwordHash");
    expect(await directory.get(user.id)).toEqual(user);
    expect(await directory.findByEmployeeNumber("gz-1001")).toEqual(user);
    expect(await directory.get("not-a-uuid")).toBeUndefined();
    expect(await auditOf(`principal:${user.id}`)).toEqual([
      expect.objectContaining({ action: "user.create", actor: "cli:test", outcome: "success" }),
    ]);
  });

  it.each([
    [
      { employeeNumber: "gz-1001" },
      409,
      "employee-number-taken",
      'employee number "gz-1001" belongs to another user',
    ],
    [
      { employeeNumber: "GZ 1002" },
      400,
      "employee-number-invalid",
      'employee number "GZ 1002" must be 1 to 32 letters, digits or "-"',
    ],
    [
      { roles: ["root"] },
      400,
      "roles-invalid",
      'unknown role "root" (roles are security-admin, ra-operator, auditor, subscriber)',
    ],
    [
      { roles: [] },
      400,
      "roles-invalid",
      "no role given (one or more of security-admin, ra-operator, auditor, subscriber)",
    ],
    [{ orgUnit: "gov/nowhere" }, 400, "org-unit-unknown", 'org unit "gov/nowhere" does not exist'],
    [
      { orgUnit: null, roles: ["ra-operator"] },
      400,
      "org-unit-required",
      "an ra-operator must be given the org unit whose subtree it serves",
    ],
    [
      { name: "a\u202eb" },
      400,
      "name-invalid",
      "the name contains an invisible formatting character (such as a bidirectional override)",
    ],
    [{ email: "not-an-address" }, 400, "email-invalid", '"not-an-address" is not an email address'],
  ])("refuses %j with %i %s", async (change, status, code, message) => {
    const create = directory.create(admin, {
      name: "Li Lei",
      employeeNumber: "GZ-1002",
      orgUnit: "gov/gz",
      roles: ["subscriber"],
      ...change,
    } as Parameters<Directory["create"]>[1]);
    await expect(create).rejects.toMatchObject({ status, code, message });
  });

  it("imports JSON: creates the valid rows and reports every other with its exact reason", async () => {
    const rows = readUserImport("json", [
      { name: "Zhao Yi", employeeNumber: "J-1", orgUnit: "gov/gz/tianhe", roles: ["subscriber"] },
      { name: "Qian Er", employee_number: "J-2", org_unit: "gov/sz", roles: "subscriber;auditor" },
      { name: "Sun San", employeeNumber: "j-1", orgUnit: "gov/gz", roles: ["subscriber"] },
      { name: "Li Si", employeeNumber: "J-4", orgUnit: "gov/xx", roles: ["subscriber"] },
      { name: "Zhou Wu", employeeNumber: "GZ-1001", orgUnit: "gov/gz", roles: ["subscriber"] },
      { name: "Wu Liu", employeeNumber: "J-6", orgUnit: "gov/gz", roles: ["wizard"] },
      { name: "Zheng Qi", employeeNumber: "J-7", orgUnit: "gov/gz", roles: ["subscriber"], phone: "1" },
      { employeeNumber: "J-8", orgUnit: "gov/gz", roles: ["subscriber"] },
      "J-9",
      { name: "Feng Shi", employeeNumber: "J-10", orgUnit: "gov/gz", roles: [1] },
    ]);
    const report = await directory.import(admin, rows);
    expect(report.created.map((user) => [user.employeeNumber, user.roles])).toEqual([
      ["J-1", ["subscriber"]],
      ["J-2", ["subscriber", "auditor"]],
    ]);
    expect(report.rejected).toEqual([
      { line: 3, employeeNumber: "j-1", reason: 'employee number "j-1" appears already on line 1' },
      { line: 4, employeeNumber: "J-4", reason: 'org unit "gov/xx" does not exist' },
      { line: 5, employeeNumber: "GZ-1001", reason: 'employee number "GZ-1001" belongs to another user' },
      {
        line: 6,
        employeeNumber: "J-6",
        reason: 'unknown role "wizard" (roles are security-admin, ra-operator, auditor, subscriber)',
      },
      { line: 7, reason: 'unknown field "phone"' },
      { line: 8, employeeNumber: "J-8", reason: "name is missing" },
      { line: 9, reason: "the row is not an object" },
      { line: 10, reason: 'field "roles" must be an array of strings or a string' },
    ]);
    const records = await harness.context.db.query<{
      details: { rows: number; created: number; rejected: number };
    }>("SELECT details FROM audit_log WHERE action = 'user.import' ORDER BY id DESC LIMIT 1");
    expect(records.rows[0]!.details).toEqual({ rows: 10, created: 2, rejected: 8 });
  });

  it("imports CSV (RFC 4180): quoted fields, CRLF, roles split by ; or |, lines counted from the header", async () => {
    const csv = [
      "name,employee_number,org_unit,roles,email",
      '"Chen, Jing",C-1,gov/sz,subscriber|auditor,chen@sz.gov.test',
      '"He ""Xiao"" Ming",C-2,gov/sz,subscriber,',
      '"Multi',
      'line name",C-3,gov/sz,subscriber,',
      'Bad Quote"s,C-4,gov/sz,subscriber,',
      "Short,C-5,gov/sz",
      "",
      "Empty Roles,C-6,gov/sz,,",
      "Dup,c-2,gov/sz,subscriber,",
      "No Unit,C-8,,subscriber,",
    ].join("\r\n");
    const report = await directory.import(admin, readUserImport("csv", csv));
    expect(
      report.created.map((user) => [user.employeeNumber, user.name, user.roles, user.email, user.orgUnit]),
    ).toEqual([
      ["C-1", "Chen, Jing", ["subscriber", "auditor"], "chen@sz.gov.test", "gov/sz"],
      ["C-2", 'He "Xiao" Ming', ["subscriber"], null, "gov/sz"],
      ["C-8", "No Unit", ["subscriber"], null, null],
    ]);
    expect(report.rejected).toEqual([
      {
        line: 4,
        employeeNumber: "C-3",
        reason: "the name contains a control character or an unpaired surrogate",
      },
      {
        line: 6,
        employeeNumber: "C-4",
        reason: "field 1 holds a quote but is not enclosed in quotes (RFC 4180 §2.5)",
      },
      { line: 7, employeeNumber: "C-5", reason: "the row has 3 fields; the header has 5" },
      {
        line: 9,
        employeeNumber: "C-6",
        reason: "no role given (one or more of security-admin, ra-operator, auditor, subscriber)",
      },
      { line: 10, employeeNumber: "c-2", reason: 'employee number "c-2" appears already on line 3' },
    ]);
  });

  it("refuses files it cannot read at all with 400 import-invalid", () => {
    const cases: [Parameters<typeof readUserImport>, string][] = [
      [["csv", ""], "the CSV import is empty: it needs a header row"],
      [["csv", "name,employee_number,roles\nA,1,subscriber"], "the CSV header lacks the column(s) org_unit"],
      [
        ["csv", "name,employee_number,org_unit,roles,phone\n"],
        'the CSV header names the unknown column "phone"; columns are name, employee_number, org_unit, roles, email',
      ],
      [
        ["csv", 'name,employee_number,org_unit,roles\n"A,1,gov,subscriber\n'],
        "the CSV import line 2: a quoted field is not closed (RFC 4180 §2.5)",
      ],
      [["json", "{}"], "a JSON import is an array of objects"],
      [["json", "[{"], "the JSON import does not parse: "],
    ];
    for (const [args, message] of cases) {
      let thrown: unknown;
      try {
        readUserImport(...args);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, message).toMatchObject({ status: 400, code: "import-invalid" });
      expect((thrown as Error).message.startsWith(message), (thrown as Error).message).toBe(true);
    }
  });

  it("writes nothing of an import whose transaction fails", async () => {
    const failing = failOn(harness.context.db, /INSERT INTO audit_log/);
    const broken = new Directory(
      failing,
      harness.context.clock,
      harness.context.orgUnits,
      new SecretSealer(harness.context.keyStore),
      {
        totpIssuer: "test",
      },
    );
    const rows = readUserImport(
      "json",
      Array.from({ length: 1200 }, (_, index) => ({
        name: `Bulk ${index}`,
        employeeNumber: `FAIL-${index}`,
        orgUnit: "gov/sz",
        roles: ["subscriber"],
      })),
    );
    await expect(broken.import(admin, rows)).rejects.toThrow("injected failure");
    const { rows: left } = await harness.context.db.query(
      "SELECT 1 FROM users WHERE employee_number LIKE 'FAIL-%' UNION ALL SELECT 1 FROM principals WHERE name LIKE 'Bulk %'",
    );
    expect(left).toHaveLength(0);
  });

  it("imports large files in chunks, reporting progress", async () => {
    const progress: [number, number][] = [];
    const rows = readUserImport(
      "json",
      Array.from({ length: 1200 }, (_, index) => ({
        name: `Bulk ${index}`,
        employeeNumber: `BULK-${index}`,
        orgUnit: "gov/sz",
        roles: ["subscriber"],
      })),
    );
    const report = await directory.import(admin, rows, {
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(report.created).toHaveLength(1200);
    expect(report.rejected).toEqual([]);
    expect(progress).toEqual([
      [500, 1200],
      [1000, 1200],
      [1200, 1200],
    ]);
  });

  it("lists users by employee number, within an org subtree, page by page", async () => {
    const first = await directory.list({ orgUnit: "gov/gz", limit: 1 });
    expect(first.items.map((user) => user.employeeNumber)).toEqual(["GZ-1001"]);
    expect(first.nextCursor).toBe("gz-1001");
    const second = await directory.list({ orgUnit: "gov/gz", limit: 1, cursor: first.nextCursor! });
    expect(second.items.map((user) => user.employeeNumber)).toEqual(["J-1"]);
    expect(second.nextCursor).toBeNull();
    const unfiltered = await directory.list({ cursor: "c-6", limit: 1 });
    expect(unfiltered.items.map((user) => [user.employeeNumber, user.orgUnit])).toEqual([["C-8", null]]);
    await expect(directory.list({ cursor: "x y" })).rejects.toMatchObject({ code: "cursor-invalid" });
  });

  it("disables a user once, then calls every disable listener before returning", async () => {
    const user = await directory.create(admin, {
      name: "Leaving",
      employeeNumber: "D-1",
      orgUnit: "gov/sz",
      roles: ["subscriber"],
    });
    const calls: string[] = [];
    let committed = false;
    directory.onDisabled(async (id) => {
      committed = (await directory.get(id))?.disabledAt !== null;
      calls.push(`first:${id}`);
    });
    directory.onDisabled(async (id) => {
      calls.push(`second:${id}`);
    });
    await directory.disable(admin, user.id);
    expect(calls.sort()).toEqual([`first:${user.id}`, `second:${user.id}`]);
    expect(committed).toBe(true);
    expect((await directory.get(user.id))?.disabledAt).toBeInstanceOf(Date);
    await expect(directory.disable(admin, user.id)).rejects.toMatchObject({
      status: 409,
      code: "user-disabled",
    });
    await directory.enable(admin, user.id);
    expect((await directory.get(user.id))?.disabledAt).toBeNull();
    expect((await auditOf(`principal:${user.id}`)).map((record) => record.action)).toEqual([
      "user.create",
      "user.disable",
      "user.enable",
    ]);
  });

  it("sets passwords of 12 to 1024 characters, argon2id-hashed", async () => {
    const user = (await directory.findByEmployeeNumber("J-1"))!;
    await expect(directory.setPassword(admin, user.id, "short-pass1")).rejects.toMatchObject({
      code: "password-too-short",
      message: "the password has 11 characters; it needs at least 12",
    });
    await expect(directory.setPassword(admin, user.id, "x".repeat(1025))).rejects.toMatchObject({
      code: "password-too-long",
    });
    await directory.setPassword(admin, user.id, "correct horse battery");
    const { rows } = await harness.context.db.query<{ password_hash: string }>(
      "SELECT password_hash FROM users WHERE principal_id = $1",
      [user.id],
    );
    expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await directory.get(user.id))?.hasPassword).toBe(true);
  });

  it("enrolls TOTP once, stores the secret only sealed, and resets it", async () => {
    const user = (await directory.findByEmployeeNumber("J-1"))!;
    const enrolled = await directory.enrollTotp(admin, user.id);
    expect(enrolled.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolled.otpauthUri).toContain(`:J-1?secret=${enrolled.secret}&`);
    const raw = base32Decode(enrolled.secret);
    const { rows } = await harness.context.db.query<{ row: string; totp_secret: Buffer }>(
      "SELECT u::text AS row, totp_secret FROM users u WHERE principal_id = $1",
      [user.id],
    );
    const stored = rows[0]!;
    expect(stored.row).not.toContain(enrolled.secret);
    expect(stored.row.toLowerCase()).not.toContain(raw.toString("hex"));
    expect(stored.totp_secret.includes(raw)).toBe(false);
    expect(stored.totp_secret.length).toBe(1 + 12 + 20 + 16);
    await expect(directory.enrollTotp(admin, user.id)).rejects.toMatchObject({
      status: 409,
      code: "totp-enrolled",
    });
    await directory.resetTotp(admin, user.id);
    expect((await directory.get(user.id))?.hasTotp).toBe(false);
    await expect(directory.resetTotp(admin, user.id)).rejects.toMatchObject({ code: "totp-not-enrolled" });
  });

  describe("an RA operator", () => {
    let operator: Actor;
    beforeAll(async () => {
      const raUser = await directory.create(admin, {
        name: "RA Tianhe",
        employeeNumber: "RA-1",
        orgUnit: "gov/gz",
        roles: ["ra-operator"],
      });
      operator = actorOf({ ...raUser, kind: "user", dnsNames: [] });
    });

    it("registers subscribers in its subtree only, and grants no other role", async () => {
      const created = await directory.create(operator, {
        name: "New Clerk",
        employeeNumber: "RA-2",
        orgUnit: "gov/gz/tianhe",
        roles: ["subscriber"],
      });
      expect(created.orgUnit).toBe("gov/gz/tianhe");
      await expect(
        directory.create(operator, {
          name: "Elsewhere",
          employeeNumber: "RA-3",
          orgUnit: "gov/sz",
          roles: ["subscriber"],
        }),
      ).rejects.toMatchObject({
        status: 403,
        message: 'org unit "gov/sz" is outside this RA operator\'s subtree "gov/gz"',
      });
      await expect(
        directory.create(operator, {
          name: "Boss",
          employeeNumber: "RA-4",
          orgUnit: "gov/gz",
          roles: ["security-admin"],
        }),
      ).rejects.toMatchObject({
        status: 403,
        message:
          "an RA operator manages subscribers only; this user holds security-admin (a security admin's task)",
      });
    });

    it("cannot take over an admin of its subtree, nor see users outside it", async () => {
      const colleague = (await directory.findByEmployeeNumber("GZ-1001"))!;
      await expect(directory.setPassword(operator, colleague.id, "a long password 1")).rejects.toMatchObject({
        status: 403,
      });
      const outside = (await directory.findByEmployeeNumber("C-1"))!;
      await expect(directory.disable(operator, outside.id)).rejects.toMatchObject({ status: 404 });
    });

    it("reports the rows of an import it may not write", async () => {
      const report = await directory.import(
        operator,
        readUserImport("json", [
          { name: "Ok", employeeNumber: "RA-10", orgUnit: "gov/gz", roles: ["subscriber"] },
          { name: "Out", employeeNumber: "RA-11", orgUnit: "gov/sz", roles: ["subscriber"] },
          { name: "Up", employeeNumber: "RA-12", orgUnit: "gov/gz", roles: ["auditor"] },
        ]),
      );
      expect(report.created.map((user) => user.employeeNumber)).toEqual(["RA-10"]);
      expect(report.rejected).toEqual([
        {
          line: 2,
          employeeNumber: "RA-11",
          reason: 'org unit "gov/sz" is outside this RA operator\'s subtree "gov/gz"',
        },
        {
          line: 3,
          employeeNumber: "RA-12",
          reason:
            "an RA operator manages subscribers only; this user holds auditor (a security admin's task)",
        },
      ]);
    });
  });
});

/** The database, except that a statement matching `pattern` inside a transaction throws. */
function failOn(db: Database, pattern: RegExp): Database {
  const guard = (tx: Queryable): Queryable => ({
    query: (sql, params) =>
      pattern.test(sql) ? Promise.reject(new Error("injected failure")) : tx.query(sql, params),
    notifyOnCommit: (topic) => tx.notifyOnCommit(topic),
  });
  return Object.assign(Object.create(db) as Database, {
    transaction: <T>(work: (tx: Queryable) => Promise<T>) => db.transaction((tx) => work(guard(tx))),
  });
}
