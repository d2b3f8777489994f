-- Enrolment requests (the RA of the architecture): a requester asks for a certificate of a
-- profile; a profile whose approval is "ra-operator" waits for an RA operator of the
-- requester's org subtree (or a security admin), who is never the requester (four eyes).
CREATE TABLE enrollments (
  id                 uuid PRIMARY KEY,
  requester_id       uuid NOT NULL REFERENCES principals (id),
  -- The requester's org unit when it asked: what decides which RA operators may see and decide.
  requester_org_unit text,
  profile            text NOT NULL,
  issuer_id          text,
  method             text NOT NULL CHECK (method IN ('csr', 'browser', 'server-keygen')),
  csr_der            bytea NOT NULL,
  -- The subjectAltNames asked for (null: those of the CSR), as [{type, value}].
  subject_alt_names  jsonb,
  status             text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'issued', 'expired')),
  decided_by         text,
  decided_at         timestamptz,
  reason             text CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 500),
  -- An approved request whose issuance failed keeps the failure here until a retry succeeds.
  issue_error        text,
  certificate_issuer text,
  certificate_serial text,
  created_at         timestamptz NOT NULL,
  expires_at         timestamptz NOT NULL,
  -- server-keygen waiting for approval or for its download: the private key as a PKCS#8
  -- EncryptedPrivateKeyInfo (PBES2, PBKDF2-HMAC-SHA256 + AES-256-CBC) under the requester's
  -- passphrase; never the clear key. Erased on download, rejection, withdrawal and expiry.
  encrypted_key      bytea,
  delivered_at       timestamptz,
  CHECK ((status = 'issued') = (certificate_serial IS NOT NULL)),
  CHECK (encrypted_key IS NULL OR method = 'server-keygen'),
  CHECK (encrypted_key IS NULL OR status IN ('pending', 'approved', 'issued')),
  CHECK (status NOT IN ('rejected') OR reason IS NOT NULL),
  FOREIGN KEY (certificate_issuer, certificate_serial) REFERENCES certificates (issuer_id, serial)
);
CREATE INDEX enrollments_requester ON enrollments (requester_id, created_at DESC, id DESC);
CREATE INDEX enrollments_org_unit ON enrollments (requester_org_unit text_pattern_ops);
CREATE INDEX enrollments_pending ON enrollments (expires_at) WHERE status = 'pending';
CREATE INDEX enrollments_listing ON enrollments (created_at DESC, id DESC);

-- What the portal shows a principal about its own requests ("your request was approved").
CREATE TABLE portal_notifications (
  id           uuid PRIMARY KEY,
  principal_id uuid NOT NULL REFERENCES principals (id),
  kind         text NOT NULL CHECK (kind IN ('enrollment.approved', 'enrollment.issued', 'enrollment.rejected', 'enrollment.expired')),
  enrollment_id uuid REFERENCES enrollments (id),
  message      text NOT NULL,
  created_at   timestamptz NOT NULL,
  read_at      timestamptz
);
CREATE INDEX portal_notifications_inbox ON portal_notifications (principal_id, (read_at IS NOT NULL), created_at DESC, id DESC);
