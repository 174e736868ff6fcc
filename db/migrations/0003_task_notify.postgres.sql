-- Every task row written, by any hub, is announced on the kojigo_tasks
-- channel as "id host_id state": a hub wakes the builders waiting on it when
-- another hub assigned them work, and drops its cached copy of the row.
-- (SQLite has one hub per database and needs none of this.)
CREATE FUNCTION kojigo_task_notify() RETURNS trigger AS $$ BEGIN PERFORM pg_notify('kojigo_tasks', NEW.id || ' ' || COALESCE(NEW.host_id, 0) || ' ' || NEW.state); RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE TRIGGER tasks_notify AFTER INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION kojigo_task_notify();
