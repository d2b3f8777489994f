/** Object-level authorization: RA operators act only in their org subtree, subscribers only for themselves. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCsrPem } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe.each(ENGINES)("org-unit scope on %s", (engine) => {
  let harness: Harness;
  let raNorth: string;
  let subscriberA: { id: string; token: string };
  let subscriberB: { id: string; token: string };
  const serials: Record<string, string> = {};

  const issue = (token: string, payload: object) =>
    harness.app.inject({
      method: "POST",
      url: "/api/v1/certificates",
      headers: { ...bearer(token), accept: "application/json" },
      payload,
    });
  const csr = (dns = "svc.gov.test") => buildCsrPem({ names: [{ type: "dns", value: dns }] });

  beforeAll(async () => {
    harness = await createHarness(engine);
    await harness.orgUnit("gov/north/city-a", "city");
    await harness.orgUnit("gov/south/city-b", "city");
    raNorth = (await harness.account("ra-operator", "gov/north")).token;
    subscriberA = await harness.account("subscriber", "gov/north/city-a", ["a.gov.test"]);
    subscriberB = await harness.account("subscriber", "gov/south/city-b", ["b.gov.test"]);
    for (const [key, unit] of [
      ["north", "gov/north/city-a"],
      ["south", "gov/south/city-b"],
    ] as const) {
      const response = await issue(harness.adminToken, {
        csr: csr(),
        profile: "tls-client",
        subject: { orgUnit: unit, commonName: key },
      });
      expect(response.statusCode, response.body).toBe(201);
      serials[key] = response.json().serial;
    }
  });
  afterAll(async () => harness?.close());

  it("lets an RA operator issue inside its subtree", async () => {
    const response = await issue(raNorth, {
      csr: csr(),
      profile: "tls-client",
      subject: { orgUnit: "gov/north/city-a", commonName: "ok" },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json().orgUnit).toBe("gov/north/city-a");
  });

  it("refuses an RA operator outside its subtree, and a sibling whose path shares its prefix", async () => {
    await harness.orgUnit("gov/northwest", "region");
    for (const orgUnit of ["gov/south/city-b", "gov", "gov/northwest"]) {
      const response = await issue(raNorth, {
        csr: csr(),
        profile: "tls-client",
        subject: { orgUnit, commonName: "x" },
      });
      expect(response.statusCode, orgUnit).toBe(403);
      expect(response.json().detail).toContain("outside this RA operator's subtree");
    }
  });

  it("shows an RA operator only the certificates of its subtree", async () => {
    const list = await harness.app.inject({
      url: "/api/v1/certificates?limit=500",
      headers: bearer(raNorth),
    });
    const units = list.json().items.map((item: { orgUnit: string }) => item.orgUnit);
    expect(units.length).toBeGreaterThan(0);
    expect(units.every((unit: string) => unit.startsWith("gov/north/"))).toBe(true);
    const foreign = await harness.app.inject({
      url: `/api/v1/certificates/${serials.south}`,
      headers: bearer(raNorth),
    });
    expect(foreign.statusCode).toBe(404);
    const own = await harness.app.inject({
      url: `/api/v1/certificates/${serials.north}`,
      headers: bearer(raNorth),
    });
    expect(own.statusCode).toBe(200);
  });

  it("gives a subscriber its own account's subject and refuses a stated one", async () => {
    const own = await issue(subscriberA.token, { csr: csr("a.gov.test"), profile: "tls-server" });
    expect(own.statusCode, own.body).toBe(201);
    expect(own.json().orgUnit).toBe("gov/north/city-a");
    expect(own.json().subject).toContain("CN=a.gov.test");
    const stated = await issue(subscriberA.token, {
      csr: csr("a.gov.test"),
      profile: "tls-server",
      subject: { orgUnit: "gov" },
    });
    expect(stated.statusCode).toBe(400);
    expect(stated.json().code).toBe("subject-not-allowed");
  });

  it("refuses a subscriber a DNS name not registered for it", async () => {
    const response = await issue(subscriberA.token, { csr: csr("b.gov.test"), profile: "tls-server" });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe("san-not-authorized");
  });

  it("refuses a subscriber a profile reserved to security admins", async () => {
    const response = await issue(subscriberA.token, { csr: csr(), profile: "ocsp-signer" });
    expect(response.statusCode).toBe(403);
  });

  it("shows a subscriber only its own certificates", async () => {
    await issue(subscriberB.token, { csr: csr("b.gov.test"), profile: "tls-server" });
    const list = await harness.app.inject({
      url: "/api/v1/certificates",
      headers: bearer(subscriberA.token),
    });
    const items = list.json().items as { subject: string }[];
    expect(items.length).toBe(1);
    expect(items[0]!.subject).toContain("CN=a.gov.test");
    const other = await harness.app.inject({
      url: `/api/v1/certificates/${serials.north}`,
      headers: bearer(subscriberA.token),
    });
    expect(other.statusCode).toBe(404);
  });
});
