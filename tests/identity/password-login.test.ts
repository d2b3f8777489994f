/** Password + TOTP login (RFC 6238): one generic error, audit records, lockout, single-use codes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliActor } from "../../src/auth/principal.js";
import { FixedClock } from "../../src/clock.js";
import type { PasswordLoginInput } from "../../src/identity/password-login.js";
import { base32Decode, totp } from "../../src/identity/totp.js";
import { ENGINES } from "../helpers/databases.js";
import { createHarness, type Harness } from "../helpers/harness.js";

const admin = cliActor("test");
const PASSWORD = "correct horse battery staple";
const GENERIC = {
  status: 401,
  code: "login-failed",
  message: "the employee number, password or one-time code is wrong",
};

describe.each(ENGINES)("password login on %s", (engine) => {
  let harness: Harness;
  const clock = new FixedClock(new Date("2026-03-02T08:00:10Z"));
  const users: Record<string, { id: string; secret: Buffer }> = {};

  /** A user with password and TOTP; `employeeNumber` also names it in `users`. */
  const enrolled = async (
    employeeNumber: string,
    roles: ("subscriber" | "ra-operator" | "auditor")[] = ["subscriber"],
  ) => {
    const user = await harness.context.directory.create(admin, {
      name: `User ${employeeNumber}`,
      employeeNumber,
      orgUnit: "gov",
      roles,
    });
    await harness.context.directory.setPassword(admin, user.id, PASSWORD);
    const { secret } = await harness.context.directory.enrollTotp(admin, user.id);
    users[employeeNumber] = { id: user.id, secret: base32Decode(secret) };
    return user;
  };
  const code = (employeeNumber: string, offsetSteps = 0) => {
    const user = users[employeeNumber.toUpperCase()];
    return user ? totp(user.secret, new Date(clock.now().getTime() + offsetSteps * 30_000)) : "123456";
  };
  const login = (input: Partial<PasswordLoginInput> & { login: string }) =>
    harness.context.passwordLogin.verify({ password: PASSWORD, otp: code(input.login), ...input });
  const lastLoginAudit = async () =>
    (
      await harness.context.db.query<{
        actor: string;
        target: string;
        outcome: string;
        details: Record<string, unknown>;
        request_id: string | null;
      }>(
        // The newest by append order (id): the chain's seq may not be assigned yet (sealed after commit).
        "SELECT actor, target, outcome, details, request_id FROM audit_log WHERE action = 'login.password' ORDER BY id DESC LIMIT 1",
      )
    ).rows[0]!;

  beforeAll(async () => {
    harness = await createHarness(engine, {
      clock,
      env: { CA_LOGIN_MAX_FAILURES: "3", CA_LOGIN_LOCKOUT_MINUTES: "10", CA_LOGIN_ADDRESS_MAX_FAILURES: "4" },
    });
    await enrolled("P-1", ["ra-operator", "auditor"]);
    await enrolled("P-2");
    await enrolled("P-3");
    await enrolled("P-4");
  });
  afterAll(async () => harness?.close());

  it("logs in with employee number (any case), password and code: the principal with its roles, amr pwd+otp", async () => {
    const result = await login({ login: "P-1", requestId: "req-1", remoteAddress: "192.0.2.7" });
    expect(result.amr).toEqual(["pwd", "otp"]);
    expect(result.principal).toMatchObject({
      id: users["P-1"]!.id,
      kind: "user",
      name: "User P-1",
      roles: ["ra-operator", "auditor"],
      orgUnit: "gov",
    });
    expect(await lastLoginAudit()).toEqual({
      actor: `user:${users["P-1"]!.id}`,
      target: `principal:${users["P-1"]!.id}`,
      outcome: "success",
      request_id: "req-1",
      details: { login: "P-1", amr: ["pwd", "otp"], remoteAddress: "192.0.2.7" },
    });
    expect((await harness.context.directory.get(users["P-1"]!.id))?.lastLoginAt).toEqual(clock.now());
  });

  it("refuses a code whose step was used already, and codes of earlier steps (RFC 6238 §5.2)", async () => {
    clock.advance(30_000);
    await login({ login: "p-2" });
    await expect(login({ login: "P-2" })).rejects.toMatchObject(GENERIC);
    expect((await lastLoginAudit()).details.reason).toBe("otp-reused");
    await expect(login({ login: "P-2", otp: code("P-2", -1) })).rejects.toMatchObject(GENERIC);
    expect((await lastLoginAudit()).details.reason).toBe("otp-reused");
    await login({ login: "P-2", otp: code("P-2", 1) }); // the next step, within the ±1 window
  });

  it("lets only one of two logins racing with the same code through", async () => {
    clock.advance(90_000);
    const results = await Promise.allSettled([login({ login: "P-3" }), login({ login: "P-3" })]);
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
  });

  it.each([
    ["unknown-user", { login: "NOBODY-1" }],
    ["unknown-user", { login: "not an employee number; maybe a password" }],
    ["wrong-password", { login: "P-4", password: "wrong horse battery staple" }],
    ["otp-missing", { login: "P-4", otp: "" }],
    ["otp-wrong", { login: "P-4", otp: "000000" }],
    ["otp-wrong", { login: "P-4", otp: "12345" }],
  ] as const)("answers %s with the one generic error and audits the reason", async (reason, input) => {
    clock.advance(30_000);
    await expect(login(input as PasswordLoginInput)).rejects.toMatchObject(GENERIC);
    const record = await lastLoginAudit();
    expect(record.outcome).toBe("failure");
    expect(record.details.reason).toBe(reason);
    const text = JSON.stringify(record);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain("wrong horse");
    if ("otp" in input && input.otp) expect(text).not.toContain(input.otp);
    if (reason === "unknown-user") {
      expect(record.actor).toBe("anonymous");
      expect(record.details.login).toBe(/^[A-Za-z0-9-]+$/.test(input.login) ? input.login : undefined);
    }
    await login({ login: "P-4" }); // resets the counter for the next case
  });

  it("answers no-totp, no-password and disabled with the same generic error", async () => {
    const directory = harness.context.directory;
    const noTotp = await directory.create(admin, {
      name: "No TOTP",
      employeeNumber: "P-5",
      orgUnit: "gov",
      roles: ["subscriber"],
    });
    await directory.setPassword(admin, noTotp.id, PASSWORD);
    await expect(login({ login: "P-5", otp: "123456" })).rejects.toMatchObject(GENERIC);
    expect((await lastLoginAudit()).details.reason).toBe("no-totp");
    await directory.create(admin, {
      name: "No password",
      employeeNumber: "P-6",
      orgUnit: "gov",
      roles: ["subscriber"],
    });
    await expect(login({ login: "P-6", otp: "123456" })).rejects.toMatchObject(GENERIC);
    expect((await lastLoginAudit()).details.reason).toBe("no-password");

    clock.advance(30_000);
    await directory.disable(admin, users["P-4"]!.id);
    await expect(login({ login: "P-4" })).rejects.toMatchObject(GENERIC);
    expect((await lastLoginAudit()).details.reason).toBe("disabled");
    await directory.enable(admin, users["P-4"]!.id);
    await login({ login: "P-4" });
  });

  it("locks the account after CA_LOGIN_MAX_FAILURES consecutive failures, until CA_LOGIN_LOCKOUT_MINUTES have passed", async () => {
    clock.advance(30_000);
    const wrong = { login: "P-2", password: "not the password at all" };
    await expect(login(wrong)).rejects.toMatchObject(GENERIC);
    await expect(login(wrong)).rejects.toMatchObject(GENERIC);
    const until = new Date(clock.now().getTime() + 10 * 60_000);
    await expect(login(wrong)).rejects.toMatchObject({
      status: 423,
      code: "account-locked",
      message: `too many failed logins: the account is locked; try again after ${until.toISOString()}`,
      extensions: { lockedUntil: until.toISOString() },
    });
    expect((await lastLoginAudit()).details).toMatchObject({
      reason: "wrong-password",
      lockedUntil: until.toISOString(),
    });
    // Locked: even the right password and code are refused, and the refusal is audited.
    await expect(login({ login: "P-2" })).rejects.toMatchObject({ status: 423, code: "account-locked" });
    expect(await lastLoginAudit()).toMatchObject({ outcome: "failure", details: { reason: "locked" } });
    expect((await harness.context.directory.get(users["P-2"]!.id))?.lockedUntil).toEqual(until);

    clock.advance(10 * 60_000 - 1000);
    await expect(login({ login: "P-2" })).rejects.toMatchObject({ status: 423 });
    clock.advance(1000);
    const result = await login({ login: "P-2" });
    expect(result.principal.id).toBe(users["P-2"]!.id);
    expect((await harness.context.directory.get(users["P-2"]!.id))?.lockedUntil).toBeNull();
  });

  it("counts only consecutive failures: a success starts the count afresh", async () => {
    clock.advance(30_000);
    await login({ login: "P-3" });
    clock.advance(30_000);
    const wrong = { login: "P-3", password: "not the password at all" };
    await expect(login(wrong)).rejects.toMatchObject(GENERIC);
    await expect(login(wrong)).rejects.toMatchObject(GENERIC);
    await login({ login: "P-3" });
    await expect(login(wrong)).rejects.toMatchObject(GENERIC);
    await expect(login(wrong)).rejects.toMatchObject(GENERIC);
    clock.advance(30_000);
    await login({ login: "P-3" });
  });

  it("a new password set by an administrator lifts a lockout", async () => {
    clock.advance(30_000);
    const wrong = { login: "P-4", password: "not the password at all" };
    for (let attempt = 0; attempt < 2; attempt++) await expect(login(wrong)).rejects.toMatchObject(GENERIC);
    await expect(login(wrong)).rejects.toMatchObject({ code: "account-locked" });
    await harness.context.directory.setPassword(admin, users["P-4"]!.id, PASSWORD);
    await login({ login: "P-4" });
  });

  it("throttles an address after CA_LOGIN_ADDRESS_MAX_FAILURES failures across accounts, for the lockout time", async () => {
    clock.advance(30_000);
    const sprayer = "198.51.100.9";
    for (const employeeNumber of ["SPRAY-1", "SPRAY-2", "SPRAY-3", "SPRAY-4"])
      await expect(login({ login: employeeNumber, remoteAddress: sprayer })).rejects.toMatchObject(GENERIC);
    const until = new Date(clock.now().getTime() + 10 * 60_000);
    // Now even right credentials from that address wait; the refusal is audited.
    await expect(login({ login: "P-1", remoteAddress: sprayer })).rejects.toMatchObject({
      status: 429,
      code: "login-throttled",
      message: `too many failed logins from this address; try again after ${until.toISOString()}`,
    });
    expect(await lastLoginAudit()).toMatchObject({
      actor: "anonymous",
      outcome: "failure",
      details: { login: "P-1", reason: "throttled", remoteAddress: sprayer },
    });
    await login({ login: "P-1", remoteAddress: "198.51.100.10" }); // another address is not concerned
    clock.advance(10 * 60_000);
    clock.advance(30_000);
    await login({ login: "P-1", remoteAddress: sprayer });
  });
});
