import { describe, expect, it } from "vitest";
import {
  type CachedResponse,
  cachedResponse,
  cacheKey,
  ResponseCache,
} from "../../src/revocation/ocsp/cache.js";

const NOW = Date.UTC(2026, 0, 1);

function response(serial: string, refreshAtMs = NOW + 3600_000): CachedResponse {
  return cachedResponse({
    issuerId: "issuing-1",
    serial,
    hash: "sha1",
    der: Buffer.from(serial, "hex"),
    status: { kind: "good" },
    thisUpdate: new Date(NOW),
    nextUpdate: new Date(NOW + 7200_000),
    refreshAtMs,
  });
}

const held = (cache: ResponseCache, serial: string) =>
  cache.get(cacheKey("issuing-1", "sha1", serial), NOW)?.serial;

describe("ResponseCache (the per-node memory of pre-signed OCSP responses)", () => {
  it("evicts the oldest response not asked for since it was stored; one asked for gets a second chance", () => {
    const cache = new ResponseCache(3);
    for (const serial of ["0a", "0b", "0c"]) cache.put(response(serial));
    expect(held(cache, "0a")).toBe("0a"); // asked for: survives the next sweep
    cache.put(response("0d"));
    expect(cache.size).toBe(3);
    expect(held(cache, "0b")).toBeUndefined(); // the oldest not asked for
    expect(held(cache, "0a")).toBe("0a");
    cache.put(response("0e")); // 0c is now the oldest, never asked for
    expect(held(cache, "0c")).toBeUndefined();
    expect([held(cache, "0a"), held(cache, "0d"), held(cache, "0e")]).toEqual(["0a", "0d", "0e"]);
  });

  it("answers nothing past an entry's refresh time, and nothing while disabled", () => {
    const cache = new ResponseCache(10);
    cache.put(response("01", NOW));
    expect(held(cache, "01")).toBeUndefined();
    cache.put(response("02"));
    cache.enabled = false;
    expect(held(cache, "02")).toBeUndefined();
    cache.put(response("03"));
    cache.enabled = true;
    expect(held(cache, "03")).toBeUndefined();
    expect(held(cache, "02")).toBe("02");
  });

  it("drops what was read before an invalidation (epoch), and putIfAbsent keeps what it holds", () => {
    const cache = new ResponseCache(10);
    const epoch = cache.epoch;
    cache.evict("issuing-1", "05");
    cache.putIfUnchanged(response("05"), epoch);
    expect(held(cache, "05")).toBeUndefined();
    expect(cache.putIfAbsent(response("06"), epoch)).toBe(false);
    const first = response("07");
    expect(cache.putIfAbsent(first, cache.epoch)).toBe(true);
    expect(cache.putIfAbsent(response("07"), cache.epoch)).toBe(false);
    expect(cache.get(cacheKey("issuing-1", "sha1", "07"), NOW)).toBe(first);
  });

  it("replaceIfPresent replaces only what it holds, and stores nothing with capacity 0", () => {
    const cache = new ResponseCache(10);
    cache.replaceIfPresent(response("08"), cache.epoch);
    expect(cache.size).toBe(0);
    cache.put(response("09"));
    const newer = response("09");
    cache.replaceIfPresent(newer, cache.epoch);
    expect(cache.get(cacheKey("issuing-1", "sha1", "09"), NOW)).toBe(newer);
    const none = new ResponseCache(0);
    none.put(response("0a"));
    expect(none.putIfAbsent(response("0b"), none.epoch)).toBe(false);
    expect(none.size).toBe(0);
  });
});
