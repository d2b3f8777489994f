/** Certificate search: filters and keyset pagination, through the API, on both engines. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FixedClock } from "../../src/clock.js";
import { buildCsrPem, sharedTestKey } from "../helpers/csr.js";
import { ENGINES } from "../helpers/databases.js";
import { bearer, createHarness, type Harness } from "../helpers/harness.js";

describe.each(ENGINES)("certificate search on %s", (engine) => {
  let harness: Harness;
  const clock = new FixedClock(new Date("2026-06-01T00:00:00Z"));

  beforeAll(async () => {
    harness = await createHarness(engine, { clock });
    await harness.orgUnit("gov/east", "region");
    const issue = async (profile: string, orgUnit: string, commonName: string) => {
      clock.advance(1000);
      const names = profile === "tls-server" ? [{ type: "dns", value: `${commonName}.gov.test` }] : [];
      const response = await harness.app.inject({
        method: "POST",
        url: "/api/v1/certificates",
        headers: { ...bearer(harness.adminToken), accept: "application/json" },
        payload: {
          csr: buildCsrPem({ key: sharedTestKey("p256") }),
          profile,
          subject: { orgUnit, commonName: profile === "tls-server" ? undefined : commonName },
          subjectAltNames: names,
        },
      });
      expect(response.statusCode, response.body).toBe(201);
    };
    for (let i = 0; i < 7; i++) await issue("tls-server", "gov", `web${i}`);
    for (let i = 0; i < 5; i++) await issue("user-signing", "gov/east", `Zhang San ${i}`);
  });
  afterAll(async () => harness?.close());

  const search = async (query: string) => {
    const response = await harness.app.inject({
      url: `/api/v1/certificates?${query}`,
      headers: bearer(harness.adminToken),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as {
      items: { serial: string; subject: string; profile: string; orgUnit: string }[];
      nextCursor: string | null;
    };
  };

  it("filters by profile, subject and org subtree", async () => {
    expect((await search("profile=user-signing")).items).toHaveLength(5);
    expect((await search("subject=zhang%20san%203")).items.map((i) => i.subject)).toEqual([
      expect.stringContaining("CN=Zhang San 3"),
    ]);
    expect((await search("orgUnit=gov/east")).items.every((i) => i.orgUnit === "gov/east")).toBe(true);
    expect((await search("status=revoked")).items).toHaveLength(0);
  });

  it("filters by expiry window", async () => {
    // tls-server lives 397 days, user-signing 730: a window between them separates the two.
    const cut = new Date(clock.now().getTime() + 500 * 86_400_000).toISOString();
    expect((await search(`expiresBefore=${cut}`)).items.every((i) => i.profile === "tls-server")).toBe(true);
    expect((await search(`expiresAfter=${cut}`)).items).toHaveLength(5);
  });

  it("pages through everything newest first, without repeats or gaps", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof search>> = await search(
        `limit=5${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.items.map((item) => item.serial));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
    const all = await search("limit=100");
    expect(all.items.map((i) => i.serial)).toEqual(seen);
    expect(all.items[0]!.subject).toContain("Zhang San 4");
  });

  it("refuses a forged cursor and out-of-range limits with 400", async () => {
    for (const query of [
      "cursor=bm90LWEtY3Vyc29y",
      "limit=0",
      "limit=501",
      "expiresBefore=yesterday",
      "status=lost",
      "unknown=1",
    ]) {
      const response = await harness.app.inject({
        url: `/api/v1/certificates?${query}`,
        headers: bearer(harness.adminToken),
      });
      expect(response.statusCode, query).toBe(400);
      expect(response.headers["content-type"]).toContain("application/problem+json");
    }
  });
});
