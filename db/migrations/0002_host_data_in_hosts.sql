-- The latest data a host sent moves from scheduler_host_data into its hosts
-- row, so that a check-in writes one row instead of two: on PostgreSQL the
-- upsert into the second table was a third of a check-in's database time.
ALTER TABLE hosts ADD COLUMN data TEXT;
ALTER TABLE hosts ADD COLUMN data_time DOUBLE PRECISION;
UPDATE hosts SET data = (SELECT d.data FROM scheduler_host_data d WHERE d.host_id = hosts.id),
	data_time = (SELECT d.update_time FROM scheduler_host_data d WHERE d.host_id = hosts.id);
DROP TABLE scheduler_host_data;
