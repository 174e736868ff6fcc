-- kojigo schema, version 13: what a buildroot held (Koji's
-- buildroot_listing) and the events that open and retire a buildroot
-- (Koji's standard_buildroot create_event and retire_event).
--
-- A listing row is one package installed in a buildroot. rpm_id names the
-- kojigo rpm it is (matched by name, version, release, arch and
-- payloadhash); an rpm this hub did not build has no rpm_id and is recorded
-- as external: from an external repo (external_repo_id) or from the
-- builder itself (neither). Each row keeps the package's own fields, so an
-- external one reads the same as an internal one. is_update: installed
-- after the buildroot was set up (host.updateBuildRootList).

ALTER TABLE buildroots ADD COLUMN create_event {{BIGINT}} REFERENCES events(id);
ALTER TABLE buildroots ADD COLUMN retire_event {{BIGINT}} REFERENCES events(id);

CREATE TABLE buildroot_listing (
	buildroot_id {{BIGINT}} NOT NULL REFERENCES buildroots(id) ON DELETE CASCADE,
	rpm_id {{BIGINT}} REFERENCES rpms(id) ON DELETE CASCADE,
	is_update BOOLEAN NOT NULL DEFAULT FALSE,
	external_repo_id {{BIGINT}} REFERENCES external_repos(id),
	name TEXT NOT NULL,
	version TEXT NOT NULL,
	release TEXT NOT NULL,
	epoch INTEGER,
	arch TEXT NOT NULL,
	payloadhash TEXT NOT NULL,
	size {{BIGINT}} NOT NULL,
	buildtime {{BIGINT}} NOT NULL,
	UNIQUE (buildroot_id, name, version, release, arch)
);
CREATE INDEX buildroot_listing_rpms ON buildroot_listing(rpm_id);
CREATE INDEX buildroots_by_host ON buildroots(host_id);
CREATE INDEX buildroots_by_task ON buildroots(task_id);
CREATE INDEX rpms_by_buildroot ON rpms(buildroot_id);
