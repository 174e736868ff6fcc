package repogen

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// The sqlite databases (Options.Database) hold what primary, filelists and
// other hold, in createrepo_c's schema (database version 10). Each database
// is filled by its own goroutine from the XML fragments of its kind, in one
// transaction with prepared statements, then indexed, and finally
// compressed into the published file; the raw database stays in the work
// directory. Deriving the rows from the fragments treats read and reused
// (Update) packages alike, and keeps the databases and the XML in step.

// dbVersion is createrepo_c's database_version.
const dbVersion = 10

// errBadMetadata means a metadata fragment could not be turned into rows.
var errBadMetadata = errors.New("malformed package metadata")

var dbSchema = map[string][]string{
	"primary": {
		`CREATE TABLE db_info (dbversion INTEGER, checksum TEXT)`,
		`CREATE TABLE packages (  pkgKey INTEGER PRIMARY KEY,  pkgId TEXT,  name TEXT,  arch TEXT,  version TEXT,  epoch TEXT,  release TEXT,  summary TEXT,  description TEXT,  url TEXT,  time_file INTEGER,  time_build INTEGER,  rpm_license TEXT,  rpm_vendor TEXT,  rpm_group TEXT,  rpm_buildhost TEXT,  rpm_sourcerpm TEXT,  rpm_header_start INTEGER,  rpm_header_end INTEGER,  rpm_packager TEXT,  size_package INTEGER,  size_installed INTEGER,  size_archive INTEGER,  location_href TEXT,  location_base TEXT,  checksum_type TEXT)`,
		`CREATE TABLE files (  name TEXT,  type TEXT,  pkgKey INTEGER)`,
		`CREATE TABLE requires (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER , pre BOOLEAN DEFAULT FALSE)`,
		`CREATE TABLE provides (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
		`CREATE TABLE conflicts (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
		`CREATE TABLE obsoletes (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
		`CREATE TABLE suggests (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
		`CREATE TABLE enhances (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
		`CREATE TABLE recommends (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
		`CREATE TABLE supplements (  name TEXT,  flags TEXT,  epoch TEXT,  version TEXT,  release TEXT,  pkgKey INTEGER )`,
		`CREATE TRIGGER removals AFTER DELETE ON packages  BEGIN    DELETE FROM files WHERE pkgKey = old.pkgKey;    DELETE FROM requires WHERE pkgKey = old.pkgKey;    DELETE FROM provides WHERE pkgKey = old.pkgKey;    DELETE FROM conflicts WHERE pkgKey = old.pkgKey;    DELETE FROM obsoletes WHERE pkgKey = old.pkgKey;    DELETE FROM suggests WHERE pkgKey = old.pkgKey;    DELETE FROM enhances WHERE pkgKey = old.pkgKey;    DELETE FROM recommends WHERE pkgKey = old.pkgKey;    DELETE FROM supplements WHERE pkgKey = old.pkgKey;  END;`,
	},
	"filelists": {
		`CREATE TABLE db_info (dbversion INTEGER, checksum TEXT)`,
		`CREATE TABLE packages (  pkgKey INTEGER PRIMARY KEY,  pkgId TEXT)`,
		`CREATE TABLE filelist (  pkgKey INTEGER,  dirname TEXT,  filenames TEXT,  filetypes TEXT)`,
		`CREATE TRIGGER remove_filelist AFTER DELETE ON packages  BEGIN    DELETE FROM filelist WHERE pkgKey = old.pkgKey;  END;`,
	},
	"other": {
		`CREATE TABLE db_info (dbversion INTEGER, checksum TEXT)`,
		`CREATE TABLE packages (  pkgKey INTEGER PRIMARY KEY,  pkgId TEXT)`,
		`CREATE TABLE changelog (  pkgKey INTEGER,  author TEXT,  date INTEGER,  changelog TEXT)`,
		`CREATE TRIGGER remove_changelogs AFTER DELETE ON packages  BEGIN    DELETE FROM changelog WHERE pkgKey = old.pkgKey;  END;`,
	},
}

// dbIndexes are created after the rows are in, as createrepo_c does.
var dbIndexes = map[string][]string{
	"primary": {
		`CREATE INDEX packagename ON packages (name)`,
		`CREATE INDEX packageId ON packages (pkgId)`,
		`CREATE INDEX filenames ON files (name)`,
		`CREATE INDEX pkgfiles ON files (pkgKey)`,
		`CREATE INDEX pkgrequires on requires (pkgKey)`,
		`CREATE INDEX requiresname ON requires (name)`,
		`CREATE INDEX pkgprovides on provides (pkgKey)`,
		`CREATE INDEX providesname ON provides (name)`,
		`CREATE INDEX pkgconflicts on conflicts (pkgKey)`,
		`CREATE INDEX pkgobsoletes on obsoletes (pkgKey)`,
		`CREATE INDEX pkgsuggests on suggests (pkgKey)`,
		`CREATE INDEX pkgenhances on enhances (pkgKey)`,
		`CREATE INDEX pkgrecommends on recommends (pkgKey)`,
		`CREATE INDEX pkgsupplements on supplements (pkgKey)`,
	},
	"filelists": {
		`CREATE INDEX keyfile ON filelist (pkgKey)`,
		`CREATE INDEX pkgId ON packages (pkgId)`,
		`CREATE INDEX dirnames ON filelist (dirname)`,
	},
	"other": {
		`CREATE INDEX keychange ON changelog (pkgKey)`,
		`CREATE INDEX pkgId ON packages (pkgId)`,
	},
}

// depTables are the dependency tables, in the order of depKinds' elements.
var depTables = map[string]int{
	"rpm:provides": 0, "rpm:requires": 1, "rpm:conflicts": 2, "rpm:obsoletes": 3,
	"rpm:suggests": 4, "rpm:enhances": 5, "rpm:recommends": 6, "rpm:supplements": 7,
}

var depTableNames = [...]string{"provides", "requires", "conflicts", "obsoletes", "suggests", "enhances", "recommends", "supplements"}

// dbWriter fills one database.
type dbWriter struct {
	typ  string // primary, filelists, other
	path string
	db   *sql.DB
	conn *sql.Conn
	tx   *sql.Tx
	key  int64 // pkgKey of the last package

	pkg, ids, files, filelist, changelog *sql.Stmt
	deps                                 [8]*sql.Stmt

	// An incremental database (an update from the database cache)
	// starts as a copy of the previous one: reused packages keep their
	// rows, found by pkgId (and location, in primary); what is left in
	// kept at the end has left the repository.
	incremental bool
	kept        map[string][]int64
	keyBuf      []byte

	sc   fragScanner
	row  primaryRow
	args []any
	dirs dirGroups
	buf  []byte
}

// dirGroups gathers a package's files by directory, in order of first
// appearance, for the filelist table.
type dirGroups struct {
	index map[string]int
	list  []dirGroup
}

type dirGroup struct {
	dir          string
	names, types []byte
}

// openDB creates the database at path or, with existing, opens the copy
// of a previous database there to update it in place.
func openDB(ctx context.Context, path, typ string, existing bool) (w *dbWriter, err error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", typ, err)
	}
	w = &dbWriter{typ: typ, path: path, db: db}
	defer func() {
		if err != nil {
			w.abort()
			err = fmt.Errorf("create %s database: %w", typ, err)
		}
	}()
	db.SetMaxOpenConns(1)
	if w.conn, err = db.Conn(ctx); err != nil {
		return w, err
	}
	// The database is a work file: only its compressed copy is published
	// (and synced), so it needs neither a journal nor syncs. A 1 MiB page
	// cache (sqlite's default is 2 MiB) is as fast here and keeps the
	// three databases' memory small; temporary data (index sorts) goes to
	// files, not memory, so that memory does not grow with the packages.
	for _, p := range []string{"PRAGMA synchronous = OFF", "PRAGMA journal_mode = OFF", "PRAGMA cache_size = -1000"} {
		if _, err := w.conn.ExecContext(ctx, p); err != nil {
			return w, err
		}
	}
	if w.tx, err = w.conn.BeginTx(ctx, nil); err != nil {
		return w, err
	}
	if existing {
		if err := w.loadKeys(); err != nil {
			return w, err
		}
	} else {
		for _, q := range dbSchema[typ] {
			if _, err := w.tx.Exec(q); err != nil {
				return w, err
			}
		}
	}
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = w.tx.Prepare(q)
		return st
	}
	switch typ {
	case "primary":
		w.pkg = prep(`INSERT INTO packages (  pkgId, name, arch, version, epoch, release, summary, description,  url, time_file, time_build, rpm_license, rpm_vendor, rpm_group,  rpm_buildhost, rpm_sourcerpm, rpm_header_start, rpm_header_end,  rpm_packager, size_package, size_installed, size_archive,  location_href, location_base, checksum_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,  ?, ?, ?, ?, ?, ?, ?)`)
		for i, t := range depTableNames {
			if t == "requires" {
				w.deps[i] = prep(`INSERT INTO requires (name, flags, epoch, version, release, pkgKey, pre) VALUES (?, ?, ?, ?, ?, ?, ?)`)
			} else {
				w.deps[i] = prep(`INSERT INTO ` + t + ` (name, flags, epoch, version, release, pkgKey) VALUES (?, ?, ?, ?, ?, ?)`)
			}
		}
		w.files = prep(`INSERT INTO files (name, type, pkgKey) VALUES (?, ?, ?)`)
	case "filelists":
		w.ids = prep(`INSERT INTO packages (pkgId) VALUES (?)`)
		w.filelist = prep(`INSERT INTO filelist (pkgKey, dirname, filenames, filetypes)  VALUES (?, ?, ?, ?)`)
		w.dirs.index = map[string]int{}
	case "other":
		w.ids = prep(`INSERT INTO packages (pkgId) VALUES (?)`)
		w.changelog = prep(`INSERT INTO changelog (pkgKey, author, date, changelog)  VALUES (?, ?, ?, ?)`)
	}
	return w, err
}

// loadKeys reads the previous database's packages for an incremental
// update.
func (w *dbWriter) loadKeys() error {
	q := `SELECT pkgKey, pkgId, '' FROM packages`
	if w.typ == "primary" {
		q = `SELECT pkgKey, pkgId, location_href FROM packages`
	}
	rows, err := w.tx.Query(q)
	if err != nil {
		return err
	}
	defer rows.Close()
	w.incremental, w.kept = true, map[string][]int64{}
	for rows.Next() {
		var key int64
		var id, href sql.NullString
		if err := rows.Scan(&key, &id, &href); err != nil {
			return err
		}
		k := id.String + "\x00" + href.String
		w.kept[k] = append(w.kept[k], key)
		w.key = max(w.key, key)
	}
	return rows.Err()
}

// keep marks a reused package's rows as still wanted, and reports whether
// the previous database had them.
func (w *dbWriter) keep(frag []byte) bool {
	id, href := fragmentKey(w.typ, frag)
	if len(id) == 0 {
		return false
	}
	// the key is built in a scratch buffer: looked up, it is not copied
	w.keyBuf = append(append(append(w.keyBuf[:0], id...), 0), href...)
	keys := w.kept[string(w.keyBuf)]
	switch len(keys) {
	case 0:
		return false
	case 1:
		delete(w.kept, string(w.keyBuf))
	default:
		w.kept[string(w.keyBuf)] = keys[1:]
	}
	return true
}

// fragmentKey returns the pkgId of a package's metadata fragment, and its
// location in primary, as slices of frag.
func fragmentKey(typ string, frag []byte) (id, href []byte) {
	if typ != "primary" {
		return attrBytes(elemAttrs(frag, "<package "), "pkgid"), nil
	}
	id, _, ok := primaryChecksumBytes(frag)
	if !ok {
		return nil, nil
	}
	return id, attrBytes(elemAttrs(frag, "<location "), "href")
}

// addItem adds one package: a reused package of an incremental database
// keeps the rows it has.
func (w *dbWriter) addItem(frag []byte, row *primaryRow, reused bool) error {
	if w.incremental && reused && w.keep(frag) {
		return nil
	}
	return w.add(frag, row)
}

// add inserts the rows of one package: from row when the encoder made it
// (primary only), else from its fragment.
func (w *dbWriter) add(frag []byte, row *primaryRow) error {
	w.key++
	w.sc.reset(frag)
	var err error
	switch w.typ {
	case "primary":
		if row == nil {
			row = &w.row
			err = w.parsePrimary(row)
		}
		if err == nil {
			err = w.addPrimaryRow(row)
		}
	case "filelists":
		err = w.addFilelists()
	default:
		err = w.addOther()
	}
	if err != nil {
		return fmt.Errorf("%s database, package %d: %w", w.typ, w.key, err)
	}
	return nil
}

// text returns the decoded text before the current (end) tag.
func (w *dbWriter) text() string {
	w.buf = unescapeXML(w.buf[:0], w.sc.text, false)
	return string(w.buf)
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func attrOrNull(sc *fragScanner, name string) any {
	if v, ok := sc.attr(name); ok {
		return v
	}
	return nil
}

// primaryRow is one package's rows in primary_db. The encoder fills it
// from the header for the packages it reads; for reused packages it is
// parsed from their primary.xml fragment, as createrepo_c does for them.
type primaryRow struct {
	pkg   [25]any // the packages columns after pkgKey, in table order
	deps  [8][]depRow
	files []fileRow
}

type depRow struct {
	name                           string
	flags, epoch, version, release any // string or nil (NULL)
	pre                            bool
}

type fileRow struct{ name, typ string }

// clone is a copy of r that shares nothing r's next reset reuses.
func (r *primaryRow) clone() *primaryRow {
	c := &primaryRow{pkg: r.pkg, files: slices.Clone(r.files)}
	for i, d := range r.deps {
		c.deps[i] = slices.Clone(d)
	}
	return c
}

func (r *primaryRow) reset() {
	clear(r.pkg[:])
	for i := range r.deps {
		r.deps[i] = r.deps[i][:0]
	}
	r.files = r.files[:0]
}

// Column indexes in primaryRow.pkg.
const (
	colPkgID = iota
	colName
	colArch
	colVersion
	colEpoch
	colRelease
	colSummary
	colDescription
	colURL
	colTimeFile
	colTimeBuild
	colLicense
	colVendor
	colGroup
	colBuildhost
	colSourceRPM
	colHeaderStart
	colHeaderEnd
	colPackager
	colSizePackage
	colSizeInstalled
	colSizeArchive
	colLocationHref
	colLocationBase
	colChecksumType
)

// addPrimaryRow inserts a package's primary_db rows.
func (w *dbWriter) addPrimaryRow(r *primaryRow) error {
	if _, err := w.pkg.Exec(r.pkg[:]...); err != nil {
		return err
	}
	for k, deps := range r.deps {
		for _, d := range deps {
			args := append(w.args[:0], d.name, d.flags, d.epoch, d.version, d.release, w.key)
			if k == kindRequires {
				pre := "FALSE"
				if d.pre {
					pre = "TRUE"
				}
				args = append(args, pre)
			}
			w.args = args
			if _, err := w.deps[k].Exec(args...); err != nil {
				return err
			}
		}
	}
	for _, f := range r.files {
		if _, err := w.files.Exec(f.name, f.typ, w.key); err != nil {
			return err
		}
	}
	return nil
}

// parsePrimary fills r from a primary.xml fragment. What the XML cannot
// tell apart is read as an rpm header most often has it: an empty summary,
// description, license, group, buildhost, url or packager as a missing
// tag (NULL), an empty vendor or sourcerpm as "".
func (w *dbWriter) parsePrimary(r *primaryRow) error {
	r.reset()
	sc := &w.sc
	var inFormat bool
	fileType := "file"
	dep := -1
	for {
		ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		n := string(sc.name)
		if sc.end {
			switch n {
			case "name":
				r.pkg[colName] = w.text()
			case "arch":
				r.pkg[colArch] = w.text()
			case "checksum":
				r.pkg[colPkgID] = w.text()
			case "summary":
				r.pkg[colSummary] = orNull(w.text())
			case "description":
				r.pkg[colDescription] = orNull(w.text())
			case "packager":
				r.pkg[colPackager] = orNull(w.text())
			case "url":
				r.pkg[colURL] = orNull(w.text())
			case "rpm:license":
				r.pkg[colLicense] = orNull(w.text())
			case "rpm:vendor":
				r.pkg[colVendor] = w.text()
			case "rpm:group":
				r.pkg[colGroup] = orNull(w.text())
			case "rpm:buildhost":
				r.pkg[colBuildhost] = orNull(w.text())
			case "rpm:sourcerpm":
				r.pkg[colSourceRPM] = w.text()
			case "file":
				if path := w.text(); primaryFile([]byte(path)) {
					r.files = append(r.files, fileRow{path, fileType})
				}
			default:
				if _, ok := depTables[n]; ok {
					dep = -1
				}
			}
			continue
		}
		var v1, v2, v3 int64
		switch n {
		case "version":
			if !inFormat {
				r.pkg[colEpoch] = attrOr(sc, "epoch", "")
				r.pkg[colVersion] = attrOr(sc, "ver", "")
				r.pkg[colRelease] = attrOr(sc, "rel", "")
			}
		case "checksum":
			r.pkg[colChecksumType] = attrOr(sc, "type", "")
		case "time":
			if v1, err = sc.intAttr("file"); err == nil {
				v2, err = sc.intAttr("build")
			}
			r.pkg[colTimeFile], r.pkg[colTimeBuild] = v1, v2
		case "size":
			if v1, err = sc.intAttr("package"); err == nil {
				if v2, err = sc.intAttr("installed"); err == nil {
					v3, err = sc.intAttr("archive")
				}
			}
			r.pkg[colSizePackage], r.pkg[colSizeInstalled], r.pkg[colSizeArchive] = v1, v2, v3
		case "location":
			r.pkg[colLocationHref] = attrOr(sc, "href", "")
			if b, ok := sc.attr("xml:base"); ok && b != "" {
				r.pkg[colLocationBase] = b
			}
		case "format":
			inFormat = true
		case "rpm:header-range":
			if v1, err = sc.intAttr("start"); err == nil {
				v2, err = sc.intAttr("end")
			}
			r.pkg[colHeaderStart], r.pkg[colHeaderEnd] = v1, v2
		case "rpm:entry":
			if dep < 0 {
				return fmt.Errorf("%w: rpm:entry outside a dependency list", errBadMetadata)
			}
			d := depRow{flags: attrOrNull(sc, "flags"), epoch: attrOrNull(sc, "epoch"),
				version: attrOrNull(sc, "ver"), release: attrOrNull(sc, "rel")}
			d.name, _ = sc.attr("name")
			p, _ := sc.attr("pre")
			d.pre = p == "1" || p == "true"
			r.deps[dep] = append(r.deps[dep], d)
		case "file":
			fileType = "file"
			if t, _ := sc.attr("type"); t != "" {
				fileType = t
			}
		default:
			if d, ok := depTables[n]; ok && !sc.empty {
				dep = d
			}
		}
		if err != nil {
			return err
		}
	}
	if r.pkg[colPkgID] == nil || r.pkg[colName] == nil {
		return fmt.Errorf("%w: no pkgid or name", errBadMetadata)
	}
	if r.pkg[colVendor] == nil {
		r.pkg[colVendor] = ""
	}
	if r.pkg[colSourceRPM] == nil {
		r.pkg[colSourceRPM] = ""
	}
	return nil
}

func attrOr(sc *fragScanner, name, def string) string {
	if v, ok := sc.attr(name); ok {
		return v
	}
	return def
}

func (w *dbWriter) addFilelists() error {
	sc := &w.sc
	var pkgID string
	clear(w.dirs.index)
	w.dirs.list = w.dirs.list[:0]
	fileType := byte('f')
	for {
		ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case sc.is("package"):
			pkgID, _ = sc.attr("pkgid")
		case sc.is("file"):
			t, _ := sc.attr("type")
			switch t {
			case "dir":
				fileType = 'd'
			case "ghost":
				fileType = 'g'
			default:
				fileType = 'f'
			}
			if sc.empty {
				sc.text = nil
				w.dirs.add(w, fileType)
			}
		case sc.end && string(sc.name) == "file":
			w.dirs.add(w, fileType)
		}
	}
	if pkgID == "" {
		return fmt.Errorf("%w: no pkgid", errBadMetadata)
	}
	if _, err := w.ids.Exec(pkgID); err != nil {
		return err
	}
	for _, g := range w.dirs.list {
		if _, err := w.filelist.Exec(w.key, g.dir, string(g.names), string(g.types)); err != nil {
			return err
		}
	}
	return nil
}

// add files the path that just ended under its directory, as createrepo_c
// encodes them: names joined by "/", one type letter each, the directory
// without its trailing slashes ("." when nothing is left).
func (d *dirGroups) add(w *dbWriter, typ byte) {
	path := w.text()
	cut := len(path)
	for cut > 0 && path[cut-1] != '/' {
		cut--
	}
	dir, name := path[:cut], path[cut:]
	i, ok := d.index[dir]
	if !ok {
		i = len(d.list)
		d.index[dir] = i
		if i < cap(d.list) {
			d.list = d.list[:i+1]
			d.list[i].names, d.list[i].types = d.list[i].names[:0], d.list[i].types[:0]
		} else {
			d.list = append(d.list, dirGroup{})
		}
		key := dir
		for len(key) > 1 && key[len(key)-1] == '/' {
			key = key[:len(key)-1]
		}
		if key == "" {
			key = "."
		}
		d.list[i].dir = key
	}
	g := &d.list[i]
	if len(g.names) > 0 {
		g.names = append(g.names, '/')
	}
	if name == "" {
		g.names = append(g.names, '/')
	} else {
		g.names = append(g.names, name...)
	}
	g.types = append(g.types, typ)
}

func (w *dbWriter) addOther() error {
	sc := &w.sc
	var pkgID, author string
	var date int64
	inserted := false
	for {
		ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case sc.is("package"):
			pkgID, _ = sc.attr("pkgid")
		case sc.is("changelog"):
			author, _ = sc.attr("author")
			if date, err = sc.intAttr("date"); err != nil {
				return err
			}
			if !inserted {
				if pkgID == "" {
					return fmt.Errorf("%w: no pkgid", errBadMetadata)
				}
				if _, err := w.ids.Exec(pkgID); err != nil {
					return err
				}
				inserted = true
			}
			if sc.empty {
				if _, err := w.changelog.Exec(w.key, author, date, ""); err != nil {
					return err
				}
			}
		case sc.end && string(sc.name) == "changelog":
			if _, err := w.changelog.Exec(w.key, author, date, w.text()); err != nil {
				return err
			}
		}
	}
	if !inserted {
		if pkgID == "" {
			return fmt.Errorf("%w: no pkgid", errBadMetadata)
		}
		if _, err := w.ids.Exec(pkgID); err != nil {
			return err
		}
	}
	return nil
}

