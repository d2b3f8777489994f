-- The OpenID Provider (src/sso). Secrets (client secrets, session cookies, codes, refresh
-- tokens) are kept only as keyed SHA-256 hashes; access and ID tokens are signed JWTs and
-- are not stored at all.

-- Relying parties and resource servers registered by an administrator.
CREATE TABLE oidc_clients (
  id                        text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{2,63}$'),
  name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  auth_method               text NOT NULL
    CHECK (auth_method IN ('client_secret_basic', 'private_key_jwt', 'tls_client_auth')),
  secret_hash               bytea CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
  jwks                      jsonb,
  tls_subject_dn            text,
  redirect_uris             jsonb NOT NULL DEFAULT '[]',
  post_logout_redirect_uris jsonb NOT NULL DEFAULT '[]',
  grant_types               jsonb NOT NULL,
  scopes                    jsonb NOT NULL,
  audience                  jsonb NOT NULL DEFAULT '[]',
  first_party               boolean NOT NULL DEFAULT false,
  backchannel_logout_uri    text,
  disabled_at               timestamptz,
  created_at                timestamptz NOT NULL DEFAULT now(),
  updated_at                timestamptz NOT NULL DEFAULT now(),
  CHECK (auth_method <> 'client_secret_basic' OR secret_hash IS NOT NULL),
  CHECK (auth_method <> 'private_key_jwt' OR jwks IS NOT NULL),
  CHECK (auth_method <> 'tls_client_auth' OR tls_subject_dn IS NOT NULL)
);

-- The keys that sign ID tokens, access tokens and logout tokens. A key is published in the
-- JWKS from created_at, signs from activates_at until the next key activates, and stays
-- published until every token it signed has expired (src/sso/signing-keys.ts).
CREATE TABLE sso_signing_keys (
  kid          text PRIMARY KEY,
  key_label    text NOT NULL UNIQUE,
  alg          text NOT NULL CHECK (alg IN ('ES256', 'RS256')),
  public_jwk   jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  activates_at timestamptz NOT NULL
);

-- A browser's single sign-on session. The cookie carries id.secret; only the hash of the
-- secret is stored (the id appears in ID tokens as `sid`).
CREATE TABLE sso_sessions (
  id             text PRIMARY KEY,
  secret_hash    bytea NOT NULL,
  principal_id   uuid NOT NULL REFERENCES principals (id),
  auth_time      timestamptz NOT NULL,
  amr            jsonb NOT NULL,
  acr            text NOT NULL,
  cert_issuer_id text,
  cert_serial    text,
  expires_at     timestamptz NOT NULL,
  ended_at       timestamptz,
  end_reason     text
);
CREATE INDEX sso_sessions_principal ON sso_sessions (principal_id) WHERE ended_at IS NULL;
CREATE INDEX sso_sessions_certificate ON sso_sessions (cert_issuer_id, cert_serial) WHERE ended_at IS NULL;
CREATE INDEX sso_sessions_ended ON sso_sessions (expires_at) WHERE ended_at IS NOT NULL;

-- The relying parties a session has signed in to (back-channel logout goes to each).
CREATE TABLE sso_session_clients (
  session_id text NOT NULL REFERENCES sso_sessions (id) ON DELETE CASCADE,
  client_id  text NOT NULL REFERENCES oidc_clients (id),
  PRIMARY KEY (session_id, client_id)
);

-- An authorization request waiting for the user to log in or consent. `binding_hash` ties it
-- to the browser that started it (a cookie), so a login cannot be completed elsewhere.
CREATE TABLE sso_interactions (
  id           text PRIMARY KEY,
  binding_hash bytea NOT NULL,
  client_id    text NOT NULL REFERENCES oidc_clients (id),
  request      jsonb NOT NULL,
  session_id   text REFERENCES sso_sessions (id),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX sso_interactions_expires ON sso_interactions (expires_at);

-- What a user allowed a third-party client to receive.
CREATE TABLE sso_consents (
  principal_id uuid NOT NULL REFERENCES principals (id),
  client_id    text NOT NULL REFERENCES oidc_clients (id),
  scopes       jsonb NOT NULL,
  granted_at   timestamptz NOT NULL,
  PRIMARY KEY (principal_id, client_id)
);

-- A grant: what one code exchange produced (the family of refresh tokens and the access
-- tokens they minted). Revoking it ends every token of the family.
CREATE TABLE oauth_grants (
  id           text PRIMARY KEY,
  client_id    text NOT NULL REFERENCES oidc_clients (id),
  principal_id uuid NOT NULL REFERENCES principals (id),
  session_id   text REFERENCES sso_sessions (id),
  scope        text NOT NULL,
  cnf_x5t      text,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  revoke_reason text
);
CREATE INDEX oauth_grants_session ON oauth_grants (session_id) WHERE revoked_at IS NULL;
CREATE INDEX oauth_grants_principal ON oauth_grants (principal_id) WHERE revoked_at IS NULL;
CREATE INDEX oauth_grants_revoked ON oauth_grants (expires_at) WHERE revoked_at IS NOT NULL;

-- Authorization codes (RFC 6749 §4.1.2: short-lived, single use, bound to client and
-- redirect_uri). A redeemed code remembers its grant, so a replay revokes it (§4.1.2).
CREATE TABLE oauth_codes (
  hash           bytea PRIMARY KEY,
  client_id      text NOT NULL REFERENCES oidc_clients (id),
  session_id     text NOT NULL REFERENCES sso_sessions (id),
  redirect_uri   text NOT NULL,
  scope          text NOT NULL,
  nonce          text,
  code_challenge text NOT NULL,
  expires_at     timestamptz NOT NULL,
  redeemed_at    timestamptz,
  grant_id       text REFERENCES oauth_grants (id)
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- Refresh tokens, rotated on each use; a used one presented again revokes its grant.
CREATE TABLE oauth_refresh_tokens (
  hash       bytea PRIMARY KEY,
  grant_id   text NOT NULL REFERENCES oauth_grants (id),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);

-- Access tokens without a grant (client credentials) revoked through RFC 7009, until they expire.
CREATE TABLE oauth_revoked_tokens (
  jti        text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);

-- private_key_jwt client assertions already accepted (RFC 7523 §3 item 7: jti single use).
CREATE TABLE oauth_assertion_jtis (
  client_id  text NOT NULL,
  jti        text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
