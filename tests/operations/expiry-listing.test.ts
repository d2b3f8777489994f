/**
 * The portal lists soon-expiring certificates with the search API
 * (`?status=good&expiresAfter=<now>&expiresBefore=<now + window>`): a holder sees only its own,
 * an RA operator only its subtree, a security admin all; on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixedClock } from "../../src/clock.js";
import { buildCsrPem, sharedTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe.each(ENGINES)("expiring certificates listed by scope on %s", (engine) => {
  let harness: Harness;
  const clock = new FixedClock(new Date("2025-05-20T00:00:00Z"));
  const NOW = new Date("2026-06-10T10:00:00Z");
  const serials = new Map<string, string>();
  let holder: { id: string; token: string };
  let raNorth = "";

  const issue = async (name: string, options: { orgUnit?: string; token?: string }) => {
    const own = options.token !== undefined;
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(options.token ?? harness.adminToken), accept: "application/json" },
      payload: {
        csr: buildCsrPem({
          key: sharedTestKey("p256"),
          names: own ? [{ type: "dns", value: "holder.gov.test" }] : [],
        }),
        profile: "tls-client",
        ...(own ? {} : { subject: { orgUnit: options.orgUnit, commonName: name } }),
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    serials.set(name, response.json().serial);
  };
  const expiring = async (token: string) => {
    const query = new URLSearchParams({
      status: "good",
      expiresAfter: NOW.toISOString(),
      expiresBefore: new Date(NOW.getTime() + 30 * 86_400_000).toISOString(),
    });
    const response = await harness.app.inject({
      url: `/api/v1/certificates?${query}`,
      headers: bearer(token),
    });
    expect(response.statusCode, response.body).toBe(200);
    const names = new Map([...serials].map(([name, serial]) => [serial, name]));
    return (response.json().items as { serial: string }[]).map((item) => names.get(item.serial)).sort();
  };

  beforeAll(async () => {
    harness = await createHarness(engine, { clock });
    await harness.orgUnit("gov/north/a", "county");
    await harness.orgUnit("gov/south", "region");
    holder = await harness.account("subscriber", "gov/north", ["holder.gov.test"]);
    raNorth = (await harness.account("ra-operator", "gov/north")).token;
    // Issued 2025-05-20, a tls-client certificate (397 days) expires 2026-06-21: in the window at NOW.
    await issue("holder-own", { token: holder.token });
    await issue("holder-revoked", { token: holder.token });
    await issue("north", { orgUnit: "gov/north" });
    await issue("north-a", { orgUnit: "gov/north/a" });
    await issue("south", { orgUnit: "gov/south" });
    const revoked = await harness.app.inject({
      method: "POST",
      url: `/api/v1/certificates/${serials.get("holder-revoked")}/revoke`,
      headers: bearer(holder.token),
      payload: { reason: "superseded" },
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    clock.advance(60 * 86_400_000); // issued 2025-07-19: expires 2026-08-20, beyond the window
    await issue("holder-later", { token: holder.token });
    await issue("north-later", { orgUnit: "gov/north" });
    clock.advance(NOW.getTime() - clock.now().getTime());
  });
  afterAll(async () => harness?.close());

  it("shows a holder only its own good certificates in the window", async () => {
    expect(await expiring(holder.token)).toEqual(["holder-own"]);
  });

  it("shows an RA operator only its subtree", async () => {
    expect(await expiring(raNorth)).toEqual(["holder-own", "north", "north-a"]);
  });

  it("shows a security admin every good certificate in the window", async () => {
    expect(await expiring(harness.adminToken)).toEqual(["holder-own", "north", "north-a", "south"]);
  });
});
