-- kojigo schema, version 1: the whole system's tables.
-- Written once for both backends; db/migrate.go expands the tokens:
--   {{PK}}  an auto-increment integer primary key
--   {{BIGINT}} a 64-bit integer
-- Times are seconds since the epoch (DOUBLE PRECISION) so both backends
-- compare and index them the same way; the hub formats them as Koji does.

CREATE TABLE users (
	id {{PK}},
	name TEXT NOT NULL UNIQUE,
	password TEXT,                       -- PHC-style hash, never plain text; NULL = no password login
	usertype INTEGER NOT NULL DEFAULT 0, -- NORMAL 0, HOST 1, GROUP 2
	status INTEGER NOT NULL DEFAULT 0,   -- NORMAL 0, BLOCKED 1
	krb_principal TEXT
);

CREATE TABLE permissions (
	id {{PK}},
	name TEXT NOT NULL UNIQUE,
	description TEXT
);

CREATE TABLE user_perms (
	user_id {{BIGINT}} NOT NULL REFERENCES users(id),
	perm_id {{BIGINT}} NOT NULL REFERENCES permissions(id),
	create_time DOUBLE PRECISION NOT NULL,
	creator_id {{BIGINT}} REFERENCES users(id),
	PRIMARY KEY (user_id, perm_id)
);

CREATE TABLE sessions (
	id {{PK}},
	user_id {{BIGINT}} NOT NULL REFERENCES users(id),
	key TEXT NOT NULL,
	hostip TEXT NOT NULL,
	authtype INTEGER NOT NULL,
	master {{BIGINT}} REFERENCES sessions(id),
	exclusive BOOLEAN CHECK (exclusive),  -- TRUE or NULL
	callnum {{BIGINT}},
	start_time DOUBLE PRECISION NOT NULL,
	update_time DOUBLE PRECISION NOT NULL,
	renew_time DOUBLE PRECISION,
	closed BOOLEAN NOT NULL DEFAULT FALSE,
	UNIQUE (user_id, exclusive)
);
CREATE INDEX sessions_open ON sessions(id, closed);
CREATE INDEX sessions_master ON sessions(master);

CREATE TABLE channels (
	id {{PK}},
	name TEXT NOT NULL UNIQUE,
	description TEXT,
	enabled BOOLEAN NOT NULL DEFAULT TRUE,
	comment TEXT
);

