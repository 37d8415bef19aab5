-- Imports: bulk awards of one badge from a file (`services/badges/importing.py`). The rows are
-- stored as the upload streams them in; each row's outcome is written in the same transaction
-- as its award, so a row is awarded at most once whatever crashes (a row with an outcome is
-- never taken again), and at least once (a running import is resumed at start).
CREATE TABLE imports (
    id uuid PRIMARY KEY,
    system_id bigint NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    badge_id bigint NOT NULL REFERENCES badges (id) ON DELETE CASCADE,
    state text NOT NULL,
    dry_run boolean NOT NULL,
    duplicates text NOT NULL,
    notify boolean NOT NULL,
    total integer NOT NULL DEFAULT 0,
    done integer NOT NULL DEFAULT 0,
    awarded integer NOT NULL DEFAULT 0,
    skipped integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    -- The first problems found by validation (at most 1,000, by row).
    problems jsonb NOT NULL DEFAULT '[]',
    correlation_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX imports_system ON imports (system_id, created_at);
CREATE INDEX imports_running ON imports (created_at) WHERE state = 'running';

CREATE TABLE import_rows (
    import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_number integer NOT NULL,
    email text NOT NULL,
    -- The award's validated fields (an `ImportRowFields`), null for an invalid row.
    award jsonb,
    -- The row's problems (validation), null for a valid row.
    problems jsonb,
    -- The earlier row of the file with the same email, if any.
    repeats integer,
    outcome text CHECK (outcome IN ('awarded', 'skipped', 'failed')),
    slug text,
    error text,
    PRIMARY KEY (import_id, row_number)
);
-- The rows still to run, in order.
CREATE INDEX import_rows_pending ON import_rows (import_id, row_number) WHERE outcome IS NULL;
