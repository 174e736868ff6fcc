-- kojigo schema, version 9: Koji's user_groups, the members of groups (users
-- whose usertype is GROUP 2). The hub policies' user_in_group and
-- is_build_owner tests read them, and a user has the permissions of its
-- groups, as in Koji. Rows are versioned as Koji's: dropping a member
-- revokes its row.

CREATE TABLE user_groups (
	user_id {{BIGINT}} NOT NULL REFERENCES users(id),
	group_id {{BIGINT}} NOT NULL REFERENCES users(id),
	create_event {{BIGINT}} NOT NULL REFERENCES events(id),
	revoke_event {{BIGINT}} REFERENCES events(id),
	creator_id {{BIGINT}} REFERENCES users(id),
	revoker_id {{BIGINT}} REFERENCES users(id),
	PRIMARY KEY (create_event, user_id, group_id)
);
-- one membership in effect per user and group (Koji: UNIQUE (user_id, group_id, active))
CREATE UNIQUE INDEX user_groups_active ON user_groups(user_id, group_id) WHERE revoke_event IS NULL;
CREATE INDEX user_groups_group ON user_groups(group_id) WHERE revoke_event IS NULL;
