-- The dispatcher's claim walks the endpoints that have due deliveries and takes the oldest of
-- each from here, instead of ranking the whole backlog on every claim.
CREATE INDEX deliveries_pending_by_endpoint ON deliveries (endpoint_id, next_attempt_at)
    WHERE status = 'pending';
