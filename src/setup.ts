/**
 * First start: default profiles, the root org unit, a development CA hierarchy (root and
 * issuing CA) and a bootstrap security-admin API key written once to a 0600 file. Every
 * step is skipped when already done, so `ca init` and `ca serve` may run it each time.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { listPrincipals } from "../db/stores/principals.js";
import type { KeyAlgorithm } from "../hsm-adapters/key-store.js";
import type { Actor } from "./auth/principal.js";
import { createCa } from "./ca/hierarchy.js";
import type { ServiceContext } from "./context.js";

export const ROOT_ORG_UNIT = "gov";

export interface SetupReport {
  readonly profilesAdded: readonly string[];
  readonly issuersCreated: readonly string[];
  /** CRLs published because they were due (all of them on a new CA). */
  readonly crlsPublished: readonly string[];
  /** Where the bootstrap admin key was written, when this run created it. */
  readonly bootstrapKeyFile?: string;
}

export async function initialize(
  context: ServiceContext,
  actor: Actor,
  options: { algorithm?: KeyAlgorithm; onStep?: (message: string) => void } = {},
): Promise<SetupReport> {
  const step = options.onStep ?? (() => undefined);
  const { config } = context;
  const profilesAdded = await context.profiles.seedDefaults(actor);
  if (!(await context.orgUnits.find(ROOT_ORG_UNIT)))
    await context.orgUnits.create(actor, {
      path: ROOT_ORG_UNIT,
      name: "Provincial Government",
      level: "province",
    });

  const issuersCreated: string[] = [];
  const algorithm = options.algorithm ?? config.caKeyAlgorithm;
  const hierarchy = {
    db: context.db,
    keyStore: context.keyStore,
    clock: context.clock,
    publicBaseUrl: config.publicBaseUrl,
    country: config.caCountry,
    organization: config.caOrganization,
  };
  await context.issuers.reload();
  let root = context.issuers.all().find((issuer) => issuer.row.kind === "root");
  if (!root) {
    step(`generating the root CA key (${algorithm}) in the ${context.keyStore.kind} key store`);
    await createCa(hierarchy, actor, {
      id: "root-1",
      commonName: `${config.caOrganization} Root CA`,
      algorithm,
      validityYears: 20,
    });
    await context.issuers.reload();
    root = context.issuers.get("root-1");
    issuersCreated.push("root-1");
  }
  if (!context.issuers.defaultIssuing()) {
    step(`generating the issuing CA key (${algorithm}) and certifying it under ${root.row.id}`);
    await createCa(hierarchy, actor, {
      id: "issuing-1",
      commonName: `${config.caOrganization} Issuing CA 1`,
      algorithm,
      validityYears: 10,
      parent: root,
      pathLength: 0,
    });
    issuersCreated.push("issuing-1");
  }
  await context.reload();
  const crls = await context.crls.publishDue(); // every issuer has a CRL from the start
  await context.ocsp.signers.ensureAll(actor); // and a delegated OCSP responder (RFC 6960 §4.2.2.2)
  await context.sso.keys.ensureKey(actor); // the OpenID Provider's first token signing key

  let bootstrapKeyFile: string | undefined;
  if ((await listPrincipals(context.db)).length === 0) {
    const created = await context.accounts.create(actor, {
      name: "bootstrap-admin",
      role: "security-admin",
      orgUnit: ROOT_ORG_UNIT,
    });
    bootstrapKeyFile = join(config.dataDir, "bootstrap-admin.key");
    const handle = await open(bootstrapKeyFile, "wx", 0o600);
    await handle.writeFile(`${created.apiKey.token}\n`);
    await handle.close();
  }
  return {
    profilesAdded,
    issuersCreated,
    crlsPublished: crls.map((crl) => `${crl.issuerId} ${crl.kind} CRL #${crl.number}`),
    ...(bootstrapKeyFile ? { bootstrapKeyFile } : {}),
  };
}
