/** `ca enrollment list|show|approve|reject` as an operator runs it: real processes on an embedded data directory. */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actorOf, cliActor } from "../../src/auth/principal.js";
import { loadConfig } from "../../src/config.js";
import { openContext } from "../../src/context.js";
import { buildCsrPem, generateTestKey } from "../helpers/csr.js";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "../../bin/ca.mjs");

describe("ca enrollment", () => {
  let directory: string;
  const env = () => ({
    ...process.env,
    CA_DATA_DIR: join(directory, "data"),
    DATABASE_URL: "",
    LOG_LEVEL: "silent",
  });
  const ca = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: env(), cwd: directory });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const ids: string[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "ca-cli-enrol-"));
    expect((await ca("init")).code).toBe(0);
    // A civil servant asks for two user-signing certificates (through the service, as the portal would).
    const context = await openContext(loadConfig(env()));
    try {
      const user = await context.directory.create(cliActor("test"), {
        name: "Zhou Ba",
        employeeNumber: "E-ZHOUBA",
        orgUnit: "gov",
        roles: ["subscriber"],
      });
      const principal = { ...user, kind: "user" as const, dnsNames: [] };
      for (let i = 0; i < 2; i++) {
        const { enrollment } = await context.enrollments.submit(actorOf(principal), {
          profile: "user-signing",
          method: "csr",
          csr: buildCsrPem({ key: generateTestKey("p256") }),
        });
        ids.push(enrollment.id);
      }
    } finally {
      await context.close();
    }
  }, 180_000);
  afterAll(async () => rm(directory, { recursive: true, force: true }));

  it("lists the pending queue, shows a request, approves one and rejects the other with a reason", async () => {
    const list = await ca("enrollment", "list", "--status", "pending");
    expect(list.code, list.stderr).toBe(0);
    for (const id of ids) expect(list.stdout).toContain(id);
    expect(list.stdout).toContain("Zhou Ba (E-ZHOUBA, gov)");

    const show = await ca("enrollment", "show", ids[0]!);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: ids[0], status: "pending", profile: "user-signing" });

    const approved = await ca("enrollment", "approve", ids[0]!);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^${ids[0]}  issued`));

    const noReason = await ca("enrollment", "reject", ids[1]!);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("--reason is required");
    const rejected = await ca("enrollment", "reject", ids[1]!, "--reason", "wrong unit");
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain("rejected");

    const again = await ca("enrollment", "approve", ids[1]!);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("enrollment-decided");
    expect((await ca("enrollment", "list", "--status", "bogus")).code).toBe(2);
  }, 180_000); // seven processes; slow when other suites share the two cores
});
