-- The rest of BadgeKit's resources. Unlike BadgeKit's MySQL schema, every reference is a real
-- foreign key and deletes cascade: nothing is ever orphaned.

-- Uploaded images, served at /public/images/:slug. External images stay URLs on their owner.
CREATE TABLE images (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    mimetype text NOT NULL,
    data bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX images_system_id ON images (system_id);

ALTER TABLE systems ADD COLUMN image_id bigint REFERENCES images (id) ON DELETE SET NULL;

CREATE TABLE issuers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    slug text NOT NULL,
    name text NOT NULL,
    url text NOT NULL,
    description text,
    email text,
    image_url text,
    image_id bigint REFERENCES images (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (system_id, slug)
);

CREATE TABLE programs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    issuer_id bigint NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    slug text NOT NULL,
    name text NOT NULL,
    url text NOT NULL,
    description text,
    email text,
    image_url text,
    image_id bigint REFERENCES images (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer_id, slug)
);

-- A badge hangs off its system, and optionally an issuer and a program of that system.
-- Its slug is unique within the system (BadgeKit made it global, leaking slugs across tenants).
CREATE TABLE badges (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    issuer_id bigint REFERENCES issuers (id) ON DELETE CASCADE,
    program_id bigint REFERENCES programs (id) ON DELETE CASCADE,
    slug text NOT NULL,
    name text NOT NULL,
    strapline text,
    earner_description text NOT NULL,
    consumer_description text NOT NULL,
    issuer_url text,
    rubric_url text,
    criteria_url text NOT NULL,
    time_value integer,
    time_units text,
    award_limit integer,
    is_unique boolean NOT NULL DEFAULT false,
    archived boolean NOT NULL DEFAULT false,
    type text NOT NULL DEFAULT '',
    evidence_type text,
    image_url text,
    image_id bigint REFERENCES images (id) ON DELETE SET NULL,
    credential jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (system_id, slug),
    CHECK (program_id IS NULL OR issuer_id IS NOT NULL)
);
CREATE INDEX badges_issuer_id ON badges (issuer_id);
CREATE INDEX badges_program_id ON badges (program_id);

CREATE TABLE criteria (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    position integer NOT NULL,
    description text NOT NULL,
    note text NOT NULL DEFAULT '',
    required boolean NOT NULL DEFAULT false
);
CREATE INDEX criteria_badge_id ON criteria (badge_id);

CREATE TABLE alignments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name text NOT NULL,
    url text NOT NULL,
    description text
);
CREATE INDEX alignments_badge_id ON alignments (badge_id);

CREATE TABLE badge_categories (
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    position integer NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (badge_id, value)
);

CREATE TABLE badge_tags (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    value text NOT NULL,
    UNIQUE (badge_id, value)
);

CREATE TABLE claim_codes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    code text NOT NULL,
    claimed boolean NOT NULL DEFAULT false,
    email text,
    multiuse boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (badge_id, code)
);

-- Awards (BadgeKit's badge instances). `uid` is the award's globally unique id (credentials
-- derive their issuerReferenceId from it); `slug` names its public assertion.
CREATE TABLE instances (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid uuid NOT NULL UNIQUE,
    slug text NOT NULL UNIQUE,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    email text NOT NULL,
    salt text NOT NULL,
    issued_on timestamptz NOT NULL DEFAULT now(),
    expires timestamptz,
    claim_code text,
    comment text,
    evidence_url text,
    recipient_name text,
    holder_oc_id text,
    holder_address text,
    credential_id text,
    credential_status text,
    unique_award boolean NOT NULL DEFAULT false,
    revoked_at timestamptz,
    revocation_reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A badge marked `unique` is held at most once (actively) by an email; revoked awards free it.
CREATE UNIQUE INDEX instances_unique_award ON instances (badge_id, lower(email))
    WHERE unique_award AND revoked_at IS NULL;
CREATE INDEX instances_badge_email ON instances (badge_id, lower(email));
CREATE INDEX instances_system_email ON instances (system_id, lower(email));

CREATE TABLE applications (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    learner text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    assigned_to text,
    assigned_expiration timestamptz,
    processed timestamptz
);
CREATE INDEX applications_badge_id ON applications (badge_id);

CREATE TABLE evidence (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    position integer NOT NULL,
    url text,
    media_type text,
    reflection text
);
CREATE INDEX evidence_application_id ON evidence (application_id);

CREATE TABLE reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    application_id bigint NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    author text NOT NULL,
    comment text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_application_id ON reviews (application_id);

CREATE TABLE review_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    review_id bigint NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    criterion_id bigint NOT NULL REFERENCES criteria (id) ON DELETE CASCADE,
    satisfied boolean NOT NULL DEFAULT false,
    comment text
);
CREATE INDEX review_items_review_id ON review_items (review_id);

CREATE TABLE milestones (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    primary_badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    number_required integer NOT NULL,
    action text NOT NULL DEFAULT 'issue'
);
CREATE INDEX milestones_system_id ON milestones (system_id);

CREATE TABLE milestone_badges (
    milestone_id bigint NOT NULL REFERENCES milestones (id) ON DELETE CASCADE,
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    PRIMARY KEY (milestone_id, badge_id)
);
CREATE INDEX milestone_badges_badge_id ON milestone_badges (badge_id);

-- Idempotency-Key records: the first response to a POST, replayed for 24 hours.
CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    locked_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
