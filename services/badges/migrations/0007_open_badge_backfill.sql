-- Awards made before Open Badges 3.0 credentials existed have none: each award present now is
-- marked for the backfill (`services/badges/backfill.py`), which asks the issuer to sign it
-- and clears the mark; awards made from now on are announced by their own `badge.awarded`.
-- (An award marked here that has its credential already is skipped by the issuer.)
ALTER TABLE instances ADD COLUMN open_badge_pending boolean NOT NULL DEFAULT true;
ALTER TABLE instances ALTER COLUMN open_badge_pending SET DEFAULT false;
CREATE INDEX instances_open_badge_pending ON instances (id) WHERE open_badge_pending;
