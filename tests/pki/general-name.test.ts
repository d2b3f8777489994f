import { describe, expect, it } from "vitest";
import { decode } from "../../src/pki/der-reader.js";
import {
  dnsNameProblem,
  encodeGeneralNames,
  normalizeGeneralName,
  parseGeneralNames,
} from "../../src/pki/general-name.js";

describe("GeneralName (RFC 5280 §4.2.1.6)", () => {
  it.each([
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::", "::"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["fe80::", "fe80::"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
  ])("writes IPv6 %s as %s (RFC 5952 §4.2)", (input, expected) => {
    expect(normalizeGeneralName({ type: "ip", value: input }).value).toBe(expected);
    const [parsed] = parseGeneralNames(decode(encodeGeneralNames([{ type: "ip", value: input }])), 10);
    expect(parsed!.value).toBe(expected);
  });

  it("round-trips every supported form", () => {
    const names = [
      { type: "dns", value: "www.gov.test" },
      { type: "ip", value: "192.0.2.7" },
      { type: "email", value: "li.lei@gov.test" },
      { type: "uri", value: "https://erp.gov.test/" },
    ] as const;
    expect(parseGeneralNames(decode(encodeGeneralNames(names)), 10)).toEqual(names);
  });

  it.each([
    ["exa mple.gov", false, /RFC 1034/],
    ["-bad.gov", false, /RFC 1034/],
    ["*.gov.test", false, /wildcards are not allowed/],
    ["*.test", true, /at least two labels/],
    ["localhost", false, /at least two labels/],
    ["host.123", false, /numeric/],
  ])("refuses the DNS name %s", (name, wildcards, problem) => {
    expect(dnsNameProblem(name, wildcards)).toMatch(problem);
  });
});
