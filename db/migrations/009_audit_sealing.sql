-- The audit log is sealed off the hot path (src/audit/sealer.ts): a transaction appends its
-- records UNSEALED (an ordering id, no seq, prev_hash or hash) without touching audit_head,
-- and a short sealing transaction later chains the committed ones under the head's row lock.
-- Existing records keep their seq and get it as their id too, so the id sequence starts after them.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD COLUMN id bigint;
UPDATE audit_log SET id = seq;
CREATE SEQUENCE audit_log_id_seq AS bigint OWNED BY audit_log.id;
SELECT setval('audit_log_id_seq', (SELECT coalesce(max(seq), 0) + 1 FROM audit_log), false);
ALTER TABLE audit_log
  ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq'),
  ALTER COLUMN id SET NOT NULL,
  ADD PRIMARY KEY (id),
  ALTER COLUMN seq DROP NOT NULL,
  ALTER COLUMN prev_hash DROP NOT NULL,
  ALTER COLUMN hash DROP NOT NULL,
  -- A record is either unsealed (all three null) or sealed (all three set).
  ADD CONSTRAINT audit_log_sealed_whole CHECK (
    (seq IS NULL) = (prev_hash IS NULL) AND (seq IS NULL) = (hash IS NULL));
-- Chain order: unique among sealed records (NULLs, the unsealed ones, do not collide).
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
-- What the sealer reads: the unsealed records in id order; it stays as small as the backlog.
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;
