-- OCSP (RFC 6960): delegated responder certificates and pre-signed responses.

-- Delegated OCSP signing certificates (RFC 6960 §4.2.2.2: id-kp-OCSPSigning, issued by the CA
-- whose certificates they answer for, with id-pkix-ocsp-nocheck). The newest one of an issuer
-- signs; older ones stay, since responses they signed are valid until their nextUpdate. The
-- private keys live in the key store under key_label.
CREATE TABLE ocsp_signers (
  issuer_id     text NOT NULL REFERENCES issuers (id),
  serial        text NOT NULL CHECK (serial ~ '^[0-9a-f]{2,40}$'),
  key_label     text NOT NULL,
  key_algorithm text NOT NULL,
  certificate   bytea NOT NULL,
  not_before    timestamptz NOT NULL,
  not_after     timestamptz NOT NULL,
  created_at    timestamptz NOT NULL,
  PRIMARY KEY (issuer_id, serial)
);
CREATE INDEX ocsp_signers_newest ON ocsp_signers (issuer_id, not_after DESC);

-- Pre-signed responses without nonce (RFC 5019 §2.2.1), one per certificate and CertID
-- digest, shared by every node. A response is re-signed at once when the status changes and
-- when refresh_at passes (half-way to next_update); status columns mirror what the DER says,
-- so a node can answer a nonce request live without asking the certificates table again.
CREATE TABLE ocsp_responses (
  issuer_id         text NOT NULL REFERENCES issuers (id),
  serial            text NOT NULL CHECK (serial ~ '^[0-9a-f]{2,40}$'),
  hash_alg          text NOT NULL CHECK (hash_alg IN ('sha1', 'sha256')),
  status            text NOT NULL CHECK (status IN ('good', 'revoked')),
  revoked_at        timestamptz,
  revocation_reason smallint,
  this_update       timestamptz NOT NULL,
  next_update       timestamptz NOT NULL,
  refresh_at        timestamptz NOT NULL,
  der               bytea NOT NULL,
  PRIMARY KEY (issuer_id, serial, hash_alg),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE INDEX ocsp_responses_refresh ON ocsp_responses (refresh_at);
