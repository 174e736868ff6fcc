-- kojigo schema, version 8: Koji's external_repo_data. kojira records what
-- it last saw of an external repo's content (Koji 1.35: {"max_ts": the
-- newest repomd.xml timestamp}) with repo.setExternalRepoData. Rows are
-- versioned like external_repo_config: a new datum revokes the old one in
-- the same event, so the event counts as a change of every tag using the
-- repo (tagLastChangeEvent, tagFirstChangeEvent) and their repos stop being
-- current. data is a JSON object (TEXT here, JSONB in Koji).

CREATE TABLE external_repo_data (
	external_repo_id {{BIGINT}} NOT NULL REFERENCES external_repos(id),
	data TEXT,
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id),
	-- Koji: PRIMARY KEY (create_event, external_repo_id)
	PRIMARY KEY (create_event, external_repo_id)
);
-- one datum in effect per repo (Koji: UNIQUE (external_repo_id, active))
CREATE UNIQUE INDEX external_repo_data_active ON external_repo_data(external_repo_id) WHERE revoke_event IS NULL;
CREATE INDEX external_repo_data_revoke ON external_repo_data(external_repo_id, revoke_event);
