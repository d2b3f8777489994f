-- The directory of civil servants. PostgreSQL 15 syntax only (PGlite runs it too).

-- A principal holds several roles (a civil servant may be RA operator and auditor); a
-- service account keeps exactly one. The single `role` column becomes `roles`.
ALTER TABLE principals ADD COLUMN roles text[];
UPDATE principals SET roles = ARRAY[role];
ALTER TABLE principals ALTER COLUMN roles SET NOT NULL;
-- Dropping `role` drops the CHECKs on it too; they are restated over `roles`.
ALTER TABLE principals DROP COLUMN role;
ALTER TABLE principals ADD CONSTRAINT principals_roles_valid CHECK (
  cardinality(roles) BETWEEN 1 AND 4
  AND roles <@ ARRAY['security-admin', 'ra-operator', 'auditor', 'subscriber']::text[]
  AND array_position(roles, NULL) IS NULL
);
ALTER TABLE principals ADD CONSTRAINT principals_service_account_one_role CHECK (
  kind <> 'service-account' OR cardinality(roles) = 1
);
ALTER TABLE principals ADD CONSTRAINT principals_ra_operator_org_unit CHECK (
  NOT ('ra-operator' = ANY (roles)) OR org_unit IS NOT NULL
);
-- Lets `users` require, by foreign key, that its principal is of kind 'user'.
ALTER TABLE principals ADD CONSTRAINT principals_id_kind UNIQUE (id, kind);
CREATE INDEX principals_org_unit ON principals (org_unit text_pattern_ops);

-- What a civil servant has beyond a principal. Secrets: `password_hash` is an argon2id PHC
-- string; `totp_secret` is sealed with AES-256-GCM (version ‖ nonce ‖ ciphertext ‖ tag, AAD
-- = the principal id) under a key derived through the key store, never the clear secret.
CREATE TABLE users (
  principal_id    uuid PRIMARY KEY,
  kind            text NOT NULL DEFAULT 'user' CHECK (kind = 'user'),
  employee_number text NOT NULL CHECK (employee_number ~ '^[A-Za-z0-9-]{1,32}$'),
  email           text CHECK (email IS NULL OR (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$')),
  password_hash   text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
  totp_secret     bytea CHECK (totp_secret IS NULL OR length(totp_secret) > 29),
  -- RFC 6238 time step of the last accepted code: a code is good for one login only.
  totp_last_step  bigint,
  failed_logins   integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
  locked_until    timestamptz,
  last_login_at   timestamptz,
  FOREIGN KEY (principal_id, kind) REFERENCES principals (id, kind)
);
-- Employee numbers are unique regardless of case, and found by login that way.
CREATE UNIQUE INDEX users_employee_number ON users (lower(employee_number));
