-- An uploaded image belongs to exactly one system, issuer, program or badge: when its owner is
-- deleted or gets another image, the image row goes too (BadgeKit orphaned them).
CREATE FUNCTION drop_released_image() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.image_id IS NOT NULL AND (TG_OP = 'DELETE' OR NEW.image_id IS DISTINCT FROM OLD.image_id) THEN
        DELETE FROM images WHERE id = OLD.image_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER systems_image AFTER UPDATE OF image_id OR DELETE ON systems
    FOR EACH ROW EXECUTE FUNCTION drop_released_image();
CREATE TRIGGER issuers_image AFTER UPDATE OF image_id OR DELETE ON issuers
    FOR EACH ROW EXECUTE FUNCTION drop_released_image();
CREATE TRIGGER programs_image AFTER UPDATE OF image_id OR DELETE ON programs
    FOR EACH ROW EXECUTE FUNCTION drop_released_image();
CREATE TRIGGER badges_image AFTER UPDATE OF image_id OR DELETE ON badges
    FOR EACH ROW EXECUTE FUNCTION drop_released_image();
