-- kojigo schema, version 14: Koji's draft builds (1.34+). A draft build's
-- release carries the suffix ",draft_<build id>" until promoteBuild turns
-- it into a regular build; promoter and promotion_time record who did it
-- and when.

ALTER TABLE builds ADD COLUMN draft BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE builds ADD COLUMN promoter {{BIGINT}} REFERENCES users(id);
ALTER TABLE builds ADD COLUMN promotion_time DOUBLE PRECISION;
