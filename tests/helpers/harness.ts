/**
 * A whole service for a test: a fresh database (PGlite or PostgreSQL), a software key store
 * in a temporary directory, the development hierarchy, and the Fastify app for `inject`.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Role } from "../../db/stores/principals.js";
import type { KeyStore } from "../../hsm-adapters/key-store.js";
import { SoftwareKeyStore } from "../../hsm-adapters/software.js";
import { buildApp } from "../../src/app.js";
import { cliActor } from "../../src/auth/principal.js";
import type { Clock } from "../../src/clock.js";
import { loadConfig } from "../../src/config.js";
import { openContext, type ServiceContext } from "../../src/context.js";
import { initialize } from "../../src/setup.js";
import { buildCsrPem, generateTestKey } from "./csr.js";
import { type Engine, openTestDatabase, type TestDatabase } from "./databases.js";

export interface Harness {
  readonly engine: Engine;
  readonly context: ServiceContext;
  readonly app: FastifyInstance;
  readonly database: TestDatabase;
  readonly directory: string;
  /** The bootstrap security-admin's API key. */
  readonly adminToken: string;
  /** Creates a service account and returns its API key. */
  account(role: Role, orgUnit?: string | null, dnsNames?: string[]): Promise<{ id: string; token: string }>;
  /** Creates org units (and missing parents) such as "gov/gz/tianhe". */
  orgUnit(path: string, level?: "region" | "city" | "county" | "department"): Promise<void>;
  close(): Promise<void>;
}

export const PUBLIC_URL = "http://ca.test";

export async function createHarness(
  engine: Engine,
  options: {
    clock?: Clock;
    env?: Record<string, string>;
    keyStore?: KeyStore;
    /** The app's log (set LOG_LEVEL in env too). */
    logStream?: NodeJS.WritableStream;
  } = {},
): Promise<Harness> {
  const directory = await mkdtemp(join(tmpdir(), "ca-test-"));
  const database = await openTestDatabase(engine);
  const config = loadConfig({
    CA_DATA_DIR: directory,
    CA_PUBLIC_URL: PUBLIC_URL,
    LOG_LEVEL: "silent",
    CA_API_KEY_CACHE_SECONDS: "0",
    ...options.env,
  });
  const keyStore = options.keyStore ?? (await SoftwareKeyStore.open(join(directory, "keys")));
  const context = await openContext(config, {
    db: database.db,
    keyStore,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const report = await initialize(context, cliActor("test"));
  const adminToken = (await readFile(report.bootstrapKeyFile!, "utf8")).trim();
  const app = await buildApp(context, options.logStream ? { logStream: options.logStream } : {});
  const levels = ["region", "city", "county", "department"] as const;
  return {
    engine,
    context,
    app,
    database,
    directory,
    adminToken,
    async account(role, orgUnit = "gov", dnsNames = []) {
      const created = await context.accounts.create(cliActor("test"), {
        name: `${role}-${Math.random().toString(36).slice(2, 8)}`,
        role,
        orgUnit,
        dnsNames,
      });
      return { id: created.principal.id, token: created.apiKey.token };
    },
    async orgUnit(path, level) {
      const segments = path.split("/");
      for (let depth = 2; depth <= segments.length; depth++) {
        const prefix = segments.slice(0, depth).join("/");
        if (await context.orgUnits.find(prefix)) continue;
        const unitLevel = depth === segments.length && level ? level : levels[Math.min(depth - 2, 3)]!;
        await context.orgUnits.create(cliActor("test"), {
          path: prefix,
          name: `Unit ${prefix}`,
          level: unitLevel,
        });
      }
    },
    async close() {
      await app.close();
      await context.ocsp.stop(); // its LISTEN connection (PostgreSQL), before the database goes
      await context.sso.stop();
      await context.configuration.stop(); // its LISTEN connection, if a change opened one
      await context.auditSealer.close(); // seals what is pending, before the database goes
      await keyStore.close();
      await database.dispose();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Issues a tls-server certificate for `<name>.gov.test` (a fresh P-256 key) as the bootstrap
 * admin through the API; returns its serial and PEM. Fails the test unless the answer is 201.
 */
export async function issueTlsServer(
  harness: Harness,
  name: string,
): Promise<{ serial: string; certificate: string }> {
  const response = await harness.app.inject({
    method: "POST",
    url: "/api/v1/certificates",
    headers: { ...bearer(harness.adminToken), accept: "application/json" },
    payload: {
      csr: buildCsrPem({ key: generateTestKey("p256"), names: [{ type: "dns", value: `${name}.gov.test` }] }),
      profile: "tls-server",
      subject: { orgUnit: "gov" },
    },
  });
  if (response.statusCode !== 201)
    throw new Error(`issuance answered ${response.statusCode}: ${response.body}`);
  const body = response.json() as { serial: string; certificate: string };
  return { serial: body.serial, certificate: body.certificate };
}