// finish records the checksum of the XML file the database mirrors,
// creates the indexes, commits and closes the database.
func (w *dbWriter) finish(xmlChecksum string) error {
	err := func() error {
		if w.incremental {
			return w.finishIncremental(xmlChecksum)
		}
		if _, err := w.tx.Exec(`INSERT INTO db_info (dbversion, checksum) VALUES (?, ?)`, dbVersion, xmlChecksum); err != nil {
			return err
		}
		for _, q := range dbIndexes[w.typ] {
			if _, err := w.tx.Exec(q); err != nil {
				return err
			}
		}
		return w.close()
	}()
	if err != nil {
		w.abort()
		return fmt.Errorf("finish %s database: %w", w.typ, err)
	}
	return nil
}

// finishIncremental deletes the packages that left (the triggers delete
// their rows) and records the XML the database now mirrors.
func (w *dbWriter) finishIncremental(xmlChecksum string) error {
	del, err := w.tx.Prepare(`DELETE FROM packages WHERE pkgKey = ?`)
	if err != nil {
		return err
	}
	for _, keys := range w.kept {
		for _, k := range keys {
			if _, err := del.Exec(k); err != nil {
				return err
			}
		}
	}
	if _, err := w.tx.Exec(`UPDATE db_info SET dbversion = ?, checksum = ?`, dbVersion, xmlChecksum); err != nil {
		return err
	}
	return w.close()
}

// close commits and closes the database.
func (w *dbWriter) close() error {
	if err := w.tx.Commit(); err != nil {
		return err
	}
	w.tx = nil
	if err := w.conn.Close(); err != nil {
		return err
	}
	w.conn = nil
	err := w.db.Close()
	w.db = nil
	return err
}

// abort closes the database and removes its file. It may be called more
// than once, and on nil.
func (w *dbWriter) abort() {
	if w == nil {
		return
	}
	if w.tx != nil {
		w.tx.Rollback()
		w.tx = nil
	}
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
	if w.db != nil {
		w.db.Close()
		w.db = nil
	}
	os.Remove(w.path)
}
