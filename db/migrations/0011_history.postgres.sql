-- kojigo schema, version 10 (PostgreSQL): history for queryHistory.
-- Who made and who ended each row of the versioned tables that lacked it,
-- as Koji's creator_id and revoker_id (queryHistory's creator_name and
-- revoker_name). Rows written before this migration have neither.
ALTER TABLE tag_inheritance ADD COLUMN creator_id {{BIGINT}} REFERENCES users(id);
ALTER TABLE tag_inheritance ADD COLUMN revoker_id {{BIGINT}} REFERENCES users(id);
ALTER TABLE tag_packages ADD COLUMN creator_id {{BIGINT}} REFERENCES users(id);
ALTER TABLE tag_packages ADD COLUMN revoker_id {{BIGINT}} REFERENCES users(id);
ALTER TABLE tag_listing ADD COLUMN revoker_id {{BIGINT}} REFERENCES users(id);

-- Koji's tag_config: a tag's arches, permission and lock, versioned. The
-- tags row keeps the values in effect; these rows keep their history, so
-- that getTag(event=) and queryHistory see the past. A deleted tag's last
-- row is revoked. Existing tags start with one row at their creation event.
CREATE TABLE tag_config (
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	arches TEXT,
	perm_id {{BIGINT}} REFERENCES permissions(id),
	locked BOOLEAN NOT NULL DEFAULT FALSE,
	maven_support BOOLEAN NOT NULL DEFAULT FALSE,
	maven_include_all BOOLEAN NOT NULL DEFAULT FALSE,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id)
);
CREATE UNIQUE INDEX tag_config_active ON tag_config(tag_id) WHERE revoke_event IS NULL;
CREATE INDEX tag_config_by_tag ON tag_config(tag_id, create_event);
INSERT INTO tag_config (tag_id, arches, perm_id, locked, create_event)
	SELECT id, arches, perm_id, locked, create_event FROM tags WHERE NOT deleted;

-- Koji's tag_extra: one row per key of a tag's extra, value the JSON text
-- of the value, or NULL for a key blocked from inheritance (editTag2's
-- block_extra). tags.extra keeps the values in effect.
CREATE TABLE tag_extra (
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	key TEXT NOT NULL,
	value TEXT,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id)
);
CREATE UNIQUE INDEX tag_extra_active ON tag_extra(tag_id, key) WHERE revoke_event IS NULL;
CREATE INDEX tag_extra_by_tag ON tag_extra(tag_id, create_event);

-- Koji's build_target_config: a target's tags, versioned. kojigo deletes a
-- target's build_targets row, so each row also keeps the target's name.
-- Existing targets start with one row at the newest event.
CREATE TABLE build_target_config (
	build_target_id {{BIGINT}} NOT NULL,
	name TEXT NOT NULL,
	build_tag {{BIGINT}} NOT NULL REFERENCES tags(id),
	dest_tag {{BIGINT}} NOT NULL REFERENCES tags(id),
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id)
);
CREATE UNIQUE INDEX build_target_config_active ON build_target_config(build_target_id) WHERE revoke_event IS NULL;
INSERT INTO build_target_config (build_target_id, name, build_tag, dest_tag, create_event)
	SELECT id, name, build_tag, dest_tag, (SELECT MAX(id) FROM events) FROM build_targets;
INSERT INTO tag_extra (tag_id, key, value, create_event)
	SELECT t.id, j.key, j.value::text, t.create_event FROM tags t, jsonb_each(t.extra::jsonb) j WHERE NOT t.deleted;
