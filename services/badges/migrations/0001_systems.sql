-- Systems (the tenants) and their API consumers.

CREATE TABLE systems (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    name text NOT NULL,
    url text NOT NULL,
    description text,
    email text,
    image_url text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE consumers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    api_key text NOT NULL UNIQUE,
    -- Encrypted with PLAUDIT_ENCRYPTION_KEY; the plaintext is shown once, at creation.
    secret_ciphertext text NOT NULL,
    description text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consumers_system_id ON consumers (system_id);
