/**
 * An OpenID Provider under test, listening on a loopback port (openid-client speaks real
 * HTTP to it), with helpers to register clients as an administrator would.
 */
import * as oidc from "openid-client";
import type { Engine } from "./databases.js";
import { bearer, createHarness, type Harness } from "./harness.js";
import { freePort } from "./ports.js";

export interface SsoHarness extends Harness {
  readonly issuer: string;
  /** Registers a client through the admin API; returns its id and (client_secret_basic) secret. */
  client(body: Record<string, unknown>): Promise<{ clientId: string; clientSecret?: string }>;
  /** openid-client's configuration for a client_secret_basic client, by discovery. */
  discover(clientId: string, clientSecret: string): Promise<oidc.Configuration>;
}

export async function createSsoHarness(
  engine: Engine,
  options: Parameters<typeof createHarness>[1] = {},
): Promise<SsoHarness> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const harness = await createHarness(engine, { ...options, env: { CA_PUBLIC_URL: issuer, ...options.env } });
  await harness.app.listen({ host: "127.0.0.1", port });
  return {
    ...harness,
    issuer,
    async client(body) {
      const response = await harness.app.inject({
        method: "POST",
        url: "/api/v1/clients",
        headers: bearer(harness.adminToken),
        payload: body,
      });
      if (response.statusCode !== 201) throw new Error(`client registration failed: ${response.body}`);
      return response.json();
    },
    discover(clientId, clientSecret) {
      return oidc.discovery(new URL(issuer), clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), {
        execute: [oidc.allowInsecureRequests],
      });
    },
  };
}
