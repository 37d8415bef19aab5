-- Idempotency-Key records now live with each request's effect, in the owning service's inbox
-- (shared migration 0002): a claim kept here could outlive a crash of the gateway holding it.
DROP TABLE IF EXISTS idempotency_keys;
