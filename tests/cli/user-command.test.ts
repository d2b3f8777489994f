/** `ca user …` as an operator runs it: real processes on an embedded data directory. */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "../../bin/ca.mjs");

describe("ca user", () => {
  let directory: string;
  const ca = (args: string[], stdin = "") =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        {
          env: {
            ...process.env,
            CA_DATA_DIR: join(directory, "data"),
            DATABASE_URL: "",
            LOG_LEVEL: "silent",
          },
          cwd: directory,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(stdin);
    });

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "ca-cli-users-"));
    const init = await ca(["init"]);
    expect(init.code, init.stderr).toBe(0);
    expect((await ca(["org", "create", "gov/gz", "--name", "广州市", "--level", "city"])).code).toBe(0);
  }, 120_000);
  afterAll(async () => rm(directory, { recursive: true, force: true }));

  it("lists the user commands in ca --help", async () => {
    const help = await ca(["--help"]);
    for (const command of [
      "user create",
      "user import",
      "user list",
      "user disable",
      "user password",
      "user totp",
    ])
      expect(help.stdout).toContain(command);
    expect((await ca(["user", "create", "--help"])).stdout).toContain("--employee-number N");
  });

  it("creates users with several roles; refuses bad options with exit 2 and domain errors with exit 1", async () => {
    const created = await ca([
      "user",
      "create",
      "--name",
      "王芳",
      "--employee-number",
      "E-1",
      "--org-unit",
      "gov/gz",
      "--role",
      "ra-operator",
      "--role",
      "auditor",
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created user [0-9a-f-]{36} \(E-1, ra-operator, auditor\)\n$/);
    const noRole = await ca(["user", "create", "--name", "X", "--employee-number", "E-2"]);
    expect(noRole.code).toBe(2);
    expect(noRole.stderr).toContain("give at least one --role");
    const badRole = await ca(["user", "create", "--name", "X", "--employee-number", "E-2", "--role", "boss"]);
    expect(badRole.code).toBe(2);
    const taken = await ca([
      "user",
      "create",
      "--name",
      "X",
      "--employee-number",
      "e-1",
      "--role",
      "subscriber",
    ]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain(
      'error (employee-number-taken): employee number "e-1" belongs to another user',
    );
  }, 120_000);

  it("imports a CSV file, printing the report and exiting 1 when a row is rejected", async () => {
    await writeFile(
      join(directory, "staff.csv"),
      'name,employee_number,org_unit,roles,email\n"Li, Lei",E-10,gov/gz,subscriber,li@gz.gov.test\nBad,E-11,gov/nowhere,subscriber,\n',
    );
    const imported = await ca(["user", "import", "staff.csv"]);
    expect(imported.code).toBe(1);
    expect(imported.stdout).toBe(
      'created 1 user(s); rejected 1 row(s)\n  line 3 (E-11): org unit "gov/nowhere" does not exist\n',
    );
  });

  it("imports a large JSON file with progress on stderr, exit 0 when every row is created", async () => {
    const rows = Array.from({ length: 1000 }, (_, index) => ({
      name: `Clerk ${index}`,
      employeeNumber: `B-${String(index).padStart(4, "0")}`,
      orgUnit: "gov/gz",
      roles: ["subscriber"],
    }));
    await writeFile(join(directory, "bulk.data"), JSON.stringify(rows));
    const imported = await ca(["user", "import", "bulk.data", "--format", "json"]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain("imported 500 of 1000 users\nimported 1000 of 1000 users\n");
    expect(imported.stdout).toBe("created 1000 user(s); rejected 0 row(s)\n");
    expect((await ca(["user", "import", "bulk.data"])).stderr).toContain("--format must be json or csv");
  }, 120_000);

  it("sets a password from stdin, enrolls TOTP once, disables and lists", async () => {
    const short = await ca(["user", "password", "E-1"], "too short\n");
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("password-too-short");
    const set = await ca(["user", "password", "E-1"], "a long enough password\n");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("password set for user");

    const totp = await ca(["user", "totp", "E-1"]);
    expect(totp.code, totp.stderr).toBe(0);
    expect(totp.stdout).toMatch(/^otpauth:\/\/totp\/[^:]+:E-1\?secret=[A-Z2-7]{32}&/);
    const again = await ca(["user", "totp", "E-1"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("totp-enrolled");
    const reset = await ca(["user", "totp", "E-1", "--reset"]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).not.toBe(totp.stdout);

    expect((await ca(["user", "disable", "E-10"])).stdout).toContain("disabled user");
    const list = await ca(["user", "list", "--org-unit", "gov/gz"]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain("1002 user(s)");
    const lines = list.stdout.split("\n");
    expect(lines.find((line) => line.startsWith("E-1 "))).toMatch(
      /ra-operator,auditor .*gov\/gz .*active,password,totp {2}王芳$/,
    );
    expect(lines.find((line) => line.startsWith("E-10 "))).toContain("disabled,no-password,no-totp");
    expect((await ca(["user", "disable", "NOBODY"])).stderr).toContain('user "NOBODY" does not exist');
  }, 240_000); // a dozen processes; slow when other suites share the two cores
});
