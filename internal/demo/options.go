package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// MaxBuilders is the most builders one demo starts.
const MaxBuilders = 16

// DefaultDirName is the state directory under the home directory when
// Options.Dir is empty: ~/.kojigo/demo.
const DefaultDirName = ".kojigo/demo"

// Options configure Run. The zero value is a valid demo.
type Options struct {
	// Dir is the state directory. Empty: ~/.kojigo/demo. It is made if
	// missing and reused (resumed) when it exists.
	Dir string
	// Builders is how many kojid to run. Zero: 2. At most MaxBuilders.
	Builders int
	// Listen is the hub's loopback address. Empty: 127.0.0.1 on a free port.
	Listen string
	// NoTUI asks for plain output even in a terminal.
	NoTUI bool
	// Console, when set and NoTUI is false, runs the operator console on
	// the demo's client profile (the koji config file configFile, profile
	// ProfileName) once the farm is up, in the foreground: quitting it stops
	// the demo. The report then goes to DIR/logs/demo.log. The caller sets
	// it only when the console has a terminal.
	Console func(ctx context.Context, configFile string) error
	// BinDir is where kojihub and kojid are. Empty: next to the running
	// executable, then PATH.
	BinDir string
	// Stdout receives the demo's report. Nil: os.Stdout.
	Stdout io.Writer
	// Logger receives debug details. Nil: discard.
	Logger *slog.Logger
	// Home is the home directory for the default Dir. Empty: os.UserHomeDir.
	Home string
}

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.Builders == 0:
		o.Builders = 2
	case o.Builders < 0 || o.Builders > MaxBuilders:
		return o, fmt.Errorf("builders: want 1 to %d, got %d", MaxBuilders, o.Builders)
	}
	if o.Dir == "" {
		home := o.Home
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return o, fmt.Errorf("dir: no home directory (%v); name one with --dir", err)
			}
			home = h
		}
		o.Dir = filepath.Join(home, DefaultDirName)
	}
	dir, err := checkDir(o.Dir)
	if err != nil {
		return o, err
	}
	o.Dir = dir
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if err := checkListen(o.Listen); err != nil {
		return o, err
	}
	return o, nil
}

// safeDirPunct are the characters besides letters and digits a state
// directory's path may hold.
const safeDirPunct = "/._-+,@~:="

// checkDir makes dir absolute and refuses what would break the config files
// written into it, or is not a directory.
func checkDir(dir string) (string, error) {
	if len(dir) > 1024 {
		return "", fmt.Errorf("dir: longer than 1024 bytes")
	}
	for _, r := range dir {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", fmt.Errorf("dir %q: control characters are not allowed", dir)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("dir %q: %w", dir, err)
	}
	for _, r := range abs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(safeDirPunct, r) {
			return "", fmt.Errorf("dir %q: %q is not allowed: rpmbuild runs its scripts with the path unquoted and the config files would misread it; use letters, digits and %s", abs, r, safeDirPunct)
		}
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", fmt.Errorf("dir: %w", err)
	case !fi.IsDir():
		return "", fmt.Errorf("dir %s: exists and is not a directory", abs)
	default:
		if err := checkDemoDir(abs); err != nil {
			return "", err
		}
	}
	return abs, nil
}

// checkListen accepts host:port on a loopback address: the demo's
// certificates and passwords-free admin are for this machine only.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen %q: want HOST:PORT, e.g. 127.0.0.1:8443: %v", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("listen %q: port must be 0 to 65535", addr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("listen %q: the demo listens on loopback only (127.0.0.1, ::1 or localhost); for a real hub see kojihub and hub.conf", addr)
	}
	return nil
}

// CheckOptions reports what is wrong with o (builders out of range, a dir
// that cannot be a state directory, a listen address off loopback) without
// creating anything.
func CheckOptions(o Options) error {
	_, err := o.withDefaults()
	return err
}

// checkDemoDir refuses an existing directory that holds files but is not a
// demo's, so that --dir ~ or --dir /etc is not filled with demo files.
func checkDemoDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	if len(ents) == 0 {
		return nil
	}
	for _, marker := range []string{"state.json", "demo.lock", "koji.db"} {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("dir %s: not empty and not a kojigo demo's directory; name a new or empty one", dir)
}
