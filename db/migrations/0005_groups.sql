-- Tag groups: the comps groups (build, srpm-build, ...) a tag's buildroots
-- install, as Koji's groups, group_config, group_package_listing and
-- group_req_listing. Rows are versioned like tag_packages: a change revokes
-- the active row (revoke_event) and inserts a new one (create_event), so
-- history queries (event=) see each tag's groups as they were. At most one
-- row per key is active.

CREATE TABLE groups (
	id {{PK}},
	name TEXT NOT NULL UNIQUE
);

CREATE TABLE group_config (
	group_id {{BIGINT}} NOT NULL REFERENCES groups(id),
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	blocked BOOLEAN NOT NULL DEFAULT FALSE,
	exported BOOLEAN DEFAULT TRUE,
	display_name TEXT NOT NULL,
	is_default BOOLEAN,
	uservisible BOOLEAN,
	description TEXT,
	langonly TEXT,
	biarchonly BOOLEAN,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id)
);
CREATE INDEX group_config_by_tag ON group_config(tag_id, revoke_event);
CREATE UNIQUE INDEX group_config_active ON group_config(tag_id, group_id) WHERE revoke_event IS NULL;

-- package is an rpm name, not a row of packages (as Koji)
CREATE TABLE group_package_listing (
	group_id {{BIGINT}} NOT NULL REFERENCES groups(id),
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	package TEXT NOT NULL,
	blocked BOOLEAN NOT NULL DEFAULT FALSE,
	type TEXT NOT NULL,
	basearchonly BOOLEAN,
	requires TEXT,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id)
);
CREATE INDEX group_package_listing_by_tag ON group_package_listing(tag_id, revoke_event);
CREATE UNIQUE INDEX group_package_listing_active ON group_package_listing(tag_id, group_id, package) WHERE revoke_event IS NULL;

CREATE TABLE group_req_listing (
	group_id {{BIGINT}} NOT NULL REFERENCES groups(id),
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	req_id {{BIGINT}} NOT NULL REFERENCES groups(id),
	blocked BOOLEAN NOT NULL DEFAULT FALSE,
	type TEXT,
	is_metapkg BOOLEAN NOT NULL DEFAULT FALSE,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id)
);
CREATE INDEX group_req_listing_by_tag ON group_req_listing(tag_id, revoke_event);
CREATE UNIQUE INDEX group_req_listing_active ON group_req_listing(tag_id, group_id, req_id) WHERE revoke_event IS NULL;
