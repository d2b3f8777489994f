-- CA core schema. PostgreSQL 15 syntax only (PGlite runs it too).

-- The org-unit tree: region / city / county / department. `path` is the id, a slash
-- separated materialized path ("gd/gz/tianhe"), so a subtree is a prefix match.
CREATE TABLE org_units (
  path        text PRIMARY KEY CHECK (path ~ '^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$'),
  parent_path text REFERENCES org_units (path),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  level       text NOT NULL CHECK (level IN ('province', 'region', 'city', 'county', 'department')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_units_path_prefix ON org_units (path text_pattern_ops);

-- Principals: service accounts now, directory users with the SSO issue.
CREATE TABLE principals (
  id          uuid PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('service-account', 'user')),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role        text NOT NULL CHECK (role IN ('security-admin', 'ra-operator', 'auditor', 'subscriber')),
  org_unit    text REFERENCES org_units (path),
  dns_names   jsonb NOT NULL DEFAULT '[]',
  disabled_at timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (role <> 'ra-operator' OR org_unit IS NOT NULL)
);

-- API keys: only the SHA-256 of the secret is kept; the secret is shown once.
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  principal_id uuid NOT NULL REFERENCES principals (id),
  secret_hash  bytea NOT NULL CHECK (length(secret_hash) = 32),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_principal ON api_keys (principal_id);

-- CA certificates (roots, issuing CAs; OCSP signers come with revocation).
CREATE TABLE issuers (
  id            text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  parent_id     text REFERENCES issuers (id),
  kind          text NOT NULL CHECK (kind IN ('root', 'issuing')),
  key_label     text NOT NULL,
  key_algorithm text NOT NULL,
  certificate   bytea NOT NULL,
  subject_der   bytea NOT NULL,
  key_id        bytea NOT NULL,
  not_before    timestamptz NOT NULL,
  not_after     timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Certificate profiles, as data (validated by src/ca/profile.ts before they are stored).
CREATE TABLE profiles (
  name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  definition jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Issued end-entity certificates. Serial numbers are unique per issuer by constraint.
CREATE TABLE certificates (
  issuer_id         text NOT NULL REFERENCES issuers (id),
  serial            text NOT NULL CHECK (serial ~ '^[0-9a-f]{2,40}$'),
  profile           text NOT NULL,
  subject           text NOT NULL,
  org_unit          text,
  owner_id          uuid,
  spki_sha256       bytea NOT NULL,
  sans              jsonb NOT NULL DEFAULT '[]',
  not_before        timestamptz NOT NULL,
  not_after         timestamptz NOT NULL,
  status            text NOT NULL DEFAULT 'good' CHECK (status IN ('good', 'revoked', 'on-hold')),
  revoked_at        timestamptz,
  revocation_reason smallint,
  invalidity_date   timestamptz,
  der               bytea NOT NULL,
  issued_at         timestamptz NOT NULL,
  request_id        text,
  PRIMARY KEY (issuer_id, serial)
);
CREATE INDEX certificates_serial ON certificates (serial);
CREATE INDEX certificates_issued ON certificates (issued_at DESC, serial DESC);
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_org_unit ON certificates (org_unit text_pattern_ops);
CREATE INDEX certificates_owner ON certificates (owner_id);
CREATE INDEX certificates_spki ON certificates (spki_sha256);

-- Public keys that may never be certified again (keyCompromise, weak keys).
CREATE TABLE key_blocklist (
  spki_sha256 bytea PRIMARY KEY CHECK (length(spki_sha256) = 32),
  reason      text NOT NULL,
  added_at    timestamptz NOT NULL DEFAULT now()
);

-- The hash-chained audit log: each record carries the SHA-256 of the one before, and
-- audit_head holds the newest (seq, hash) so that appenders serialize on one row lock.
CREATE TABLE audit_log (
  seq        bigint PRIMARY KEY,
  at         timestamptz NOT NULL,
  actor      text NOT NULL,
  action     text NOT NULL,
  target     text NOT NULL,
  outcome    text NOT NULL CHECK (outcome IN ('success', 'failure')),
  request_id text,
  details    jsonb NOT NULL DEFAULT '{}',
  prev_hash  bytea NOT NULL,
  hash       bytea NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target);

CREATE TABLE audit_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq       bigint NOT NULL,
  hash      bytea NOT NULL
);
INSERT INTO audit_head (singleton, seq, hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));
