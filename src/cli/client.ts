/** `ca client create|list|disable` and `ca sso rotate-key`: the OpenID Provider's administration. */
import { readFile } from "node:fs/promises";
import type { ClientAuthMethod, GrantType } from "../../db/stores/oidc-clients.js";
import { clientView } from "../sso/admin/routes.js";
import { type Command, print, UsageError } from "./command.js";
import { withContext } from "./context.js";

const AUTH_METHODS: readonly ClientAuthMethod[] = [
  "client_secret_basic",
  "private_key_jwt",
  "tls_client_auth",
];
const GRANT_TYPES: readonly GrantType[] = ["authorization_code", "refresh_token", "client_credentials"];

const list = (value: unknown): string[] | undefined =>
  (value as string[] | undefined)?.flatMap((item) => item.split(","));

export const clientCreateCommand: Command = {
  path: ["client", "create"],
  summary: "Register an OIDC client (relying party or service); a client secret is printed once.",
  usage: "--name NAME --grant TYPE… [--auth METHOD] [--redirect-uri URI…] [options]",
  options: {
    id: { type: "string" },
    name: { type: "string" },
    auth: { type: "string" },
    grant: { type: "string", multiple: true },
    "redirect-uri": { type: "string", multiple: true },
    "post-logout-uri": { type: "string", multiple: true },
    scope: { type: "string", multiple: true },
    audience: { type: "string", multiple: true },
    "first-party": { type: "boolean" },
    "backchannel-logout-uri": { type: "string" },
    "jwks-file": { type: "string" },
    "tls-subject": { type: "string" },
  },
  help: {
    "--id ID": "client_id (default: generated), lowercase letters, digits and dashes",
    "--name NAME": "shown on the login and consent pages",
    "--auth METHOD": `${AUTH_METHODS.join(", ")} (default client_secret_basic)`,
    "--grant TYPE": `${GRANT_TYPES.join(", ")} (repeatable)`,
    "--redirect-uri URI": "exact redirect URI (repeatable; https, or http on 127.0.0.1/[::1])",
    "--post-logout-uri URI": "post_logout_redirect_uri (repeatable)",
    "--scope SCOPE": "scopes the client may ask for (repeatable; default openid profile email org)",
    "--audience URI": "aud of its access tokens (repeatable; default the client id)",
    "--first-party": "a government application: no consent screen",
    "--backchannel-logout-uri URI": "where logout tokens are POSTed (Back-Channel Logout 1.0)",
    "--jwks-file FILE": "the client's public JWK Set, for private_key_jwt",
    "--tls-subject DN": "the certificate subject DN, for tls_client_auth (RFC 8705 §2.1.2)",
  },
  async run(values) {
    if (!values.name) throw new UsageError("--name is required");
    const authMethod = (values.auth ?? "client_secret_basic") as ClientAuthMethod;
    if (!AUTH_METHODS.includes(authMethod))
      throw new UsageError(`--auth must be one of ${AUTH_METHODS.join(", ")}`);
    const grantTypes = (list(values.grant) ?? []) as GrantType[];
    if (grantTypes.length === 0 || grantTypes.some((grant) => !GRANT_TYPES.includes(grant)))
      throw new UsageError(`--grant must be given, each one of ${GRANT_TYPES.join(", ")}`);
    const jwks = values["jwks-file"]
      ? JSON.parse(await readFile(String(values["jwks-file"]), "utf8"))
      : undefined;
    return withContext(async (context, actor) => {
      const { client, secret } = await context.sso.clients.create(actor, {
        id: values.id as string | undefined,
        name: String(values.name),
        authMethod,
        grantTypes,
        redirectUris: list(values["redirect-uri"]),
        postLogoutRedirectUris: list(values["post-logout-uri"]),
        scopes: list(values.scope),
        audience: list(values.audience),
        firstParty: values["first-party"] === true,
        backchannelLogoutUri: values["backchannel-logout-uri"] as string | undefined,
        jwks,
        tlsSubjectDn: values["tls-subject"] as string | undefined,
      });
      if (secret) process.stderr.write("the client secret is shown once; store it now\n");
      print(JSON.stringify({ ...clientView(client), ...(secret ? { clientSecret: secret } : {}) }, null, 2));
      return 0;
    });
  },
};

export const clientListCommand: Command = {
  path: ["client", "list"],
  summary: "List the registered OIDC clients.",
  usage: "",
  options: {},
  help: {},
  async run() {
    return withContext(async (context) => {
      for (const client of await context.sso.clients.list())
        print(
          `${client.id}  ${client.authMethod}  ${client.grantTypes.join(",")}${client.disabled ? "  (disabled)" : ""}  ${client.name}`,
        );
      return 0;
    });
  },
};

export const clientDisableCommand: Command = {
  path: ["client", "disable"],
  summary: "Disable an OIDC client: it can no longer authenticate and its tokens stop being active.",
  usage: "CLIENT_ID",
  positionals: 1,
  options: {},
  help: {},
  async run(_values, [id]) {
    return withContext(async (context, actor) => {
      await context.sso.clients.disable(actor, id!);
      print(`disabled client ${id}`);
      return 0;
    });
  },
};

export const ssoRotateKeyCommand: Command = {
  path: ["sso", "rotate-key"],
  summary: "Staged rotation of the token signing key: published now, signing after CA_SSO_KEY_PUBLISH_HOURS.",
  usage: "",
  options: {},
  help: {},
  async run() {
    return withContext(async (context, actor) => {
      const key = await context.sso.keys.rotate(actor);
      print(`new ${key.alg} key ${key.kid}: in the JWKS now, signs from ${key.activatesAt.toISOString()}`);
      return 0;
    });
  },
};
