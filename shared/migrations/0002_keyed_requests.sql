-- Requests sent under an Idempotency-Key: their message_id derives from the key, and the inbox
-- keeps the hash of the HTTP request beside the reply, so a retry (same hash) is answered the
-- stored reply and the key reused for another request is refused.
ALTER TABLE inbox ADD COLUMN request_hash text;
