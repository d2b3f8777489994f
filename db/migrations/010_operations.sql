-- Operations: the security admin's dashboard and expiry notices. PostgreSQL 15 syntax only.

-- The dashboard counts certificates by org unit, status and expiry in one pass: this covering
-- index lets PostgreSQL answer from the index alone (index-only scan) instead of reading every
-- certificate's row with its DER (measured on 1,000,000 certificates: see README, Operations).
CREATE INDEX certificates_dashboard ON certificates (org_unit, status, not_after);

-- Per issuer: how many pre-signed OCSP responses, the earliest nextUpdate, how many are past
-- their re-signing point, from the index alone.
CREATE INDEX ocsp_responses_next_update ON ocsp_responses (issuer_id, next_update);

-- Expiry notices sent to the webhook (CA_EXPIRY_WEBHOOK_URL): one row per certificate, written
-- with the audit record of its batch in one transaction, only once the receiver answered 2xx.
-- A certificate is announced once: later runs skip it.
CREATE TABLE expiry_notices (
  issuer_id   text NOT NULL,
  serial      text NOT NULL,
  -- What was announced: the certificate's notAfter and the window (CA_EXPIRY_NOTICE_DAYS) then.
  not_after   timestamptz NOT NULL,
  window_days integer NOT NULL CHECK (window_days > 0),
  sent_at     timestamptz NOT NULL,
  PRIMARY KEY (issuer_id, serial),
  FOREIGN KEY (issuer_id, serial) REFERENCES certificates (issuer_id, serial)
);
