-- Repos as Koji 1.35 keeps them (schemas/schema.sql: repo, repo_queue,
-- tag_updates): the validity range of a repo's content, its options, and
-- the queue of repo requests that kojira's newRepo tasks fulfil.

-- begin_event: the tag's last change at creation; end_event: its first
-- change after (NULL while the repo is current). opts and custom_opts are
-- JSON objects: {src, debuginfo, separate_src, maven}, and the ones that
-- differ from the tag's defaults.
ALTER TABLE repos ADD COLUMN begin_event {{BIGINT}} REFERENCES events(id);
ALTER TABLE repos ADD COLUMN end_event {{BIGINT}} REFERENCES events(id);
ALTER TABLE repos ADD COLUMN opts TEXT;
ALTER TABLE repos ADD COLUMN custom_opts TEXT;
CREATE INDEX repos_by_state ON repos(state, end_event);

-- One row per repo request (repo.request); at_event XOR min_event. A
-- request is active until a repo fulfils it (repo_id) or its retries run out.
CREATE TABLE repo_queue (
	id {{PK}},
	create_time DOUBLE PRECISION NOT NULL,
	owner {{BIGINT}} NOT NULL REFERENCES users(id),
	priority INTEGER NOT NULL,
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	at_event {{BIGINT}} REFERENCES events(id),
	min_event {{BIGINT}} REFERENCES events(id),
	opts TEXT NOT NULL,
	update_time DOUBLE PRECISION NOT NULL,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	task_id {{BIGINT}} REFERENCES tasks(id),
	tries INTEGER NOT NULL DEFAULT 0,
	repo_id {{BIGINT}} REFERENCES repos(id),
	CONSTRAINT only_one_event CHECK (at_event IS NULL OR min_event IS NULL),
	CONSTRAINT active_sane CHECK (NOT active OR repo_id IS NULL)
);
CREATE INDEX repo_queue_active ON repo_queue(active, tag_id);

-- Changes to a tag that no versioned table records (kojigo: editTag2 of
-- arches, lock, permission or extra), so that tagLastChangeEvent sees them.
-- update_type is Koji's TAG_UPDATE_TYPES: VOLUME_CHANGE 0, IMPORT 1, MANUAL 2.
CREATE TABLE tag_updates (
	id {{PK}},
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	update_event {{BIGINT}} NOT NULL REFERENCES events(id),
	updater_id {{BIGINT}} REFERENCES users(id),
	update_type INTEGER NOT NULL
);
CREATE INDEX tag_updates_by_tag ON tag_updates(tag_id, update_event);
