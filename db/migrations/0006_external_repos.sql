-- kojigo schema, version 6: external repositories (Koji's external_repo,
-- external_repo_config and tag_external_repos). An external repo is a yum
-- repository outside kojigo, named once and for good (a deleted repo's name
-- and id are reused if it is created again, as Koji); its URL and its use by
-- tags are versioned like the other tag tables: a row is in effect from
-- create_event until revoke_event, so event= reads see the past.

CREATE TABLE external_repos (
	id {{PK}},
	name TEXT NOT NULL UNIQUE
);

CREATE TABLE external_repo_config (
	external_repo_id {{BIGINT}} NOT NULL REFERENCES external_repos(id),
	url TEXT NOT NULL,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id)
);
-- one URL in effect per repo (Koji: UNIQUE (external_repo_id, active))
CREATE UNIQUE INDEX external_repo_config_active ON external_repo_config(external_repo_id) WHERE revoke_event IS NULL;

CREATE TABLE tag_external_repos (
	tag_id {{BIGINT}} NOT NULL REFERENCES tags(id),
	external_repo_id {{BIGINT}} NOT NULL REFERENCES external_repos(id),
	priority INTEGER NOT NULL,
	merge_mode TEXT NOT NULL DEFAULT 'koji' CHECK (merge_mode IN ('koji', 'simple', 'bare')),
	arches TEXT,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id)
);
-- Koji: UNIQUE (tag_id, priority, active), UNIQUE (tag_id, external_repo_id, active)
CREATE UNIQUE INDEX tag_external_repos_priority ON tag_external_repos(tag_id, priority) WHERE revoke_event IS NULL;
CREATE UNIQUE INDEX tag_external_repos_repo ON tag_external_repos(tag_id, external_repo_id) WHERE revoke_event IS NULL;
CREATE INDEX tag_external_repos_by_repo ON tag_external_repos(external_repo_id, revoke_event);
