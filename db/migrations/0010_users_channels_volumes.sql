-- kojigo schema, version 12: content generators and who may act as them,
-- build notifications and their blocks, storage volumes, as Koji 1.35's
-- content_generator, cg_users, build_notifications,
-- build_notifications_block and volume. cg_users is versioned like Koji's
-- (grantCGAccess creates a row, revokeCGAccess revokes it) so that history
-- queries see who had access when.

CREATE TABLE content_generators (
	id {{PK}},
	name TEXT NOT NULL UNIQUE
);

CREATE TABLE cg_users (
	cg_id {{BIGINT}} NOT NULL REFERENCES content_generators(id),
	user_id {{BIGINT}} NOT NULL REFERENCES users(id),
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id),
	-- Koji: PRIMARY KEY (create_event, cg_id, user_id)
	PRIMARY KEY (create_event, cg_id, user_id)
);
-- one grant in effect per user and generator (Koji: UNIQUE (cg_id, user_id, active))
CREATE UNIQUE INDEX cg_users_active ON cg_users(cg_id, user_id) WHERE revoke_event IS NULL;

CREATE TABLE build_notifications (
	id {{PK}},
	user_id {{BIGINT}} NOT NULL REFERENCES users(id),
	package_id {{BIGINT}} REFERENCES packages(id),
	tag_id {{BIGINT}} REFERENCES tags(id),
	success_only BOOLEAN NOT NULL DEFAULT FALSE,
	email TEXT NOT NULL
);
CREATE INDEX build_notifications_by_user ON build_notifications(user_id);

CREATE TABLE build_notifications_block (
	id {{PK}},
	user_id {{BIGINT}} NOT NULL REFERENCES users(id),
	package_id {{BIGINT}} REFERENCES packages(id),
	tag_id {{BIGINT}} REFERENCES tags(id)
);
CREATE INDEX build_notifications_block_by_user ON build_notifications_block(user_id);

-- Volumes: DEFAULT (id 0) is topdir itself; any other NAME is
-- topdir/vol/NAME, and a build on it keeps a symlink at its DEFAULT place.
CREATE TABLE volumes (
	id {{PK}},
	name TEXT NOT NULL UNIQUE
);
INSERT INTO volumes (id, name) VALUES (0, 'DEFAULT');
-- (no REFERENCES: SQLite cannot add a referencing column with a default;
-- the hub checks the volume)
ALTER TABLE builds ADD COLUMN volume_id {{BIGINT}} NOT NULL DEFAULT 0;