CREATE TABLE hosts (
	id {{PK}},
	user_id {{BIGINT}} NOT NULL UNIQUE REFERENCES users(id),
	name TEXT NOT NULL UNIQUE,
	update_time DOUBLE PRECISION,
	task_load DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (task_load >= 0),
	ready BOOLEAN NOT NULL DEFAULT FALSE,
	arches TEXT NOT NULL DEFAULT '',
	capacity DOUBLE PRECISION NOT NULL DEFAULT 2.0 CHECK (capacity > 1),
	description TEXT,
	comment TEXT,
	enabled BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE host_channels (
	host_id {{BIGINT}} NOT NULL REFERENCES hosts(id),
	channel_id {{BIGINT}} NOT NULL REFERENCES channels(id),
	PRIMARY KEY (host_id, channel_id)
);

-- The latest data a host sent with host.updateHost (Koji's scheduler_host_data)
-- and a bounded history of its health for trends.
CREATE TABLE scheduler_host_data (
	host_id {{BIGINT}} PRIMARY KEY REFERENCES hosts(id),
	data TEXT NOT NULL,
	update_time DOUBLE PRECISION NOT NULL
);
CREATE TABLE host_health (
	id {{PK}},
	host_id {{BIGINT}} NOT NULL REFERENCES hosts(id),
	time DOUBLE PRECISION NOT NULL,
	ready BOOLEAN NOT NULL,
	task_load DOUBLE PRECISION NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX host_health_by_host ON host_health(host_id, id);

CREATE TABLE tasks (
	id {{PK}},
	state INTEGER NOT NULL,
	create_time DOUBLE PRECISION NOT NULL,
	start_time DOUBLE PRECISION,
	completion_time DOUBLE PRECISION,
	channel_id {{BIGINT}} NOT NULL REFERENCES channels(id),
	host_id {{BIGINT}} REFERENCES hosts(id),
	parent {{BIGINT}} REFERENCES tasks(id),
	label TEXT CHECK (parent IS NOT NULL OR label IS NULL),
	waiting BOOLEAN,
	awaited BOOLEAN,
	owner {{BIGINT}} NOT NULL REFERENCES users(id),
	method TEXT NOT NULL,
	request TEXT NOT NULL,
	result TEXT,
	arch TEXT NOT NULL,
	priority INTEGER NOT NULL,
	weight DOUBLE PRECISION NOT NULL DEFAULT 1.0 CHECK (weight >= 0),
	-- kojigo: why a FREE task is still waiting, from the scheduler's last pass,
	-- and how often a lost host's task was given back.
	free_reason TEXT,
	retries INTEGER NOT NULL DEFAULT 0,
	UNIQUE (parent, label)
);
CREATE INDEX tasks_by_state ON tasks(state, priority, id);
CREATE INDEX tasks_by_host ON tasks(host_id, state);
CREATE INDEX tasks_by_parent ON tasks(parent);

CREATE TABLE scheduler_task_runs (
	id {{PK}},
	task_id {{BIGINT}} NOT NULL REFERENCES tasks(id),
	host_id {{BIGINT}} NOT NULL REFERENCES hosts(id),
	active BOOLEAN NOT NULL DEFAULT TRUE,
	create_time DOUBLE PRECISION NOT NULL
);
CREATE INDEX scheduler_task_runs_active ON scheduler_task_runs(active, task_id);

CREATE TABLE scheduler_task_refusals (
	id {{PK}},
	task_id {{BIGINT}} NOT NULL REFERENCES tasks(id),
	host_id {{BIGINT}} NOT NULL REFERENCES hosts(id),
	by_host BOOLEAN NOT NULL,
	soft BOOLEAN NOT NULL,
	msg TEXT NOT NULL DEFAULT '',
	time DOUBLE PRECISION NOT NULL,
	UNIQUE (task_id, host_id)
);

CREATE TABLE scheduler_log_messages (
	id {{PK}},
	task_id {{BIGINT}},
	host_id {{BIGINT}},
	msg_time DOUBLE PRECISION NOT NULL,
	msg TEXT NOT NULL
);
CREATE INDEX scheduler_log_by_time ON scheduler_log_messages(msg_time);

-- Key/value state of the hub itself (scheduler's last run, ...).
CREATE TABLE sys_data (
	name TEXT PRIMARY KEY,
	data TEXT NOT NULL
);

-- Events number every change to tags so kojira can tell what is new.
CREATE TABLE events (
	id {{PK}},
	time DOUBLE PRECISION NOT NULL
);

CREATE TABLE packages (
	id {{PK}},
	name TEXT NOT NULL UNIQUE
);

CREATE TABLE tags (
	id {{PK}},
	name TEXT NOT NULL UNIQUE,
	arches TEXT,
	perm_id {{BIGINT}} REFERENCES permissions(id),
	locked BOOLEAN NOT NULL DEFAULT FALSE,
	extra TEXT NOT NULL DEFAULT '{}',
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	deleted BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE tag_inheritance (
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	parent_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	priority INTEGER NOT NULL,
	maxdepth INTEGER,
	intransitive BOOLEAN NOT NULL DEFAULT FALSE,
	noconfig BOOLEAN NOT NULL DEFAULT FALSE,
	pkg_filter TEXT NOT NULL DEFAULT '',
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id)
);
CREATE INDEX tag_inheritance_active ON tag_inheritance(tag_id, revoke_event);

CREATE TABLE tag_packages (
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	package_id {{BIGINT}} NOT NULL REFERENCES packages(id),
	owner {{BIGINT}} NOT NULL REFERENCES users(id),
	blocked BOOLEAN NOT NULL DEFAULT FALSE,
	extra_arches TEXT,
	-- kojigo, as Open Build Service's _constraints: what a builder must have free.
	min_disk_mb {{BIGINT}},
	min_mem_mb {{BIGINT}},
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id)
);
CREATE INDEX tag_packages_active ON tag_packages(tag_id, revoke_event);

CREATE TABLE builds (
	id {{PK}},
	pkg_id {{BIGINT}} NOT NULL REFERENCES packages(id),
	version TEXT NOT NULL,
	release TEXT NOT NULL,
	epoch INTEGER,
	state INTEGER NOT NULL,        -- BUILDING 0, COMPLETE 1, DELETED 2, FAILED 3, CANCELED 4
	task_id {{BIGINT}} REFERENCES tasks(id),
	owner {{BIGINT}} NOT NULL REFERENCES users(id),
	source TEXT,
	extra TEXT,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	start_time DOUBLE PRECISION,
	completion_time DOUBLE PRECISION,
	UNIQUE (pkg_id, version, release)
);
CREATE INDEX builds_by_task ON builds(task_id);

CREATE TABLE rpms (
	id {{PK}},
	build_id {{BIGINT}} NOT NULL REFERENCES builds(id),
	name TEXT NOT NULL,
	version TEXT NOT NULL,
	release TEXT NOT NULL,
	epoch INTEGER,
	arch TEXT NOT NULL,
	size {{BIGINT}} NOT NULL,
	payloadhash TEXT NOT NULL,
	checksum TEXT NOT NULL,        -- sha256 of the whole file
	buildtime {{BIGINT}} NOT NULL,
	buildroot_id {{BIGINT}},
	UNIQUE (name, version, release, arch)
);
CREATE INDEX rpms_by_build ON rpms(build_id);

CREATE TABLE tag_listing (
	build_id {{BIGINT}} NOT NULL REFERENCES builds(id),
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	creator {{BIGINT}} REFERENCES users(id),
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id)
);
CREATE INDEX tag_listing_active ON tag_listing(tag_id, revoke_event);

CREATE TABLE build_targets (
	id {{PK}},
	name TEXT NOT NULL UNIQUE,
	build_tag {{BIGINT}} NOT NULL REFERENCES tags(id),
	dest_tag {{BIGINT}} NOT NULL REFERENCES tags(id)
);

CREATE TABLE repos (
	id {{PK}},
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	state INTEGER NOT NULL,        -- INIT 0, READY 1, EXPIRED 2, DELETED 3, PROBLEM 4
	dist BOOLEAN NOT NULL DEFAULT FALSE,
	task_id {{BIGINT}} REFERENCES tasks(id),
	create_time DOUBLE PRECISION NOT NULL,
	state_time DOUBLE PRECISION NOT NULL
);
CREATE INDEX repos_by_tag ON repos(tag_id, state);

CREATE TABLE buildroots (
	id {{PK}},
	host_id {{BIGINT}} REFERENCES hosts(id),
	repo_id {{BIGINT}} REFERENCES repos(id),
	task_id {{BIGINT}} REFERENCES tasks(id),
	arch TEXT NOT NULL,
	state INTEGER NOT NULL,        -- INIT 0, WAITING 1, BUILDING 2, EXPIRED 3
	create_time DOUBLE PRECISION NOT NULL
);

INSERT INTO permissions (name, description) VALUES
	('admin', 'Full administrator access. Perform all actions.'),
	('appliance', 'Create appliance builds - deprecated.'),
	('dist-repo', 'Create a dist-repo.'),
	('host', 'Add, remove, enable, disable hosts and channels.'),
	('image', 'Start image tasks.'),
	('image-import', 'Import image archives.'),
	('livecd', 'Start livecd tasks.'),
	('maven-import', 'Import maven archives.'),
	('repo', 'Manage repos: newRepo, repoExpire, repoDelete, repoProblem.'),
	('sign', 'Import RPM signatures and write signed RPMs.'),
	('tag', 'Manage packages in tags: add, block, remove, and clone tags.'),
	('target', 'Add, edit, and remove targets.'),
	('win-admin', 'The default hub policy rule for "vm" requires this permission to trigger Windows builds.'),
	('win-import', 'Import win archives.'),
	('draft-promoter', 'The permission required in the default "draft_promotion" hub policy rule to promote draft build.');

INSERT INTO channels (name) VALUES ('default'), ('createrepo'), ('maven'), ('livecd'),
	('appliance'), ('vm'), ('image'), ('livemedia');
