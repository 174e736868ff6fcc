package hubcore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/password"
)

// stockCLI is Koji 1.35's own command line, run against a test hub when
// KOJI_STOCK_CLI names a Koji source tree (cli/koji and koji/, importable
// with PYTHONPATH). It runs with Debian's python3, which has the CLI's
// modules (python3-requests, -dateutil, -six, -defusedxml, -rpm): another
// python3 first on PATH (pyenv's) may lack them.
type stockCLI struct{ src, py string }

// needStockCLI skips the test unless KOJI_STOCK_CLI is set.
func needStockCLI(t *testing.T) stockCLI {
	t.Helper()
	src := os.Getenv("KOJI_STOCK_CLI")
	if src == "" {
		t.Skip("KOJI_STOCK_CLI is not set: point it at a Koji 1.35 source tree to run the stock CLI")
	}
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("python3 not found")
		}
	}
	return stockCLI{src: src, py: py}
}

// cliRun runs the CLI as user with password pw; output and exit error.
type cliRun func(user, pw string, args ...string) (string, error)

// client writes a koji.conf for the hub at url with password logins (and
// the extra "key = value" lines) into a new directory, and returns a
// runner working there, with env added to the environment, and the
// directory (where commands like download-logs write).
func (s stockCLI) client(t *testing.T, url string, extra []string, env ...string) (cliRun, string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "koji.conf")
	body := "[koji]\nserver = " + url + "\nauthtype = password\n" + strings.Join(extra, "\n") + "\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(user, pw string, args ...string) (string, error) {
		cmd := exec.Command(s.py, append([]string{filepath.Join(s.src, "cli", "koji"), "-c", conf, "--user", user, "--password", pw}, args...)...)
		cmd.Env = append(os.Environ(), append([]string{"PYTHONPATH=" + s.src + string(os.PathListSeparator) + os.Getenv("PYTHONPATH")}, env...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	return run, dir
}

// stockAdmin creates the user kojiadmin (password "pw") with the admin
// permission, as the stock-CLI tests log in.
func stockAdmin(t *testing.T, store *db.Store) int64 {
	t.Helper()
	ctx := context.Background()
	hash, _ := password.Hash("pw")
	id, err := store.CreateUser(ctx, db.User{Name: "kojiadmin", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	perm, err := store.GetPermByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.GrantPerm(ctx, id, perm.ID, nil); err != nil {
		t.Fatal(err)
	}
	return id
}
