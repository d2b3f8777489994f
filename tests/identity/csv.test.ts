/** The RFC 4180 CSV reader of the directory import. */
import { describe, expect, it } from "vitest";
import { CsvError, parseCsv } from "../../src/identity/csv.js";

describe("CSV (RFC 4180 §2)", () => {
  it("reads CRLF, LF and CR records, quoted fields with commas, doubled quotes and line breaks", () => {
    expect(parseCsv('a,b,c\r\n"x, y","say ""hi""",\n"two\r\nlines",2,3\rlast,,\n')).toEqual([
      { line: 1, fields: ["a", "b", "c"] },
      { line: 2, fields: ["x, y", 'say "hi"', ""] },
      { line: 3, fields: ["two\r\nlines", "2", "3"] },
      { line: 5, fields: ["last", "", ""] },
    ]);
  });

  it("takes a last record without a line break, skips blank lines and a byte order mark, keeps a quoted empty field", () => {
    expect(parseCsv('\uFEFFh\n\n""\n\nend')).toEqual([
      { line: 1, fields: ["h"] },
      { line: 3, fields: [""] },
      { line: 5, fields: ["end"] },
    ]);
  });

  it("marks a record with a stray quote and goes on with the next", () => {
    expect(parseCsv('ok,1\nba"d,2\n"closed"tail,3\nok,4\n')).toEqual([
      { line: 1, fields: ["ok", "1"] },
      {
        line: 2,
        fields: ['ba"d', "2"],
        problem: "field 1 holds a quote but is not enclosed in quotes (RFC 4180 §2.5)",
      },
      {
        line: 3,
        fields: ["closed", "3"],
        problem: "field 1 has text after its closing quote (RFC 4180 §2.7)",
      },
      { line: 4, fields: ["ok", "4"] },
    ]);
  });

  it("refuses a quoted field that never closes, naming the line it opens on", () => {
    expect(() => parseCsv('a\n"open,\nmore\n')).toThrow(
      new CsvError(2, "a quoted field is not closed (RFC 4180 §2.5)"),
    );
    expect(() => parseCsv('a\n"open,\nmore\n')).toThrow(
      "line 2: a quoted field is not closed (RFC 4180 §2.5)",
    );
  });
});
