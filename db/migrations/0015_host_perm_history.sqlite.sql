-- kojigo schema, version 15 (SQLite): the history of hosts, their
-- channels and users' permissions, versioned as Koji's host_config,
-- host_channels and user_perms: a row is in effect from its create_event
-- until its revoke_event (Koji's active is revoke_event IS NULL, one such
-- row per key) and records who made and who ended it. The hosts row keeps
-- the configuration in effect; host_config keeps its history.
--
-- Rows that exist now become rows created at the newest event (a grant at
-- the newest event at or before its create_time), by nobody known; with no
-- event yet, the migration records one.
INSERT INTO events (time) SELECT (julianday('now') - 2440587.5) * 86400.0
	WHERE NOT EXISTS (SELECT 1 FROM events)
	AND (EXISTS (SELECT 1 FROM hosts) OR EXISTS (SELECT 1 FROM user_perms));

CREATE TABLE host_config (
	host_id {{BIGINT}} NOT NULL REFERENCES hosts(id),
	arches TEXT,
	capacity DOUBLE PRECISION NOT NULL DEFAULT 2.0,
	description TEXT,
	comment TEXT,
	enabled BOOLEAN NOT NULL DEFAULT TRUE,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id),
	PRIMARY KEY (create_event, host_id)
);
CREATE UNIQUE INDEX host_config_active ON host_config(host_id) WHERE revoke_event IS NULL;
INSERT INTO host_config (host_id, arches, capacity, description, comment, enabled, create_event)
	SELECT id, arches, capacity, description, comment, enabled, (SELECT MAX(id) FROM events) FROM hosts;

CREATE TABLE host_channels_v (
	host_id {{BIGINT}} NOT NULL REFERENCES hosts(id),
	channel_id {{BIGINT}} NOT NULL REFERENCES channels(id),
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id),
	PRIMARY KEY (create_event, host_id, channel_id)
);
INSERT INTO host_channels_v (host_id, channel_id, create_event)
	SELECT host_id, channel_id, (SELECT MAX(id) FROM events) FROM host_channels;
DROP TABLE host_channels;
ALTER TABLE host_channels_v RENAME TO host_channels;
CREATE UNIQUE INDEX host_channels_active ON host_channels(host_id, channel_id) WHERE revoke_event IS NULL;
CREATE INDEX host_channels_by_channel ON host_channels(channel_id);

CREATE TABLE user_perms_v (
	user_id {{BIGINT}} NOT NULL REFERENCES users(id),
	perm_id {{BIGINT}} NOT NULL REFERENCES permissions(id),
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id),
	PRIMARY KEY (create_event, user_id, perm_id)
);
INSERT INTO user_perms_v (user_id, perm_id, create_event, creator_id)
	SELECT up.user_id, up.perm_id,
		COALESCE((SELECT MAX(e.id) FROM events e WHERE e.time <= up.create_time), (SELECT MIN(id) FROM events)),
		up.creator_id
	FROM user_perms up;
DROP TABLE user_perms;
ALTER TABLE user_perms_v RENAME TO user_perms;
CREATE UNIQUE INDEX user_perms_active ON user_perms(user_id, perm_id) WHERE revoke_event IS NULL;
CREATE INDEX user_perms_by_perm ON user_perms(perm_id);
