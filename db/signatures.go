package db

import (
	"context"
	"database/sql"
	"fmt"
)

// RPM signatures, Koji's rpmsigs: one row per RPM and signing key whose
// signature header was imported (the header is a file under the build's
// data/sigcache). Sigkey "" is an unsigned header.

// RPMSig is a row of rpmsigs.
type RPMSig struct {
	RPMID   int64
	SigKey  string
	SigHash string // md5 of the header as imported
}

// SigFilter selects signatures; nil fields match everything.
type SigFilter struct {
	RPMID  *int64
	SigKey *string
	// RPMIDs, when not nil, limits the answer to these RPMs.
	RPMIDs []int64
}

// AddRPMSig records a signature header. A second header for the same RPM
// and key is ErrConflict.
func (s *Store) AddRPMSig(ctx context.Context, sig RPMSig) error {
	_, err := s.exec(ctx, "INSERT INTO rpmsigs (rpm_id, sigkey, sighash) VALUES (?, ?, ?)", sig.RPMID, sig.SigKey, sig.SigHash)
	if err != nil {
		return fmt.Errorf("add signature %q of rpm %d: %w", sig.SigKey, sig.RPMID, err)
	}
	return nil
}

// ListRPMSigs returns signatures ordered by rpm and key.
func (s *Store) ListRPMSigs(ctx context.Context, f SigFilter) ([]RPMSig, error) {
	q := "SELECT rpm_id, sigkey, sighash FROM rpmsigs WHERE 1=1"
	var args []any
	if f.RPMID != nil {
		q += " AND rpm_id = ?"
		args = append(args, *f.RPMID)
	}
	if f.SigKey != nil {
		q += " AND sigkey = ?"
		args = append(args, *f.SigKey)
	}
	if f.RPMIDs != nil {
		if len(f.RPMIDs) == 0 {
			return nil, nil
		}
		q += " AND rpm_id IN (" + placeholders(len(f.RPMIDs)) + ")"
		for _, id := range f.RPMIDs {
			args = append(args, id)
		}
	}
	var out []RPMSig
	err := scanAll(s.query(ctx, q+" ORDER BY rpm_id, sigkey", args...))(func(r *sql.Rows) error {
		var sg RPMSig
		err := r.Scan(&sg.RPMID, &sg.SigKey, &sg.SigHash)
		out = append(out, sg)
		return err
	})
	return out, err
}

// DeleteRPMSigs removes an RPM's signatures for the given keys, with the
// checksums of their signed copies, and returns how many it removed.
func (s *Store) DeleteRPMSigs(ctx context.Context, rpmID int64, keys []string) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	args := []any{rpmID}
	for _, k := range keys {
		args = append(args, k)
	}
	var n int64
	err := s.WithTx(ctx, func(tx *Store) error {
		in := " WHERE rpm_id = ? AND sigkey IN (" + placeholders(len(keys)) + ")"
		var err error
		if n, err = tx.execN(ctx, "DELETE FROM rpmsigs"+in, args...); err != nil {
			return err
		}
		_, err = tx.exec(ctx, "DELETE FROM rpm_checksum"+in, args...)
		return err
	})
	return n, err
}

// SetRPMChecksum records the checksum of an RPM's copy signed with sigkey,
// replacing an earlier one of the same type. Types are Koji's numbers.
func (s *Store) SetRPMChecksum(ctx context.Context, rpmID int64, sigkey string, typ int, sum string) error {
	return s.WithTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, "DELETE FROM rpm_checksum WHERE rpm_id = ? AND sigkey = ? AND checksum_type = ?", rpmID, sigkey, typ); err != nil {
			return err
		}
		_, err := tx.exec(ctx, "INSERT INTO rpm_checksum (rpm_id, sigkey, checksum, checksum_type) VALUES (?, ?, ?, ?)", rpmID, sigkey, sum, typ)
		return err
	})
}

// RPMChecksums returns the checksums of an RPM's signed copies: sigkey ->
// checksum type -> checksum.
func (s *Store) RPMChecksums(ctx context.Context, rpmID int64) (map[string]map[int]string, error) {
	out := map[string]map[int]string{}
	err := scanAll(s.query(ctx, "SELECT sigkey, checksum_type, checksum FROM rpm_checksum WHERE rpm_id = ?", rpmID))(func(r *sql.Rows) error {
		var key, sum string
		var typ int
		if err := r.Scan(&key, &typ, &sum); err != nil {
			return err
		}
		if out[key] == nil {
			out[key] = map[int]string{}
		}
		out[key][typ] = sum
		return nil
	})
	return out, err
}
