-- Revocation (RFC 5280 §5.3.1 reasons), suspension and release (GM/T 0034), and CRLs.

-- When a certificate's status last changed, and when a hold was released: the delta CRL
-- lists what changed since its base CRL (RFC 5280 §5.2.4), with removeFromCRL for releases.
ALTER TABLE certificates ADD COLUMN status_changed_at timestamptz;
ALTER TABLE certificates ADD COLUMN released_at timestamptz;
CREATE INDEX certificates_not_good ON certificates (issuer_id, serial) WHERE status <> 'good';
CREATE INDEX certificates_status_changed ON certificates (issuer_id, status_changed_at) WHERE status_changed_at IS NOT NULL;

-- A counter of status changes per issuer, incremented in each change's own transaction. A CRL
-- records the count it saw when its generation began; a higher count means a delta is due.
-- (Comparing timestamps instead would miss a change that commits just after a CRL was read.)
CREATE TABLE revocation_changes (
  issuer_id text PRIMARY KEY REFERENCES issuers (id),
  count     bigint NOT NULL DEFAULT 0
);

-- CRL numbers: one monotonic sequence per issuer shared by complete and delta CRLs
-- (RFC 5280 §5.2.3), taken from the database so that every node agrees.
CREATE TABLE crl_numbers (
  issuer_id   text PRIMARY KEY REFERENCES issuers (id),
  last_number bigint NOT NULL DEFAULT 0
);

-- Published CRLs, shared by all nodes.
CREATE TABLE crls (
  issuer_id   text NOT NULL REFERENCES issuers (id),
  number      bigint NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('full', 'delta')),
  base_number bigint,
  this_update timestamptz NOT NULL,
  next_update timestamptz NOT NULL,
  entries     integer NOT NULL,
  changes     bigint NOT NULL,
  der         bytea NOT NULL,
  PRIMARY KEY (issuer_id, number),
  CHECK ((kind = 'delta') = (base_number IS NOT NULL))
);
CREATE INDEX crls_latest ON crls (issuer_id, kind, number DESC);
