-- kojigo schema, version 11: Koji's rpmsigs, the signature headers imported
-- for RPMs (addRPMSig). The header itself is a file under the build's
-- data/sigcache/<sigkey>/; sigkey '' is an unsigned header. rpm_checksum
-- holds the checksums of the signed copies writeSignedRPM writes under
-- data/signed/<sigkey>/.

CREATE TABLE rpmsigs (
	rpm_id {{BIGINT}} NOT NULL REFERENCES rpms(id) ON DELETE CASCADE,
	sigkey TEXT NOT NULL,
	sighash TEXT NOT NULL,          -- md5 of the header as imported
	PRIMARY KEY (rpm_id, sigkey)
);
CREATE INDEX rpmsigs_by_sigkey ON rpmsigs(sigkey);

CREATE TABLE rpm_checksum (
	rpm_id {{BIGINT}} NOT NULL REFERENCES rpms(id) ON DELETE CASCADE,
	sigkey TEXT NOT NULL,
	checksum TEXT NOT NULL,
	checksum_type INTEGER NOT NULL, -- Koji's CHECKSUM_TYPES: md5 0, sha1 1, sha256 2
	PRIMARY KEY (rpm_id, sigkey, checksum_type)
);
