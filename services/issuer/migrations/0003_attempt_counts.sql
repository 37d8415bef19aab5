-- What an attempt's fate says about Open Campus is counted, not flagged: an attempt whose
-- process died in the call leaves no record, and must count as one that may have gone through.
--   attempts  every attempt claimed (counted before its call is made)
--   not_sent  attempts Open Campus certainly did not process (429, refusals, never called)
--   refused   attempts refused outright (a 4xx other than the duplicate, or never called)
ALTER TABLE credentials ADD COLUMN not_sent integer NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN refused integer NOT NULL DEFAULT 0;
ALTER TABLE credentials DROP COLUMN maybe_sent;
ALTER TABLE credentials DROP COLUMN refused_only;
