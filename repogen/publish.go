package repogen

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Names inside the output directory.
const (
	repodataName = "repodata"
	lockName     = ".repodata.lock"
	tmpPrefix    = ".repodata.tmp-" // a run's work directory
	oldPrefix    = ".repodata.old-" // the previous repodata during a two-step swap
)

// ErrBusy means another run holds the output directory's lock.
var ErrBusy = errors.New("another repository generation is running in this output directory")

// publisher owns the output directory for one run: it holds the lock,
// cleans what killed runs left behind, and swaps the new repodata in.
type publisher struct {
	out       string
	tmp       string
	log       *slog.Logger
	unlock    func()
	committed bool
}

func beginPublish(out string, log *slog.Logger) (*publisher, error) {
	unlock, err := lockDir(filepath.Join(out, lockName))
	if err != nil {
		return nil, err
	}
	p := &publisher{out: out, log: log, unlock: unlock}
	if err := p.recover(); err != nil {
		unlock()
		return nil, err
	}
	p.tmp = filepath.Join(out, tmpPrefix+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Mkdir(p.tmp, 0o755); err != nil {
		unlock()
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	return p, nil
}

// recover runs under the lock, so any work directory present belongs to a
// run that died. A missing repodata with a saved previous one means a run
// died between the two renames of a swap: put the previous one back.
func (p *publisher) recover() error {
	entries, err := os.ReadDir(p.out)
	if err != nil {
		return fmt.Errorf("read output directory: %w", err)
	}
	var olds []string
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasPrefix(name, tmpPrefix):
			p.log.Warn("removing work directory of an interrupted run", "dir", name)
			if err := os.RemoveAll(filepath.Join(p.out, name)); err != nil {
				return fmt.Errorf("remove stale work directory: %w", err)
			}
		case strings.HasPrefix(name, oldPrefix):
			olds = append(olds, name)
		}
	}
	sort.Strings(olds) // names end in a sortable time stamp
	repodata := filepath.Join(p.out, repodataName)
	if len(olds) > 0 {
		if _, err := os.Lstat(repodata); errors.Is(err, os.ErrNotExist) {
			last := olds[len(olds)-1]
			p.log.Warn("restoring the previous repodata of an interrupted run", "dir", last)
			if err := os.Rename(filepath.Join(p.out, last), repodata); err != nil {
				return fmt.Errorf("restore previous repodata: %w", err)
			}
			olds = olds[:len(olds)-1]
		}
	}
	for _, name := range olds {
		if err := os.RemoveAll(filepath.Join(p.out, name)); err != nil {
			return fmt.Errorf("remove stale repodata: %w", err)
		}
	}
	return nil
}

// commit makes the work directory the published repodata.
func (p *publisher) commit() (string, error) {
	if err := syncDir(p.tmp); err != nil {
		return "", err
	}
	repodata := filepath.Join(p.out, repodataName)
	if _, err := os.Lstat(repodata); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(p.tmp, repodata); err != nil {
			return "", fmt.Errorf("publish repodata: %w", err)
		}
	} else {
		switch err := exchange(p.tmp, repodata); {
		case err == nil:
			// p.tmp now holds the previous repodata.
		case errors.Is(err, errNoExchange):
			// Two renames; recover() repairs a crash between them.
			saved := filepath.Join(p.out, oldPrefix+strconv.FormatInt(time.Now().UnixNano(), 10))
			if err := os.Rename(repodata, saved); err != nil {
				return "", fmt.Errorf("set previous repodata aside: %w", err)
			}
			if err := os.Rename(p.tmp, repodata); err != nil {
				os.Rename(saved, repodata)
				return "", fmt.Errorf("publish repodata: %w", err)
			}
			if err := os.Rename(saved, p.tmp); err != nil {
				p.log.Warn("cannot move previous repodata away", "dir", saved, "err", err)
			}
		default:
			return "", fmt.Errorf("publish repodata: %w", err)
		}
	}
	p.committed = true
	if err := syncDir(p.out); err != nil {
		return "", err
	}
	return repodata, nil
}

// release removes the work directory (after a commit it holds the previous
// repodata) and drops the lock.
func (p *publisher) release() {
	if err := os.RemoveAll(p.tmp); err != nil {
		p.log.Warn("cannot remove work directory", "dir", p.tmp, "err", err)
	}
	p.unlock()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
