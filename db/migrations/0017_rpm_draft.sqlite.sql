-- kojigo schema, version 17 (SQLite): RPMs of draft builds, as Koji
-- 1.34's rpminfo.draft. A draft build's RPMs keep the N-V-R.A of their
-- headers, so several drafts of one N-V-R hold RPMs of the same N-V-R.A:
-- N-V-R.A is unique among the RPMs of regular builds only (Koji's
-- rpminfo_unique_nvra_not_draft). promoteBuild clears the flag.
--
-- SQLite cannot drop a table's UNIQUE constraint: the table is rebuilt, as
-- SQLite's ALTER TABLE documentation describes (Migrate runs SQLite
-- migrations with foreign keys off and checks them before committing), so
-- that the rows referring to rpms (signatures, checksums, buildroot
-- listings) are kept as they are.
CREATE TABLE rpms_v17 (
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
	draft BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO rpms_v17 (id, build_id, name, version, release, epoch, arch, size, payloadhash, checksum, buildtime, buildroot_id, draft)
	SELECT r.id, r.build_id, r.name, r.version, r.release, r.epoch, r.arch, r.size, r.payloadhash, r.checksum, r.buildtime, r.buildroot_id,
		COALESCE((SELECT b.draft FROM builds b WHERE b.id = r.build_id), FALSE)
	FROM rpms r;
DROP TABLE rpms;
ALTER TABLE rpms_v17 RENAME TO rpms;
CREATE INDEX rpms_by_build ON rpms(build_id);
CREATE INDEX rpms_by_buildroot ON rpms(buildroot_id);
CREATE UNIQUE INDEX rpms_nvra_not_draft ON rpms(name, version, release, arch) WHERE NOT draft;
CREATE INDEX rpms_by_nvra ON rpms(name, version, release, arch);
