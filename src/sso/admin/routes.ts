/** Admin API for the OpenID Provider: registering relying parties, rotating signing keys. */
import type { FastifyInstance } from "fastify";
import { actorOf } from "../../auth/principal.js";
import type { ServiceContext } from "../../context.js";
import { notFound } from "../../errors.js";
import type { Client, NewClient } from "../clients.js";
import { SCOPES } from "../scopes.js";

export const clientView = (client: Client) => ({
  clientId: client.id,
  name: client.name,
  tokenEndpointAuthMethod: client.authMethod,
  grantTypes: client.grantTypes,
  redirectUris: client.redirectUris,
  postLogoutRedirectUris: client.postLogoutRedirectUris,
  scopes: client.scopes,
  audience: client.audience,
  firstParty: client.firstParty,
  backchannelLogoutUri: client.backchannelLogoutUri,
  tlsClientAuthSubjectDn: client.tlsSubjectDn,
  disabled: client.disabled,
  createdAt: client.row.created_at.toISOString(),
});

const uriList = {
  type: "array",
  maxItems: 20,
  items: { type: "string", minLength: 1, maxLength: 2000 },
} as const;

export const NEW_CLIENT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["name", "tokenEndpointAuthMethod", "grantTypes"],
  properties: {
    clientId: { type: "string", pattern: "^[a-z0-9][a-z0-9-]{2,63}$" },
    name: { type: "string", minLength: 1, maxLength: 200 },
    tokenEndpointAuthMethod: { enum: ["client_secret_basic", "private_key_jwt", "tls_client_auth"] },
    grantTypes: {
      type: "array",
      minItems: 1,
      maxItems: 3,
      items: { enum: ["authorization_code", "refresh_token", "client_credentials"] },
    },
    redirectUris: uriList,
    postLogoutRedirectUris: uriList,
    scopes: {
      type: "array",
      maxItems: 50,
      items: { type: "string", minLength: 1, maxLength: 64 },
      description: `default for code clients: ${SCOPES.join(" ")}`,
    },
    audience: { ...uriList, description: "the access tokens' aud (RFC 9068 §3); default: the client id" },
    firstParty: { type: "boolean", description: "a government application: no consent screen" },
    backchannelLogoutUri: { type: "string", minLength: 1, maxLength: 2000 },
    jwks: {
      type: "object",
      required: ["keys"],
      properties: { keys: { type: "array", minItems: 1, maxItems: 10, items: { type: "object" } } },
      description: "public keys for private_key_jwt (RFC 7517 JWK Set)",
    },
    tlsClientAuthSubjectDn: { type: "string", minLength: 1, maxLength: 1000, description: "RFC 8705 §2.1.2" },
  },
} as const;

export interface NewClientBody {
  clientId?: string;
  name: string;
  tokenEndpointAuthMethod: NewClient["authMethod"];
  grantTypes: NewClient["grantTypes"];
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  scopes?: string[];
  audience?: string[];
  firstParty?: boolean;
  backchannelLogoutUri?: string;
  jwks?: NewClient["jwks"];
  tlsClientAuthSubjectDn?: string;
}

export const newClientFromBody = (body: NewClientBody): NewClient => ({
  id: body.clientId,
  name: body.name,
  authMethod: body.tokenEndpointAuthMethod,
  grantTypes: body.grantTypes,
  redirectUris: body.redirectUris,
  postLogoutRedirectUris: body.postLogoutRedirectUris,
  scopes: body.scopes,
  audience: body.audience,
  firstParty: body.firstParty,
  backchannelLogoutUri: body.backchannelLogoutUri,
  jwks: body.jwks,
  tlsSubjectDn: body.tlsClientAuthSubjectDn,
});

export function ssoAdminRoutes(context: ServiceContext) {
  const sso = context.sso;
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get(
      "/api/v1/clients",
      {
        config: { permission: "client:read" },
        schema: { tags: ["sso"], summary: "Registered OIDC clients" },
      },
      async () => ({ items: (await sso.clients.list()).map(clientView) }),
    );

    app.post<{ Body: NewClientBody }>(
      "/api/v1/clients",
      {
        config: { permission: "client:manage" },
        schema: {
          tags: ["sso"],
          summary: "Register an OIDC client; a client_secret_basic secret is returned once",
          body: NEW_CLIENT_SCHEMA,
        },
      },
      async (request, reply) => {
        const { client, secret } = await sso.clients.create(
          actorOf(request.principal!, request.id),
          newClientFromBody(request.body),
        );
        return reply
          .code(201)
          .header("cache-control", "no-store")
          .send({ ...clientView(client), ...(secret ? { clientSecret: secret } : {}) });
      },
    );

    app.get<{ Params: { id: string } }>(
      "/api/v1/clients/:id",
      {
        config: { permission: "client:read" },
        schema: {
          tags: ["sso"],
          summary: "One OIDC client",
          params: { type: "object", properties: { id: { type: "string", maxLength: 64 } } },
        },
      },
      async (request) => {
        const client = await sso.clients.get(request.params.id);
        if (!client) throw notFound(`client "${request.params.id}"`);
        return clientView(client);
      },
    );

    app.post<{ Params: { id: string } }>(
      "/api/v1/clients/:id/disable",
      {
        config: { permission: "client:manage" },
        schema: {
          tags: ["sso"],
          summary: "Disable a client: its tokens stop being active, it can no longer authenticate",
          params: { type: "object", properties: { id: { type: "string", maxLength: 64 } } },
        },
      },
      async (request, reply) => {
        await sso.clients.disable(actorOf(request.principal!, request.id), request.params.id);
        return reply.code(204).send();
      },
    );

    app.post(
      "/api/v1/sso/keys/rotate",
      {
        config: { permission: "ca:manage" },
        schema: {
          tags: ["sso"],
          summary:
            "Staged rotation: a new token signing key, published now, signing after CA_SSO_KEY_PUBLISH_HOURS",
        },
      },
      async (request, reply) => {
        const key = await sso.keys.rotate(actorOf(request.principal!, request.id));
        return reply
          .code(201)
          .send({ kid: key.kid, alg: key.alg, activatesAt: key.activatesAt.toISOString() });
      },
    );
  };
}
