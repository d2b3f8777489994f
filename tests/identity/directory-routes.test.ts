/** The directory's HTTP API: /api/v1/users and its import, password and TOTP routes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixedClock } from "../../src/clock.js";
import { base32Decode, totp } from "../../src/identity/totp.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe.each(ENGINES)("directory API on %s", (engine) => {
  let harness: Harness;
  let raToken: string;
  let auditorToken: string;
  const clock = new FixedClock(new Date("2026-03-02T08:00:10Z"));

  const call = (
    method: "GET" | "POST" | "PUT" | "DELETE",
    url: string,
    token: string,
    payload?: object | string,
    contentType?: string,
  ) =>
    harness.app.inject({
      method,
      url,
      headers: { ...bearer(token), ...(contentType ? { "content-type": contentType } : {}) },
      ...(payload === undefined ? {} : { payload }),
    });

  beforeAll(async () => {
    harness = await createHarness(engine, { clock });
    await harness.orgUnit("gov/gz/tianhe", "county");
    await harness.orgUnit("gov/sz", "city");
    raToken = (await harness.account("ra-operator", "gov/gz")).token;
    auditorToken = (await harness.account("auditor", "gov")).token;
  });
  afterAll(async () => harness?.close());

  it("creates a user (201) and reads it back; the view has no secret", async () => {
    const created = await call("POST", "/api/v1/users", harness.adminToken, {
      name: "Lin Hui",
      employeeNumber: "API-1",
      orgUnit: "gov/gz/tianhe",
      roles: ["subscriber", "auditor"],
      email: "lin.hui@gz.gov.test",
    });
    expect(created.statusCode, created.body).toBe(201);
    const user = created.json();
    expect(user).toEqual({
      id: expect.any(String),
      name: "Lin Hui",
      employeeNumber: "API-1",
      email: "lin.hui@gz.gov.test",
      orgUnit: "gov/gz/tianhe",
      roles: ["subscriber", "auditor"],
      disabledAt: null,
      createdAt: clock.now().toISOString(),
      hasPassword: false,
      hasTotp: false,
      lockedUntil: null,
      lastLoginAt: null,
    });
    const read = await call("GET", `/api/v1/users/${user.id}`, auditorToken);
    expect(read.json()).toEqual(user);
    const again = await call("POST", "/api/v1/users", harness.adminToken, {
      name: "Other",
      employeeNumber: "api-1",
      roles: ["subscriber"],
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe("employee-number-taken");
    const unknownField = await call("POST", "/api/v1/users", harness.adminToken, {
      name: "X",
      employeeNumber: "API-9",
      roles: ["subscriber"],
      password: "x",
    });
    expect(unknownField.statusCode).toBe(400);
    expect(unknownField.json().detail).toContain('unknown field "password"');
  });

  it("imports JSON and text/csv, answering the created users and the rejected rows", async () => {
    const json = await call("POST", "/api/v1/users/import", harness.adminToken, {
      format: "json",
      data: [
        { name: "Imported A", employeeNumber: "API-2", orgUnit: "gov/gz", roles: ["subscriber"] },
        { name: "Imported B", employeeNumber: "API-1", orgUnit: "gov/gz", roles: ["subscriber"] },
      ],
    });
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json()).toEqual({
      created: [{ id: expect.any(String), employeeNumber: "API-2" }],
      rejected: [
        { line: 2, employeeNumber: "API-1", reason: 'employee number "API-1" belongs to another user' },
      ],
    });
    const csvText =
      "name,employee_number,org_unit,roles\nImported C,API-3,gov/sz,subscriber\nImported D,API-4,gov/zz,subscriber\n";
    const csv = await call("POST", "/api/v1/users/import", harness.adminToken, csvText, "text/csv");
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.json().rejected).toEqual([
      { line: 3, employeeNumber: "API-4", reason: 'org unit "gov/zz" does not exist' },
    ]);
    const wrapped = await call("POST", "/api/v1/users/import", harness.adminToken, {
      format: "csv",
      data: "name,employee_number,org_unit,roles\nImported E,API-5,gov/sz,auditor|subscriber\n",
    });
    expect(wrapped.json().created).toEqual([{ id: expect.any(String), employeeNumber: "API-5" }]);
    const broken = await call("POST", "/api/v1/users/import", harness.adminToken, "name,roles\n", "text/csv");
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject({
      code: "import-invalid",
      detail: "the CSV header lacks the column(s) employee_number, org_unit",
    });
  });

  it("lists users; an RA operator sees its subtree only", async () => {
    const all = await call("GET", "/api/v1/users?limit=2", auditorToken);
    expect(all.json().items.map((user: { employeeNumber: string }) => user.employeeNumber)).toEqual([
      "API-1",
      "API-2",
    ]);
    expect(all.json().nextCursor).toBe("api-2");
    const next = await call("GET", `/api/v1/users?limit=2&cursor=${all.json().nextCursor}`, auditorToken);
    expect(next.json().items.map((user: { employeeNumber: string }) => user.employeeNumber)).toEqual([
      "API-3",
      "API-5",
    ]);
    const ra = await call("GET", "/api/v1/users", raToken);
    expect(ra.json().items.map((user: { employeeNumber: string }) => user.employeeNumber)).toEqual([
      "API-1",
      "API-2",
    ]);
    const outside = await call("GET", "/api/v1/users?orgUnit=gov/sz", raToken);
    expect(outside.statusCode).toBe(403);
    const sz = (await call("GET", "/api/v1/users?orgUnit=gov/sz", auditorToken)).json().items[0];
    expect((await call("GET", `/api/v1/users/${sz.id}`, raToken)).statusCode).toBe(404);
  });

  it("sets a password, enrolls TOTP once (no-store), and the user logs in with them", async () => {
    const id = (await harness.context.directory.findByEmployeeNumber("API-2"))!.id;
    const short = await call("PUT", `/api/v1/users/${id}/password`, raToken, { password: "too short" });
    expect(short.statusCode).toBe(400);
    expect(short.json()).toMatchObject({
      code: "password-too-short",
      detail: "the password has 9 characters; it needs at least 12",
    });
    expect(
      (await call("PUT", `/api/v1/users/${id}/password`, raToken, { password: "a good long password" }))
        .statusCode,
    ).toBe(204);
    const enrolled = await call("POST", `/api/v1/users/${id}/totp`, raToken);
    expect(enrolled.statusCode, enrolled.body).toBe(201);
    expect(enrolled.headers["cache-control"]).toBe("no-store");
    const { secret, otpauthUri } = enrolled.json();
    expect(otpauthUri).toMatch(
      /^otpauth:\/\/totp\/Provincial%20E-Government%20Certification%20Centre:API-2\?secret=/,
    );
    expect((await call("POST", `/api/v1/users/${id}/totp`, raToken)).statusCode).toBe(409);
    const result = await harness.context.passwordLogin.verify({
      login: "API-2",
      password: "a good long password",
      otp: totp(base32Decode(secret), clock.now()),
    });
    expect(result.principal.id).toBe(id);
    expect((await call("GET", `/api/v1/users/${id}`, raToken)).json()).toMatchObject({
      hasPassword: true,
      hasTotp: true,
    });
    expect((await call("DELETE", `/api/v1/users/${id}/totp`, raToken)).statusCode).toBe(204);
    expect((await call("DELETE", `/api/v1/users/${id}/totp`, raToken)).json().code).toBe("totp-not-enrolled");
  });

  it("refuses an RA operator the password of a user holding another role", async () => {
    const id = (await harness.context.directory.findByEmployeeNumber("API-1"))!.id;
    const response = await call("PUT", `/api/v1/users/${id}/password`, raToken, {
      password: "a good long password",
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().detail).toBe(
      "an RA operator manages subscribers only; this user holds auditor (a security admin's task)",
    );
  });

  it("disables (listeners run before the answer) and enables a user", async () => {
    const id = (await harness.context.directory.findByEmployeeNumber("API-2"))!.id;
    const ended: string[] = [];
    harness.context.directory.onDisabled(async (userId) => {
      ended.push(userId);
    });
    expect((await call("POST", `/api/v1/users/${id}/disable`, raToken)).statusCode).toBe(204);
    expect(ended).toEqual([id]);
    const twice = await call("POST", `/api/v1/users/${id}/disable`, raToken);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe("user-disabled");
    expect((await call("GET", `/api/v1/users/${id}`, raToken)).json().disabledAt).toBe(
      clock.now().toISOString(),
    );
    expect((await call("POST", `/api/v1/users/${id}/enable`, raToken)).statusCode).toBe(204);
  });
});
