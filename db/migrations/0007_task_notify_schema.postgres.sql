-- Task notifications name the schema of the table written: installs (and
-- test runs) sharing one PostgreSQL database in different schemas no longer
-- hear each other's task writes. A hub ignores announcements for other
-- schemas; the 3-field form of migration 3 is still understood.
CREATE OR REPLACE FUNCTION kojigo_task_notify() RETURNS trigger AS $$ BEGIN PERFORM pg_notify('kojigo_tasks', NEW.id || ' ' || COALESCE(NEW.host_id, 0) || ' ' || NEW.state || ' ' || TG_TABLE_SCHEMA); RETURN NULL; END $$ LANGUAGE plpgsql;
