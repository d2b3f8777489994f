/**
 * Two nodes on one PostgreSQL database: a revocation made on one node is known to the other
 * before the revoking call returns (each way, several times), with the other node answering
 * from memory, not from the database; and a node that cannot hear the others asks the database.
 */
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../db/database.js";
import { buildApp } from "../../src/app.js";
import { openContext, type ServiceContext } from "../../src/context.js";
import { SSO_INVALIDATION } from "../../src/sso/token-state.js";
import { freePort } from "../helpers/ports.js";
import { createSsoHarness, type SsoHarness } from "../helpers/sso.js";

describe("SSO revocations across two nodes on one PostgreSQL database", () => {
  let harness: SsoHarness;
  let secondDb: Database;
  let nodeB: ServiceContext;
  let appB: Awaited<ReturnType<typeof buildApp>>;
  let viaA: oidc.Configuration;
  let viaB: oidc.Configuration;

  beforeAll(async () => {
    harness = await createSsoHarness("postgres");
    secondDb = await openDatabase({ url: harness.database.url!, poolSize: 4 });
    nodeB = await openContext(harness.context.config, { db: secondDb, keyStore: harness.context.keyStore });
    await nodeB.sso.start();
    appB = await buildApp(nodeB);
    const portB = await freePort();
    await appB.listen({ host: "127.0.0.1", port: portB });
    const client = await harness.client({
      clientId: "svc",
      name: "Service",
      tokenEndpointAuthMethod: "client_secret_basic",
      grantTypes: ["client_credentials"],
      scopes: [],
    });
    viaA = await harness.discover(client.clientId, client.clientSecret!);
    // Node B's endpoints: the same issuer metadata, B's address.
    const metadata = JSON.parse(JSON.stringify(viaA.serverMetadata())) as oidc.ServerMetadata;
    viaB = new oidc.Configuration(
      {
        ...metadata,
        token_endpoint: metadata.token_endpoint!.replace(harness.issuer, `http://127.0.0.1:${portB}`),
        introspection_endpoint: metadata.introspection_endpoint!.replace(
          harness.issuer,
          `http://127.0.0.1:${portB}`,
        ),
        revocation_endpoint: metadata.revocation_endpoint!.replace(
          harness.issuer,
          `http://127.0.0.1:${portB}`,
        ),
      },
      client.clientId,
      client.clientSecret!,
      oidc.ClientSecretBasic(client.clientSecret!),
    );
    oidc.allowInsecureRequests(viaB);
    expect(harness.context.sso.state.fromMemory).toBe(true);
    expect(nodeB.sso.state.fromMemory).toBe(true);
  });
  afterAll(async () => {
    await appB?.close();
    await nodeB?.sso.stop();
    await nodeB?.ocsp.stop();
    await nodeB?.auditSealer.close();
    await secondDb?.close();
    await harness?.close();
  });

  it("refuses a token on the other node as soon as its revocation returned (each way, 10 times)", async () => {
    for (let round = 0; round < 10; round++) {
      const [revoker, observer, observerNode] =
        round % 2 ? [viaB, viaA, harness.context] : [viaA, viaB, nodeB];
      const token = (await oidc.clientCredentialsGrant(revoker)).access_token;
      expect((await oidc.tokenIntrospection(observer, token)).active).toBe(true);
      await oidc.tokenRevocation(revoker, token);
      expect(observerNode.sso.state.fromMemory).toBe(true);
      expect(await oidc.tokenIntrospection(observer, token), `round ${round}`).toEqual({ active: false });
    }
  });

  it("asks the database while a node cannot hear the others, and uses memory again once it can", async () => {
    await harness.context.db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [`${SSO_INVALIDATION.applicationPrefix}${nodeB.sso.state.invalidation.nodeId}`],
    );
    for (let i = 0; i < 100 && nodeB.sso.state.fromMemory; i++) await new Promise((r) => setTimeout(r, 20));
    expect(nodeB.sso.state.fromMemory).toBe(false);
    const token = (await oidc.clientCredentialsGrant(viaA)).access_token;
    await oidc.tokenRevocation(viaA, token);
    expect(await oidc.tokenIntrospection(viaB, token)).toEqual({ active: false }); // from the database
    for (let i = 0; i < 150 && !nodeB.sso.state.fromMemory; i++) await new Promise((r) => setTimeout(r, 20));
    expect(nodeB.sso.state.fromMemory).toBe(true);
    expect(await oidc.tokenIntrospection(viaB, token)).toEqual({ active: false }); // reloaded
  });
});
