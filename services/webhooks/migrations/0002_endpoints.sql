-- Webhook endpoints and their deliveries. A delivery is stored (one row per event and matching
-- endpoint) before it is sent; its id is the `webhook-id` every attempt carries.

CREATE TABLE endpoints (
    id uuid PRIMARY KEY,
    system_id bigint NOT NULL,
    system text NOT NULL,
    url text NOT NULL,
    description text,
    events text[] NOT NULL,
    format text NOT NULL DEFAULT 'standard',
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    disabled_at timestamptz,
    -- `whsec_` secrets, encrypted with PLAUDIT_ENCRYPTION_KEY. After a rotation the previous one
    -- keeps signing too until `previous_secret_until`.
    secret_ciphertext text NOT NULL,
    previous_secret_ciphertext text,
    previous_secret_until timestamptz,
    -- Failing without a single success since then; cleared by any success.
    failing_since timestamptz,
    last_success_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (format IN ('standard', 'badgekit'))
);
CREATE INDEX endpoints_system ON endpoints (system_id);

CREATE TABLE deliveries (
    id uuid PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    system_id bigint NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    -- The exact bytes every attempt sends.
    payload bytea NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    schedule_step integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, endpoint_id),
    CHECK (status IN ('pending', 'succeeded', 'failed'))
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, created_at);

CREATE TABLE delivery_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    status_code integer,
    duration_ms integer NOT NULL,
    response text,
    error text
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, at);

-- What happened to an endpoint itself (disabled, re-enabled, secret rotated).
CREATE TABLE endpoint_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    type text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    detail jsonb
);
