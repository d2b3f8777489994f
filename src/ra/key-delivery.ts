/**
 * The one download of a server-generated key that had to wait for approval: the requester
 * sends its passphrase, the sealed key opens with it, and the PKCS#12 (key, certificate and
 * chain) goes back; the sealed key is erased in the transaction that records the delivery.
 * A second download finds nothing: 410 Gone. A wrong passphrase changes nothing.
 */
import type { Database } from "../../db/database.js";
import { findBySerial } from "../../db/stores/certificates.js";
import { readSealedKey, updateEnrollment } from "../../db/stores/enrollments.js";
import { appendAudit } from "../audit/log.js";
import type { Actor } from "../auth/principal.js";
import type { IssuerRegistry } from "../ca/issuers.js";
import type { Clock } from "../clock.js";
import { badRequest, conflict, forbidden, ServiceError } from "../errors.js";
import type { Enrollments } from "./enrollments.js";
import { WrongPassphraseError } from "./password-encryption.js";
import { buildPkcs12 } from "./pkcs12.js";
import { openPrivateKey } from "./sealed-key.js";

const gone = (id: string, detail: string) =>
  new ServiceError(410, "key-gone", `enrolment request "${id}": ${detail}`);

export class KeyDelivery {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly enrollments: Enrollments,
    private readonly issuers: IssuerRegistry,
  ) {}

  async pkcs12(actor: Actor, id: string, passphrase: string): Promise<Buffer> {
    // Step 1: the request, seen by this caller (404 otherwise), and only its requester's key.
    const row = await this.enrollments.require(actor, id);
    if (actor.principal?.id !== row.requester_id)
      throw forbidden("only the requester downloads its server-generated key");
    if (row.method !== "server-keygen")
      throw conflict("no-server-key", `enrolment request "${id}" brought its own key (method ${row.method})`);
    if (row.status === "pending" || row.status === "approved")
      throw conflict(
        "enrollment-not-issued",
        `enrolment request "${id}" is ${row.status}: its certificate is not issued yet`,
      );
    if (row.status !== "issued") throw gone(id, `it is ${row.status}, and its key was erased`);

    // Step 2: the sealed key, opened with the passphrase (a wrong one changes nothing).
    const sealed = await readSealedKey(this.db, id, false);
    if (!sealed) throw gone(id, "its key was downloaded already and is no longer kept");
    let key: Awaited<ReturnType<typeof openPrivateKey>>;
    try {
      key = await openPrivateKey(sealed, passphrase);
    } catch (error) {
      if (error instanceof WrongPassphraseError)
        throw badRequest("passphrase-incorrect", "the passphrase does not open this request's key");
      throw error;
    }

    // Step 3: the PKCS#12 with the certificate and its chain, under the same passphrase.
    const [certificate] = await findBySerial(this.db, row.certificate_serial!, row.certificate_issuer!);
    const issuer = this.issuers.get(row.certificate_issuer!);
    const privateKey = key.export({ format: "der", type: "pkcs8" });
    let pkcs12: Buffer;
    try {
      pkcs12 = await buildPkcs12({
        privateKey,
        chain: [certificate!.der, ...issuer.chain],
        passphrase,
        friendlyName: `${certificate!.subject} (${certificate!.serial})`,
      });
    } finally {
      privateKey.fill(0);
    }

    // Step 4: erase the sealed key with the delivery's audit record; a concurrent download lost.
    await this.db.transaction(async (tx) => {
      const current = await readSealedKey(tx, id, true);
      if (!current?.equals(sealed)) throw gone(id, "its key was downloaded already and is no longer kept");
      await updateEnrollment(tx, id, ["issued"], { eraseKey: true, deliveredAt: this.clock.now() });
      await appendAudit(tx, this.clock, [
        {
          ...actor.audit,
          action: "enrollment.deliver",
          target: `enrollment:${id}`,
          details: { certificate: `${row.certificate_issuer}/${row.certificate_serial}` },
        },
      ]);
    });
    return pkcs12;
  }
}
