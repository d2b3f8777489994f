-- CRL generation reads every revoked certificate in serial order: a covering partial index
-- lets PostgreSQL answer from the index alone (index-only scan), without a random heap access
-- per entry.
DROP INDEX certificates_not_good;
CREATE INDEX certificates_crl ON certificates (issuer_id, serial)
  INCLUDE (not_after, revoked_at, revocation_reason, invalidity_date) WHERE status <> 'good';

-- A CRL's bytes are stored in parts of a few MiB: a driver copies a parameter into its protocol
-- buffers, and a 50 MB parameter would briefly cost the service 100 MB more. DER hardly
-- compresses, so the parts are stored out of line without a pglz attempt.
ALTER TABLE crls DROP COLUMN der;
CREATE TABLE crl_parts (
  issuer_id text NOT NULL,
  number    bigint NOT NULL,
  part      integer NOT NULL,
  bytes     bytea NOT NULL,
  PRIMARY KEY (issuer_id, number, part),
  FOREIGN KEY (issuer_id, number) REFERENCES crls (issuer_id, number) ON DELETE CASCADE
);
ALTER TABLE crl_parts ALTER COLUMN bytes SET STORAGE EXTERNAL;
