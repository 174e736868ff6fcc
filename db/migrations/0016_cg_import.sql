-- kojigo schema, version 16: content-generator imports (Koji's CGImport,
-- CGInitBuild, CGRefundBuild).
--
-- builds.cg_id: the content generator that imported (or reserved) a build.
-- build_reservations: a BUILDING build reserved by CGInitBuild, with the
-- token CGImport and CGRefundBuild must give back.
-- A content generator's buildroot (Koji's br_type 1, EXTERNAL) is a row of
-- buildroots with the content generator's description of it: cg_id,
-- cg_version, container_type and container_arch (arch holds the same),
-- host_os, host_arch, extra (JSON); it has no host, repo, task or events.
-- A standard buildroot is br_type 0 with these columns NULL.
-- buildroot_tools_info: the tools a content generator says it used.

ALTER TABLE builds ADD COLUMN cg_id {{BIGINT}} REFERENCES content_generators(id);
CREATE INDEX builds_by_cg ON builds(cg_id);

CREATE TABLE build_reservations (
	build_id {{BIGINT}} NOT NULL PRIMARY KEY REFERENCES builds(id),
	token TEXT NOT NULL,
	created DOUBLE PRECISION NOT NULL
);

ALTER TABLE buildroots ADD COLUMN br_type INTEGER NOT NULL DEFAULT 0;
ALTER TABLE buildroots ADD COLUMN cg_id {{BIGINT}} REFERENCES content_generators(id);
ALTER TABLE buildroots ADD COLUMN cg_version TEXT;
ALTER TABLE buildroots ADD COLUMN container_type TEXT;
ALTER TABLE buildroots ADD COLUMN container_arch TEXT;
ALTER TABLE buildroots ADD COLUMN host_os TEXT;
ALTER TABLE buildroots ADD COLUMN host_arch TEXT;
ALTER TABLE buildroots ADD COLUMN extra TEXT;

CREATE TABLE buildroot_tools_info (
	buildroot_id {{BIGINT}} NOT NULL REFERENCES buildroots(id) ON DELETE CASCADE,
	tool TEXT NOT NULL,
	version TEXT NOT NULL,
	PRIMARY KEY (buildroot_id, tool)
);
