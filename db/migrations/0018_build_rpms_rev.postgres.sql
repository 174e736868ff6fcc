-- kojigo schema, version 18 (PostgreSQL): builds.rpms_rev counts the
-- changes to a build's RPM rows (added, changed, deleted), by any path and
-- any hub, so that a hub may keep what it derived from them (a repo's
-- rpmlist lines) for as long as the count stays.
ALTER TABLE builds ADD COLUMN rpms_rev BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION kojigo_rpms_rev() RETURNS trigger AS $$ BEGIN IF TG_OP <> 'INSERT' THEN UPDATE builds SET rpms_rev = rpms_rev + 1 WHERE id = OLD.build_id; END IF; IF TG_OP <> 'DELETE' THEN UPDATE builds SET rpms_rev = rpms_rev + 1 WHERE id = NEW.build_id; END IF; RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE TRIGGER rpms_rev AFTER INSERT OR UPDATE OR DELETE ON rpms FOR EACH ROW EXECUTE FUNCTION kojigo_rpms_rev();
