-- Open Campus credentials: each one a row whose state is persisted before every call, so a
-- crash at any point resumes it without a second credential.

-- A system's own Open Campus API key (without one, OPEN_CAMPUS_API_KEY applies).
CREATE TABLE api_keys (
    system_id bigint PRIMARY KEY,
    ciphertext text NOT NULL,
    -- A hash of the key, naming it (circuit breakers are per key) without revealing it.
    fingerprint text NOT NULL,
    last4 text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE credentials (
    id uuid PRIMARY KEY,
    system_id bigint NOT NULL,
    system text NOT NULL,
    issuer_reference_id text NOT NULL,
    kind text NOT NULL,
    award_uid uuid UNIQUE,
    -- The request that asked for it, so the credential's events and logs join its trace.
    correlation_id text,
    -- The Open Campus body (for an OCA it holds the recipient's name and email).
    body jsonb NOT NULL,
    body_hash text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    vc_id text,
    error jsonb,
    -- The API key of the first attempt, encrypted: every later attempt uses it.
    key_ciphertext text,
    key_fingerprint text,
    attempts integer NOT NULL DEFAULT 0,
    -- Position in OPEN_CAMPUS_RETRY_SCHEDULE (a retry through the API starts it again).
    schedule_step integer NOT NULL DEFAULT 0,
    -- Some earlier attempt may have reached Open Campus (a timeout, a dropped connection, a 5xx):
    -- a duplicate answer then means that attempt went through.
    maybe_sent boolean NOT NULL DEFAULT false,
    -- Every attempt so far was refused outright (a 4xx other than the duplicate): only then may a
    -- retry move to another key.
    refused_only boolean NOT NULL DEFAULT true,
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (system_id, issuer_reference_id),
    CHECK (status IN ('pending', 'issued', 'failed', 'cancelled'))
);
CREATE INDEX credentials_due ON credentials (next_attempt_at) WHERE status = 'pending';
CREATE INDEX credentials_system ON credentials (system_id, created_at);

CREATE TABLE attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    number integer NOT NULL,
    at timestamptz NOT NULL,
    status_code integer,
    duration_ms integer NOT NULL,
    outcome text NOT NULL,
    response text
);
CREATE INDEX attempts_credential ON attempts (credential_id, number);
