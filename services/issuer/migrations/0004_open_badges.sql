-- Open Badges 3.0: each system's signing keys, the signed credential of every award, and the
-- status lists that revoke them.

-- Ed25519 (Data Integrity proofs) and RSA (VC-JWT) keys. One current key of each type per
-- system; a rotation makes it previous (still in the DID document, still verifying); retiring
-- takes it out of the DID document for good.
CREATE TABLE signing_keys (
    id text PRIMARY KEY,
    system_id bigint NOT NULL,
    -- The system's slug, which names its DID (a slug never changes; a deleted system's keys go).
    system text NOT NULL,
    type text NOT NULL CHECK (type IN ('Ed25519', 'RSA')),
    status text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'previous', 'retired')),
    -- The private half, PKCS #8 encrypted with PLAUDIT_ENCRYPTION_KEY.
    sealed text NOT NULL,
    -- The public half as the DID document shows it ({publicKeyMultibase} or {publicKeyJwk}).
    public_key jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (system_id, type) WHERE status = 'current';
CREATE INDEX signing_keys_system ON signing_keys (system_id, created_at);
CREATE INDEX signing_keys_slug ON signing_keys (system) WHERE status <> 'retired';

-- Bitstring status lists (revocation). Indexes are drawn at random from the list that still
-- has room (at most half of a list is ever given out, so a draw rarely collides); `revoked`
-- holds the bits; `document` the signed BitstringStatusListCredential as served.
CREATE TABLE status_lists (
    id text PRIMARY KEY,
    system_id bigint NOT NULL,
    system text NOT NULL,
    size integer NOT NULL,
    capacity integer NOT NULL,
    used integer NOT NULL DEFAULT 0,
    revoked bytea NOT NULL,
    document text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- `capacity` is where a list stops being drawn from: concurrent awards may pass it by a
    -- few, never past `size` (`used` counts credentials, each with its own index).
    CHECK (capacity <= size AND used <= size)
);
CREATE INDEX status_lists_open ON status_lists (system_id, created_at) WHERE used < capacity;

-- The OpenBadgeCredential of each award, signed once in both forms. A revoked one stays: its
-- status bit says it is revoked.
CREATE TABLE open_badges (
    -- The award's slug, which names its public URLs.
    slug text PRIMARY KEY,
    system_id bigint NOT NULL,
    status_list_id text NOT NULL REFERENCES status_lists (id) ON DELETE CASCADE,
    status_index integer NOT NULL,
    document text NOT NULL,
    jwt text NOT NULL,
    revoked_at timestamptz,
    -- When the row was inserted (the statement before its commit), not its transaction's start
    -- (`now()`, before the status list's lock and the signing): how long after its award a
    -- credential could be served (bench --credential-lag) reads it.
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- An index is never given to two credentials.
    UNIQUE (status_list_id, status_index)
);
CREATE INDEX open_badges_system ON open_badges (system_id, created_at);

-- Awards revoked before their credential was signed (their events arrived in that order): the
-- credential is signed, then revoked at once.
CREATE TABLE early_revocations (
    slug text PRIMARY KEY,
    system_id bigint NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
