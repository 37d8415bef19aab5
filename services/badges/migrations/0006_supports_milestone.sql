-- Whether a badge is a support badge of some milestone, kept on the badge by a trigger: an
-- award reads it with the badge to choose its commit mode (one with a milestone to follow up
-- takes a transaction), where a subquery per read cost Postgres about 0.06 ms an award.
ALTER TABLE badges ADD COLUMN supports_milestone boolean NOT NULL DEFAULT false;
UPDATE badges b SET supports_milestone = true
    WHERE EXISTS (SELECT FROM milestone_badges mb WHERE mb.badge_id = b.id);

CREATE FUNCTION milestone_badges_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE badges SET supports_milestone = true
            WHERE id = NEW.badge_id AND NOT supports_milestone;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE badges SET supports_milestone = EXISTS (
                SELECT FROM milestone_badges WHERE badge_id = OLD.badge_id)
            WHERE id = OLD.badge_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER milestone_badges_changed
    AFTER INSERT OR UPDATE OR DELETE ON milestone_badges
    FOR EACH ROW EXECUTE FUNCTION milestone_badges_changed();
