package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"kojigo/db"
	"kojigo/internal/kojiclient"
	"kojigo/internal/kojixml"
	"kojigo/internal/testenv"
)

// The kojid lines that mark the start and the end of an outage
// (builderd/hub.go, outageHub).
const (
	kojidLostLine = "hub unreachable: running tasks keep their work and results"
	kojidBackLine = "hub reachable again: tasks resume"
)

// pgCluster is a private PostgreSQL cluster owned by the test: it can be
// restarted and stopped without touching anybody else's server.
type pgCluster struct {
	t     *testing.T
	pgctl string
	base  string // owned by postgres: data/, the socket, the log
	port  string
	logf  string
}

const pgBin = "/usr/lib/postgresql/15/bin"

// pgTool finds a PostgreSQL server program, in pgBin or in PATH.
func pgTool(t *testing.T, name string) string {
	t.Helper()
	if p := filepath.Join(pgBin, name); fileExists(p) {
		return p
	}
	return testenv.NeedTool(t, name)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// newPGCluster makes and starts a cluster with initdb as user postgres.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	initdb := pgTool(t, "initdb")
	c := &pgCluster{t: t, pgctl: pgTool(t, "pg_ctl")}
	testenv.NeedTool(t, "runuser")
	base, err := os.MkdirTemp("", "kojigo-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if out, err := exec.Command("chown", "postgres:", base).CombinedOutput(); err != nil {
		if testenv.RequireTools() {
			t.Fatalf("chown postgres %s: %v %s (the test needs root and a postgres user)", base, err, out)
		}
		t.Skipf("chown postgres %s: %v %s (the test needs root and a postgres user)", base, err, out)
	}
	os.Chmod(base, 0o755)
	c.base = base
	c.logf = filepath.Join(base, "postgres.log")
	_, c.port, _ = strings.Cut(freeAddr(t), ":")
	c.run(initdb, "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync")
	c.start()
	t.Cleanup(func() {
		c.pg("stop", "-m", "fast", "-w")
		if t.Failed() {
			b, _ := os.ReadFile(c.logf)
			t.Logf("---- postgres log ----\n%s", tail(string(b), 3000))
		}
	})
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.base, "data") }

// run runs a command as user postgres and fails the test on error.
func (c *pgCluster) run(args ...string) string {
	c.t.Helper()
	out, err := c.pg0(args...)
	if err != nil {
		c.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *pgCluster) pg0(args ...string) (string, error) {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	cmd.Dir = c.base
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *pgCluster) pg(args ...string) (string, error) {
	return c.pg0(append([]string{c.pgctl, "-D", c.data()}, args...)...)
}

func (c *pgCluster) opts() string {
	return fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.base)
}

