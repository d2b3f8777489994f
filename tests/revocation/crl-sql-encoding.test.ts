/**
 * Complete-CRL entries are DER-encoded by the database (db/stores/crls.ts) for speed; the
 * TypeScript encoder is the reference. The two must produce the same bytes, on both engines,
 * for the cases that matter: serials with leading zero octets or a high first bit, every
 * reason code (unspecified left out), invalidity dates, and the UTCTime/GeneralizedTime switch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../db/migrate.js";
import { encodedRevokedPage } from "../../db/stores/crls.js";
import { CrlWriter } from "../../src/revocation/crl/encoder.js";
import { ENGINES, openTestDatabase, type TestDatabase } from "../helpers/databases.js";

const ROWS = [
  {
    serial: "7f00112233445566778899aabbccddee",
    revoked: "2026-11-24T10:11:12Z",
    reason: 1,
    invalidity: null,
  },
  {
    serial: "80112233445566778899aabbccddeeff",
    revoked: "2026-01-01T00:00:00Z",
    reason: 0,
    invalidity: null,
  },
  { serial: "0000ff01", revoked: "2049-12-31T23:59:59Z", reason: null, invalidity: null },
  { serial: "000001", revoked: "2050-01-01T00:00:00Z", reason: 6, invalidity: null },
  { serial: "00", revoked: "2030-06-15T12:00:00Z", reason: 9, invalidity: "2030-06-01T08:30:00Z" },
  { serial: "0a", revoked: "2031-02-03T04:05:06Z", reason: 0, invalidity: "2031-02-01T00:00:00Z" },
  ...Array.from({ length: 11 }, (_, code) => ({
    serial: `1${code.toString(16)}aa`,
    revoked: "2027-03-04T05:06:07Z",
    reason: code === 7 ? 10 : code,
    invalidity: code % 3 === 0 ? "2027-03-01T00:00:00Z" : null,
  })),
];

describe.each(ENGINES)("CRL entries encoded by the database on %s", (engine) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase(engine);
    await migrate(database.db);
    await database.db.query(
      `INSERT INTO issuers (id, kind, key_label, key_algorithm, certificate, subject_der, key_id, not_before, not_after)
       VALUES ('i', 'issuing', 'l', 'ecdsa-p256', '\\x30', '\\x30', '\\x01', now(), now() + interval '100 years')`,
    );
    for (const row of ROWS)
      await database.db.query(
        `INSERT INTO certificates (issuer_id, serial, profile, subject, spki_sha256, not_before, not_after, der, issued_at,
                                   status, revoked_at, revocation_reason, invalidity_date)
         VALUES ('i', $1, 'p', 'CN=x', '\\x00', now(), now() + interval '100 years', '\\x30', now(), 'revoked', $2, $3, $4)`,
        [row.serial, new Date(row.revoked), row.reason, row.invalidity ? new Date(row.invalidity) : null],
      );
  });
  afterAll(async () => database?.dispose());

  it("matches the reference encoder byte for byte", async () => {
    const page = await encodedRevokedPage(database.db, "i", new Date(), { after: "", before: "g" }, 1000);
    expect(page.count).toBe(ROWS.length);
    const reference = new CrlWriter();
    for (const row of [...ROWS].sort((a, b) => (a.serial < b.serial ? -1 : 1)))
      reference.add({
        serial: row.serial,
        revocationDate: new Date(row.revoked),
        reason: row.reason,
        invalidityDate: row.invalidity ? new Date(row.invalidity) : null,
      });
    const { tbs } = reference.finishTbs({
      signatureAlgorithm: Buffer.from("300a06082a8648ce3d040302", "hex"),
      issuer: Buffer.from("3000", "hex"),
      thisUpdate: new Date("2026-01-01T00:00:00Z"),
      nextUpdate: new Date("2026-01-02T00:00:00Z"),
      number: 1,
      authorityKeyId: Buffer.from([1]),
    });
    // The reference's entries are the bytes between the SEQUENCE OF header and the [0] extensions.
    expect(tbs.includes(page.der)).toBe(true);
    expect(page.der.length).toBeGreaterThan(ROWS.length * 20);
  });

  it("splits the serial space into halves without losing a serial", async () => {
    const low = await encodedRevokedPage(database.db, "i", new Date(), { after: "", before: "8" }, 1000);
    const high = await encodedRevokedPage(database.db, "i", new Date(), { after: "8", before: "g" }, 1000);
    expect(low.count + high.count).toBe(ROWS.length);
    expect(high.count).toBe(1); // only the serial starting with 8
  });

  it("pages by serial without gaps or repeats", async () => {
    const seen: Buffer[] = [];
    let after = "";
    for (;;) {
      const page = await encodedRevokedPage(database.db, "i", new Date(), { after, before: "g" }, 4);
      if (page.count) seen.push(page.der);
      if (page.count < 4 || !page.last) break;
      after = page.last;
    }
    const whole = await encodedRevokedPage(database.db, "i", new Date(), { after: "", before: "g" }, 1000);
    expect(Buffer.concat(seen).equals(whole.der)).toBe(true);
  });
});
