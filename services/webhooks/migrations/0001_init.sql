-- The webhooks service's own tables (endpoints, deliveries, attempts) come with the webhooks
-- issue; the outbox and inbox come from shared/migrations.
SELECT 1;
