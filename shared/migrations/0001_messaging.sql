-- The messaging tables every service keeps in its own schema.

-- Transactional outbox: written in the same transaction as the change that causes the events;
-- the relay publishes rows and deletes them only after the broker confirmed them.
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id uuid NOT NULL,
    routing_key text NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Inbox: one row per handled message, written in the same transaction as its effect, so a
-- redelivered message is recognised and not handled twice. A request keeps its reply, which a
-- redelivery gets again.
CREATE TABLE inbox (
    message_id uuid PRIMARY KEY,
    type text NOT NULL,
    system_id bigint,
    reply bytea,
    handled_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_handled_at ON inbox (handled_at);
CREATE INDEX inbox_system_id ON inbox (system_id) WHERE system_id IS NOT NULL;
