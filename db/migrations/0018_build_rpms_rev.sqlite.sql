-- kojigo schema, version 18 (SQLite): builds.rpms_rev counts the changes
-- to a build's RPM rows (added, changed, deleted), by any path, so that the
-- hub may keep what it derived from them (a repo's rpmlist lines) for as
-- long as the count stays. A migration that rebuilds rpms must create
-- these triggers again.
ALTER TABLE builds ADD COLUMN rpms_rev INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER rpms_rev_insert AFTER INSERT ON rpms BEGIN UPDATE builds SET rpms_rev = rpms_rev + 1 WHERE id = NEW.build_id; END;
CREATE TRIGGER rpms_rev_update AFTER UPDATE ON rpms BEGIN UPDATE builds SET rpms_rev = rpms_rev + 1 WHERE id IN (OLD.build_id, NEW.build_id); END;
CREATE TRIGGER rpms_rev_delete AFTER DELETE ON rpms BEGIN UPDATE builds SET rpms_rev = rpms_rev + 1 WHERE id = OLD.build_id; END;
