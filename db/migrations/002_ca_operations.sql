-- Dual control for CA key operations (GM/T 0034, CA/B BR §6.1.1.1): one security admin
-- requests, a different one approves, and only then does the operation run.
CREATE TABLE ca_operations (
  id           uuid PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('create-issuing-ca', 'rollover-issuing-ca', 'retire-issuer')),
  parameters   jsonb NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'executing', 'executed', 'rejected', 'failed')),
  requested_by text NOT NULL,
  requested_at timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  decided_by   text,
  decided_at   timestamptz,
  reason       text,
  result       jsonb
);
CREATE INDEX ca_operations_status ON ca_operations (status, requested_at);
