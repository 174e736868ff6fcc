-- kojigo schema, version 17 (PostgreSQL): RPMs of draft builds, as Koji
-- 1.34's rpminfo.draft. A draft build's RPMs keep the N-V-R.A of their
-- headers, so several drafts of one N-V-R hold RPMs of the same N-V-R.A:
-- N-V-R.A is unique among the RPMs of regular builds only (Koji's
-- rpminfo_unique_nvra_not_draft). promoteBuild clears the flag.
ALTER TABLE rpms ADD COLUMN draft BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE rpms SET draft = TRUE WHERE build_id IN (SELECT id FROM builds WHERE draft);
ALTER TABLE rpms DROP CONSTRAINT rpms_name_version_release_arch_key;
CREATE UNIQUE INDEX rpms_nvra_not_draft ON rpms(name, version, release, arch) WHERE NOT draft;
CREATE INDEX rpms_by_nvra ON rpms(name, version, release, arch);