func (c *pgCluster) start() {
	c.t.Helper()
	if out, err := c.pg("-o", c.opts(), "-l", c.logf, "start", "-w"); err != nil {
		c.t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

func (c *pgCluster) stop() {
	c.t.Helper()
	if out, err := c.pg("stop", "-m", "fast", "-w"); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

func (c *pgCluster) restart() {
	c.t.Helper()
	if out, err := c.pg("-o", c.opts(), "-l", c.logf, "restart", "-m", "fast", "-w"); err != nil {
		c.t.Fatalf("pg_ctl restart: %v\n%s", err, out)
	}
}

// createDB makes a role with a password and a database it owns, and
// returns the DSN to reach it over TCP.
func (c *pgCluster) createDB(user, pw, name string) string {
	c.t.Helper()
	admin, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", c.port))
	if err != nil {
		c.t.Fatal(err)
	}
	defer admin.Close()
	for _, q := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", user, pw),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, user),
	} {
		if _, err := admin.Exec(q); err != nil {
			c.t.Fatalf("%s: %v", q, err)
		}
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable", user, pw, c.port, name)
}

// newFarmDSN is newFarm on a given PostgreSQL DSN: migrated, with an admin.
func newFarmDSN(t *testing.T, dsn string) *farm {
	t.Helper()
	f := &farm{t: t, backend: "postgres", dsn: dsn, topdir: t.TempDir()}
	s, err := db.Open(context.Background(), dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.store = s
	f.user("kojiadmin", "adminpw", db.UserNormal, "admin")
	return f
}

// TestDatabaseRestartAndOutage: builds survive a real PostgreSQL restart
// (pg_ctl restart -m fast while rpmbuild runs) and a 75 s outage over the
// end of rpmbuild (longer than kojid's 30 s backoff cap and than its
// client's one minute of retries of one call): each build closes with its
// RPMs under topdir/packages, no task is freed or opened twice, kojid
// reports the hub lost and back (the running tasks' lines at most once
// per outage), and while the database is down the hub answers
// ServerOffline (1014) without naming the database's user, name or address.
func TestDatabaseRestartAndOutage(t *testing.T) {
	testenv.NeedTool(t, "rpmbuild")
	testenv.NeedTool(t, "git")
	pg := newPGCluster(t)
	const (
		dbUser = "kojiblipuser"
		dbPass = "kojiblipsecret"
		dbName = "kojiblipdb"
	)
	dsn := pg.createDB(dbUser, dbPass, dbName)
	bf := newBuildFarmOn(t, newFarmDSN(t, dsn))
	ctx := context.Background()
	if _, err := bf.admin.Call(ctx, "packageListAdd", "dist", "outlast", kojiclient.Kw{"owner": "kojiadmin"}); err != nil {
		t.Fatal(err)
	}

	// buildArch returns the only buildArch child of a build task, waiting
	// for it to be OPEN.
	buildArch := func(t *testing.T, parent int64) map[string]any {
		t.Helper()
		var child map[string]any
		waitFor(t, 3*time.Minute, fmt.Sprintf("the buildArch child of task %d to be OPEN", parent), func() bool {
			child = nil
			for _, c := range bf.children(t, parent) {
				if c["method"] == "buildArch" {
					child = c
				}
			}
			return child != nil && asInt(child["state"]) == 1
		})
		return child
	}

	// check verifies a finished build: task CLOSED, one buildArch child
	// that kept its start (never freed or reopened), one COMPLETE build
	// whose RPMs are on disk, and each task of the tree opened once.
	check := func(t *testing.T, parent int64, nvr string, archStart any) {
		t.Helper()
		if info := bf.wait(t, parent, 3*time.Minute); asInt(info["state"]) != 2 {
			res, err := bf.admin.Call(ctx, "getTaskResult", parent)
			t.Fatalf("build task %d ended in state %v: %v %v", parent, info["state"], res, err)
		}
		var arches []map[string]any
		ids := []int64{parent}
		for _, c := range bf.children(t, parent) {
			ids = append(ids, asInt(c["id"]))
			if c["method"] == "buildArch" {
				arches = append(arches, c)
			}
			if st := asInt(c["state"]); st != 2 {
				t.Errorf("child %v %v ended in state %d", c["id"], c["method"], st)
			}
		}
		if len(arches) != 1 {
			t.Fatalf("task %d has %d buildArch children, want 1: %v", parent, len(arches), arches)
		}
		if got := arches[0]["start_ts"]; fmt.Sprint(got) != fmt.Sprint(archStart) {
			t.Errorf("buildArch %v start_ts went from %v to %v: it was opened again", arches[0]["id"], archStart, got)
		}
		logb, err := bf.admin.DownloadTaskOutput(ctx, asInt(arches[0]["id"]), "build.log", 0, -1)
		if err != nil || !strings.Contains(string(logb), "Wrote:") {
			t.Errorf("build.log of buildArch %v is incomplete (%v):\n%s", arches[0]["id"], err, tail(string(logb), 800))
		}
		kojidLog := bf.kojid.out.String()
		for _, id := range ids {
			task, err := bf.store.GetTask(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if task.Retries != 0 || task.FreeReason != nil {
				t.Errorf("task %d %s was freed during the outage: retries %d, reason %v", id, task.Method, task.Retries, deref(task.FreeReason))
			}
			took := regexp.MustCompile(fmt.Sprintf(`msg="took task" .*task_id=%d `, id))
			if n := len(took.FindAllString(kojidLog, -1)); n != 1 {
				t.Errorf("kojid took task %d %s %d times, want once", id, task.Method, n)
			}
		}
		builds, err := bf.admin.Call(ctx, "listBuilds")
		if err != nil {
			t.Fatal(err)
		}
		var build map[string]any
		n := 0
		for _, b := range asList(builds) {
			if asMap(b)["nvr"] == nvr {
				build = asMap(b)
				n++
			}
		}
		if n != 1 {
			t.Fatalf("listBuilds has %d builds of %s, want 1", n, nvr)
		}
		if asInt(build["state"]) != 1 {
			t.Fatalf("build %s is in state %v, want COMPLETE", nvr, build["state"])
		}
		rpms, err := bf.admin.Call(ctx, "listRPMs", build["build_id"])
		if err != nil {
			t.Fatal(err)
		}
		arches2 := map[string]bool{}
		for _, r := range asList(rpms) {
			m := asMap(r)
			p := filepath.Join(bf.topdir, "packages", fmt.Sprint(build["name"]), fmt.Sprint(build["version"]), fmt.Sprint(build["release"]),
				fmt.Sprint(m["arch"]), fmt.Sprintf("%s-%s-%s.%s.rpm", m["name"], m["version"], m["release"], m["arch"]))
			if _, err := os.Stat(p); err != nil {
				t.Errorf("RPM of %s missing: %v", nvr, err)
			}
			arches2[fmt.Sprint(m["arch"])] = true
		}
		if !arches2["src"] || !arches2["noarch"] {
			t.Errorf("build %s has RPMs of arches %v, want src and noarch", nvr, arches2)
		}
	}

	// offline checks that an anonymous call needing the database answers
	// ServerOffline without naming the database.
	offline := func(t *testing.T) {
		t.Helper()
		c, err := kojiclient.New(kojiclient.Options{Server: bf.url, Timeout: 20 * time.Second, MaxRetryTime: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Call(ctx, "getTag", "dist")
		var f *kojiclient.Fault
		if !errors.As(err, &f) || f.Code != kojixml.ServerOffline {
			t.Fatalf("getTag with the database down: %v; want fault %d (ServerOffline)", err, kojixml.ServerOffline)
		}
		for _, secret := range []string{dbUser, dbPass, dbName, "127.0.0.1:" + pg.port, ":" + pg.port, "postgres://"} {
			if strings.Contains(f.String, secret) {
				t.Errorf("the ServerOffline fault names %q: %s", secret, f.String)
			}
		}
		t.Logf("getTag with the database down: fault %d: %s", f.Code, f.String)
	}

	// outageLines counts, in kojid's log after mark, the lines of its two
	// layers that report an outage: the running tasks' (builderd/hub.go,
	// once per outage) and the main loop's (builderd/daemon.go, once per
	// failed call), and logs kojid's warnings and errors since then.
	outageLines := func(t *testing.T, mark int) (o kojidOutage) {
		var warns []string
		for _, l := range strings.Split(bf.kojid.out.String()[mark:], "\n") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				warns = append(warns, l)
			}
			switch {
			case strings.Contains(l, kojidLostLine):
				o.taskLost++
			case strings.Contains(l, kojidBackLine):
				o.taskBack++
			case strings.Contains(l, `msg="hub call failed, retrying" component=kojid`), strings.Contains(l, `msg="hub not reachable, retrying"`):
				o.loopLost++
			case strings.Contains(l, `msg="hub reachable again" component=kojid`):
				o.loopBack++
			default:
				continue
			}
			o.lines = append(o.lines, l)
		}
		t.Logf("kojid's %d warnings and errors since the database went away:\n%s", len(warns), strings.Join(warns, "\n"))
		t.Logf("kojid's outage lines (tasks: %d lost, %d back; main loop: %d lost, %d back):\n%s",
			o.taskLost, o.taskBack, o.loopLost, o.loopBack, strings.Join(o.lines, "\n"))
		return o
	}

	t.Run("restart", func(t *testing.T) {
		id := bf.submit(t, srpm(t, slowPackage(t, "sleeper", 15)), nil)
		arch := buildArch(t, id)
		waitFor(t, time.Minute, "rpmbuild of sleeper to run", func() bool { return len(rpmbuildPIDs("sleeper")) > 0 })
		mark := len(bf.kojid.out.String())
		began := time.Now()
		pg.restart()
		t.Logf("pg_ctl restart -m fast took %v, rpmbuild still running: %v", time.Since(began).Round(time.Millisecond), len(rpmbuildPIDs("sleeper")) > 0)
		check(t, id, "sleeper-1.0-1", arch["start_ts"])
		t.Logf("build closed %v after the restart", time.Since(began).Round(time.Second))
		if o := outageLines(t, mark); o.taskLost > 1 || o.taskBack != o.taskLost || (o.loopLost > 0) != (o.loopBack > 0) {
			t.Errorf("kojid's outage lines for the restart do not pair: a lost line without a back line, or more than one of the tasks'")
		}
		if s := bf.kojid.out.String()[mark:]; strings.Contains(s, "could not report the task's end") || strings.Contains(s, "task failed") {
			t.Errorf("kojid lost a task's end in the restart:\n%s", tail(s, 3000))
		}
	})

	t.Run("outage", func(t *testing.T) {
		// Longer than kojid's own backoff cap (maxOutageDelay, 30 s) and
		// than its client's retries of one call (kojidCallRetry, 10 s),
		// after which the running tasks' calls go to kojid's outage
		// handling (builderd/hub.go).
		const outage = 45 * time.Second
		const secs = 12
		id := bf.submit(t, srpm(t, slowPackage(t, "outlast", secs)), nil)
		arch := buildArch(t, id)
		waitFor(t, time.Minute, "rpmbuild of outlast to run", func() bool { return len(rpmbuildPIDs("outlast")) > 0 })
		time.Sleep(secs / 2 * time.Second) // rpmbuild ends during the outage
		mark := len(bf.kojid.out.String())
		began := time.Now()
		pg.stop()
		t.Logf("database stopped (pg_ctl stop -m fast took %v)", time.Since(began).Round(time.Millisecond))
		offline(t)
		waitFor(t, 2*time.Minute, "rpmbuild of outlast to end during the outage", func() bool { return len(rpmbuildPIDs("outlast")) == 0 })
		t.Logf("rpmbuild ended %v into the outage", time.Since(began).Round(time.Second))
		time.Sleep(outage - time.Since(began))
		if st := pg.started(); st {
			t.Fatal("the database is up before it was started again")
		}
		upMark := len(bf.kojid.out.String())
		pg.start()
		up := time.Now()
		t.Logf("database started again after %v down", up.Sub(began).Round(time.Second))
		check(t, id, "outlast-1.0-1", arch["start_ts"])
		t.Logf("build closed %v after the database came back", time.Since(up).Round(time.Second))
		// The running tasks report the outage once and the hub's return
		// once (builderd/hub.go), however many calls wait.
		o := outageLines(t, mark)
		if o.taskLost != 1 || o.taskBack != 1 {
			t.Errorf("kojid's running tasks logged %d %q and %d %q lines for the outage, want one of each",
				o.taskLost, kojidLostLine, o.taskBack, kojidBackLine)
		}
		if o.taskBack > 0 && !strings.Contains(bf.kojid.out.String()[upMark:], kojidBackLine) {
			t.Errorf("kojid reported the hub back before the database was started again")
		}
		if s := bf.kojid.out.String()[mark:]; strings.Contains(s, "could not report the task's end") || strings.Contains(s, "task failed") {
			t.Errorf("kojid lost a task's end in the outage:\n%s", tail(s, 3000))
		}
	})
}

// kojidOutage counts kojid's lines about an outage.
type kojidOutage struct {
	taskLost, taskBack int // builderd/hub.go: running tasks wait for the hub
	loopLost, loopBack int // builderd/daemon.go: the main loop's calls
	lines              []string
}

// started reports whether the cluster's server runs (pg_ctl status).
func (c *pgCluster) started() bool {
	_, err := c.pg("status")
	return err == nil
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}
