-- The issuer's own tables (credentials, attempts, per-system Open Campus keys) come with the
-- Open Campus issue; the outbox and inbox come from shared/migrations.
SELECT 1;
