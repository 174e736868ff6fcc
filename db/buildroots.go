package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Buildroots: where a builder built (Koji's standard_buildroot) and what it
// held (buildroot_listing).
//
//	INIT --host.setBuildRootList--> INIT --BUILDING--> ... --> EXPIRED
//
// A buildroot is created INIT at a new event, moves to BUILDING (Koji's
// WAITING exists but no kojid uses it) and ends EXPIRED at its retire
// event; an EXPIRED buildroot changes no more.

// Buildroot is a row of buildroots.
type Buildroot struct {
	ID          int64
	HostID      *int64
	RepoID      *int64
	TaskID      *int64
	Arch        string
	State       int
	CreateTime  float64
	CreateEvent *int64   // nil for buildroots recorded before schema 13
	RetireEvent *int64   // set when it became EXPIRED
	RetireTime  *float64 // the retire event's time
	// A content generator's buildroot (BrType BuildrootExternal) has these
	// instead of a host, repo, task and events.
	BrType        int
	CGID          *int64
	CGName        *string
	CGVersion     *string
	ContainerType *string
	ContainerArch *string
	HostOS        *string
	HostArch      *string
	Extra         *string
}

// Buildroot states, with Koji's numbers.
const (
	BuildrootInit     = 0
	BuildrootWaiting  = 1
	BuildrootBuilding = 2
	BuildrootExpired  = 3
)

// ErrBuildrootExpired: the buildroot is EXPIRED and takes no other state.
var ErrBuildrootExpired = errors.New("buildroot is EXPIRED")

// BuildrootFilter selects buildroots; zero fields match everything.
type BuildrootFilter struct {
	ID     *int64
	IDs    []int64 // any of these
	HostID *int64
	TaskID *int64
	RepoID *int64
	TagID  *int64 // of the buildroot's repo
	State  *int
	States []int  // any of these
	RPMID  *int64 // buildroots whose listing holds this rpm
}

const buildrootSelect = `SELECT b.id, b.host_id, b.repo_id, b.task_id, b.arch, b.state, b.create_time,
	b.create_event, b.retire_event, re.time,
	b.br_type, b.cg_id, cg.name, b.cg_version, b.container_type, b.container_arch, b.host_os, b.host_arch, b.extra
	FROM buildroots b LEFT JOIN events re ON re.id = b.retire_event LEFT JOIN content_generators cg ON cg.id = b.cg_id WHERE 1=1`

// ListBuildroots returns the buildroots that match, by id.
func (s *Store) ListBuildroots(ctx context.Context, f BuildrootFilter) ([]Buildroot, error) {
	q := buildrootSelect
	var args []any
	for _, c := range []struct {
		cond string
		v    *int64
	}{
		{"b.id = ?", f.ID}, {"b.host_id = ?", f.HostID}, {"b.task_id = ?", f.TaskID}, {"b.repo_id = ?", f.RepoID},
		{"b.repo_id IN (SELECT id FROM repos WHERE tag_id = ?)", f.TagID},
		{"b.id IN (SELECT buildroot_id FROM buildroot_listing WHERE rpm_id = ?)", f.RPMID},
	} {
		if c.v != nil {
			q += " AND " + c.cond
			args = append(args, *c.v)
		}
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return nil, nil
		}
		q += " AND b.id IN (" + placeholders(len(f.IDs)) + ")"
		args = append(args, int64Args(f.IDs)...)
	}
	if f.State != nil || f.States != nil {
		q += " AND b.br_type = 0" // a content generator's buildroot has no state
	}
	if f.State != nil {
		q += " AND b.state = ?"
		args = append(args, *f.State)
	}
	if f.States != nil {
		if len(f.States) == 0 {
			return nil, nil
		}
		q += " AND b.state IN (" + placeholders(len(f.States)) + ")"
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	var out []Buildroot
	err := scanAll(s.query(ctx, q+" ORDER BY b.id", args...))(func(r *sql.Rows) error {
		var b Buildroot
		var host, repo, task, cev, rev, cg sql.NullInt64
		var rtime sql.NullFloat64
		var cgName, cgVersion, ctype, carch, hos, harch, extra sql.NullString
		err := r.Scan(&b.ID, &host, &repo, &task, &b.Arch, &b.State, &b.CreateTime, &cev, &rev, &rtime,
			&b.BrType, &cg, &cgName, &cgVersion, &ctype, &carch, &hos, &harch, &extra)
		b.HostID, b.RepoID, b.TaskID = nullInt(host), nullInt(repo), nullInt(task)
		b.CGID, b.CGName, b.CGVersion = nullInt(cg), nullString(cgName), nullString(cgVersion)
		b.ContainerType, b.ContainerArch, b.HostOS, b.HostArch, b.Extra = nullString(ctype), nullString(carch), nullString(hos), nullString(harch), nullString(extra)
		b.CreateEvent, b.RetireEvent, b.RetireTime = nullInt(cev), nullInt(rev), nullFloat(rtime)
		out = append(out, b)
		return err
	})
	return out, err
}

// CreateBuildroot records a new buildroot (state INIT) at a new event and
// returns its id.
func (s *Store) CreateBuildroot(ctx context.Context, b Buildroot) (int64, error) {
	var id int64
	err := s.WithTx(ctx, func(tx *Store) error {
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		id, err = tx.insertID(ctx, "INSERT INTO buildroots (host_id, repo_id, task_id, arch, state, create_time, create_event) VALUES (?, ?, ?, ?, ?, ?, ?)",
			b.HostID, b.RepoID, b.TaskID, b.Arch, BuildrootInit, tx.Now(), ev)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create buildroot: %w", err)
	}
	return id, nil
}

// SetBuildrootState changes a buildroot's state; EXPIRED records the
// retire event. An EXPIRED buildroot stays so: expiring it again does
// nothing, any other state is ErrBuildrootExpired.
func (s *Store) SetBuildrootState(ctx context.Context, id int64, state int) error {
	err := s.WithTx(ctx, func(tx *Store) error {
		var cur int
		if err := tx.queryRowW(ctx, "SELECT state FROM buildroots WHERE id = ?"+tx.forUpdate(false), id).Scan(&cur); err != nil {
			return mapErr(err)
		}
		if cur == BuildrootExpired {
			if state == BuildrootExpired {
				return nil
			}
			return ErrBuildrootExpired
		}
		if state != BuildrootExpired {
			_, err := tx.exec(ctx, "UPDATE buildroots SET state = ? WHERE id = ?", state, id)
			return err
		}
		ev, err := tx.NewEvent(ctx)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, "UPDATE buildroots SET state = ?, retire_event = ? WHERE id = ?", state, ev, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("buildroot %d: %w", id, err)
	}
	return nil
}

// RepoExists reports whether a repo row exists (buildroots refer to repos).
func (s *Store) RepoExists(ctx context.Context, id int64) (bool, error) {
	var n int
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM repos WHERE id = ?", id).Scan(&n)
	return n > 0, mapErr(err)
}

// BuildrootRPM is one package of a buildroot's listing. RPMID is the
// kojigo rpm it is; nil for an external one (ExternalRepoID names its
// external repo when known).
type BuildrootRPM struct {
	BuildrootID      int64
	RPMID            *int64
	IsUpdate         bool
	ExternalRepoID   *int64
	ExternalRepoName string // read only
	BuildID          *int64 // read only: the rpm's build
	Name             string
	Version          string
	Release          string
	Epoch            *int64
	Arch             string
	PayloadHash      string
	Size             int64
	BuildTime        int64
}

// NVRA is the package's name-version-release.arch.
func (r BuildrootRPM) NVRA() string {
	return r.Name + "-" + r.Version + "-" + r.Release + "." + r.Arch
}

// AddBuildrootRPMs lists packages in a buildroot, marked is_update when
// update; a package the buildroot already lists is left as it is, so a
// repeated call changes nothing. It returns how many were added.
func (s *Store) AddBuildrootRPMs(ctx context.Context, brID int64, rpms []BuildrootRPM, update bool) (int, error) {
	added := 0
	err := s.WithTx(ctx, func(tx *Store) error {
		added = 0
		have := map[string]bool{}
		rows, err := tx.queryW(ctx, "SELECT name, version, release, arch FROM buildroot_listing WHERE buildroot_id = ?", brID)
		err = scanAll(rows, err)(func(r *sql.Rows) error {
			var x BuildrootRPM
			err := r.Scan(&x.Name, &x.Version, &x.Release, &x.Arch)
			have[x.NVRA()] = true
			return err
		})
		if err != nil {
			return err
		}
		for _, r := range rpms {
			if have[r.NVRA()] {
				continue
			}
			have[r.NVRA()] = true
			_, err := tx.exec(ctx, `INSERT INTO buildroot_listing (buildroot_id, rpm_id, is_update, external_repo_id,
				name, version, release, epoch, arch, payloadhash, size, buildtime) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				brID, r.RPMID, update, r.ExternalRepoID, r.Name, r.Version, r.Release, r.Epoch, r.Arch, r.PayloadHash, r.Size, r.BuildTime)
			if err != nil {
				return fmt.Errorf("list %s in buildroot %d: %w", r.NVRA(), brID, err)
			}
			added++
		}
		return nil
	})
	return added, err
}

// ListBuildrootRPMs returns a buildroot's listing by name and arch.
func (s *Store) ListBuildrootRPMs(ctx context.Context, brID int64) ([]BuildrootRPM, error) {
	q := `SELECT bl.buildroot_id, bl.rpm_id, bl.is_update, bl.external_repo_id, COALESCE(er.name, ''), r.build_id,
		bl.name, bl.version, bl.release, bl.epoch, bl.arch, bl.payloadhash, bl.size, bl.buildtime
		FROM buildroot_listing bl LEFT JOIN rpms r ON r.id = bl.rpm_id LEFT JOIN external_repos er ON er.id = bl.external_repo_id
		WHERE bl.buildroot_id = ? ORDER BY bl.name, bl.arch, bl.version, bl.release`
	var out []BuildrootRPM
	err := scanAll(s.query(ctx, q, brID))(func(r *sql.Rows) error {
		var x BuildrootRPM
		var rpm, erepo, build, epoch sql.NullInt64
		err := r.Scan(&x.BuildrootID, &rpm, &x.IsUpdate, &erepo, &x.ExternalRepoName, &build,
			&x.Name, &x.Version, &x.Release, &epoch, &x.Arch, &x.PayloadHash, &x.Size, &x.BuildTime)
		x.RPMID, x.ExternalRepoID, x.BuildID, x.Epoch = nullInt(rpm), nullInt(erepo), nullInt(build), nullInt(epoch)
		out = append(out, x)
		return err
	})
	return out, err
}

// BuildUse is an rpm built in a buildroot that held a given build's rpms.
type BuildUse struct {
	ID      int64
	Name    string
	Version string
	Release string
	Arch    string
	BuildID int64
}

// BuildRPMUses returns the rpms of COMPLETE builds that were built in
// buildroots holding any rpm of the build (Koji's build_references
// 'rpms'), at most limit of them (0: all), by id; and the newest such
// buildroot's creation time (nil: none held the build's rpms).
func (s *Store) BuildRPMUses(ctx context.Context, buildID int64, limit int) ([]BuildUse, *float64, error) {
	const used = "SELECT bl.buildroot_id FROM buildroot_listing bl JOIN rpms x ON x.id = bl.rpm_id WHERE x.build_id = ?"
	q := `SELECT r.id, r.name, r.version, r.release, r.arch, r.build_id FROM rpms r JOIN builds b ON b.id = r.build_id
		WHERE b.state = ? AND r.buildroot_id IN (` + used + `) ORDER BY r.id`
	args := []any{BuildComplete, buildID}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	var out []BuildUse
	err := scanAll(s.query(ctx, q, args...))(func(r *sql.Rows) error {
		var u BuildUse
		err := r.Scan(&u.ID, &u.Name, &u.Version, &u.Release, &u.Arch, &u.BuildID)
		out = append(out, u)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var last sql.NullFloat64
	if err := s.queryRow(ctx, "SELECT MAX(create_time) FROM buildroots WHERE id IN ("+used+")", buildID).Scan(&last); err != nil {
		return nil, nil, mapErr(err)
	}
	return out, nullFloat(last), nil
}

// rpmFilterBuildroots adds RPMFilter's buildroot conditions to a query of
// rpms r.
func rpmFilterBuildroots(f RPMFilter) (string, []any) {
	var conds []string
	var args []any
	if f.ComponentBuildrootID != nil {
		conds = append(conds, "r.id IN (SELECT rpm_id FROM buildroot_listing WHERE buildroot_id = ? AND rpm_id IS NOT NULL)")
		args = append(args, *f.ComponentBuildrootID)
	}
	if f.HostID != nil {
		conds = append(conds, "r.buildroot_id IN (SELECT id FROM buildroots WHERE host_id = ?)")
		args = append(args, *f.HostID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(conds, " AND "), args
}
