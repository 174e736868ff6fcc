package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Content-generator imports: build reservations (Koji's
// build_reservations), the completion of a reserved build, and content
// generators' own buildroots (br_type 1) with their tools.

// Buildroot types, with Koji's numbers (BR_TYPES).
const (
	BuildrootStandard = 0
	BuildrootExternal = 1
)

// AddReservation records a reservation token for a BUILDING build;
// ErrConflict when the build is reserved already.
func (s *Store) AddReservation(ctx context.Context, buildID int64, token string) error {
	_, err := s.exec(ctx, "INSERT INTO build_reservations (build_id, token, created) VALUES (?, ?, ?)", buildID, token, s.Now())
	if err != nil {
		return fmt.Errorf("reserve build %d: %w", buildID, err)
	}
	return nil
}

// ReservationToken returns a build's reservation token; ErrNotFound when
// the build is not reserved.
func (s *Store) ReservationToken(ctx context.Context, buildID int64) (string, error) {
	var tok string
	err := s.queryRowW(ctx, "SELECT token FROM build_reservations WHERE build_id = ?", buildID).Scan(&tok)
	return tok, mapErr(err)
}

// ClearReservation removes a build's reservation, if any.
func (s *Store) ClearReservation(ctx context.Context, buildID int64) error {
	_, err := s.exec(ctx, "DELETE FROM build_reservations WHERE build_id = ?", buildID)
	return err
}

// RefundBuild ends a reserved BUILDING build as FAILED or CANCELED, now,
// and drops its reservation (Koji's cg_refund_build). ErrBuildState when
// the build is no longer BUILDING.
func (s *Store) RefundBuild(ctx context.Context, buildID int64, state int) error {
	return s.WithTx(ctx, func(tx *Store) error {
		if err := tx.SetBuildState(ctx, buildID, state, BuildBuilding); err != nil {
			return err
		}
		return tx.ClearReservation(ctx, buildID)
	})
}

// ReservedBuildUpdate is what a content generator's import sets on the
// build it reserved (Koji's CG_Importer.update_build).
type ReservedBuildUpdate struct {
	OwnerID  int64
	TaskID   *int64
	Source   *string
	Extra    *string
	VolumeID *int64 // nil: unchanged
}

// CompleteReservedBuild makes a reserved BUILDING build COMPLETE now with
// the import's fields and drops its reservation. ErrBuildState when the
// build is no longer BUILDING.
func (s *Store) CompleteReservedBuild(ctx context.Context, buildID int64, u ReservedBuildUpdate) error {
	return s.WithTx(ctx, func(tx *Store) error {
		if err := tx.SetBuildState(ctx, buildID, BuildComplete, BuildBuilding); err != nil {
			return err
		}
		_, err := tx.exec(ctx, "UPDATE builds SET owner = ?, task_id = ?, source = ?, extra = ? WHERE id = ?", u.OwnerID, u.TaskID, u.Source, u.Extra, buildID)
		if err != nil {
			return err
		}
		if u.VolumeID != nil {
			if _, err := tx.exec(ctx, "UPDATE builds SET volume_id = ? WHERE id = ?", *u.VolumeID, buildID); err != nil {
				return err
			}
		}
		return tx.ClearReservation(ctx, buildID)
	})
}

// SetBuildVolumeID sets the volume a build's files are on, with no
// history: for a build being created in the same transaction.
func (s *Store) SetBuildVolumeID(ctx context.Context, buildID, volumeID int64) error {
	_, err := s.exec(ctx, "UPDATE builds SET volume_id = ? WHERE id = ?", volumeID, buildID)
	return err
}

// CGBuildroot is a content generator's description of where it built
// (Koji's buildroot row of br_type EXTERNAL).
type CGBuildroot struct {
	CGID          int64
	CGVersion     string
	ContainerType string
	ContainerArch string
	HostOS        string
	HostArch      string
	Extra         *string // JSON
}

// BuildrootTool is one tool a content generator's buildroot used.
type BuildrootTool struct {
	Name    string
	Version string
}

// ErrDuplicateTool: a buildroot's tools name one tool twice.
var ErrDuplicateTool = errors.New("tool listed twice")

// CreateCGBuildroot records a content generator's buildroot and its tools
// and returns its id. Such a buildroot has no host, repo, task or events;
// its state column holds EXPIRED, which nothing reads for br_type 1.
func (s *Store) CreateCGBuildroot(ctx context.Context, b CGBuildroot, tools []BuildrootTool) (int64, error) {
	var id int64
	err := s.WithTx(ctx, func(tx *Store) error {
		var err error
		id, err = tx.insertID(ctx, `INSERT INTO buildroots (arch, state, create_time, br_type, cg_id, cg_version, container_type, container_arch, host_os, host_arch, extra)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, b.ContainerArch, BuildrootExpired, tx.Now(), BuildrootExternal,
			b.CGID, b.CGVersion, b.ContainerType, b.ContainerArch, b.HostOS, b.HostArch, b.Extra)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, t := range tools {
			if seen[t.Name] {
				return fmt.Errorf("%w: %q", ErrDuplicateTool, t.Name)
			}
			seen[t.Name] = true
			if _, err := tx.exec(ctx, "INSERT INTO buildroot_tools_info (buildroot_id, tool, version) VALUES (?, ?, ?)", id, t.Name, t.Version); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("create content generator buildroot: %w", err)
	}
	return id, nil
}

// BuildrootTools returns the tools of a buildroot by name.
func (s *Store) BuildrootTools(ctx context.Context, brID int64) ([]BuildrootTool, error) {
	var out []BuildrootTool
	err := scanAll(s.query(ctx, "SELECT tool, version FROM buildroot_tools_info WHERE buildroot_id = ? ORDER BY tool", brID))(func(r *sql.Rows) error {
		var t BuildrootTool
		err := r.Scan(&t.Name, &t.Version)
		out = append(out, t)
		return err
	})
	return out, err
}
