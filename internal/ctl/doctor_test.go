package ctl

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kojigo/db"
	"kojigo/internal/pki"
	"kojigo/internal/pki/pkitest"
)

func TestDoctorCommand(t *testing.T) {
	f := pkitest.NewFarm(t, "")
	b := f.Issue("builder1", pki.Request{Role: pki.RoleHost, Name: "builder1"})
	soon := f.Issue("soon", pki.Request{Role: pki.RoleHost, Name: "builder1", NotAfter: f.Now.AddDate(0, 0, 5)})
	hub := pkitest.StartHub(t, pkitest.HubOptions{CertFile: f.Issue("hub", pki.Request{Role: pki.RoleHub, Name: "127.0.0.1"}).Cert,
		KeyFile: filepath.Join(f.Dir, "hub.key"), ClientCAFile: f.CAFile, UserTypes: map[string]int{"builder1": 1}})
	dir := t.TempDir()
	for _, d := range []string{"work", "mock"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	conf := func(name, cert, extra string) string {
		p := filepath.Join(dir, name)
		text := "[kojid]\nserver = " + hub.URL + "\ntopurl = https://koji.example.com/kojifiles\nworkdir = " + dir + "/work\nmockdir = " + dir + "/mock\nminspace = 1\nhostname = builder1\ncert = " + cert + "\nserverca = " + f.CAFile + "\n" + extra
		pkitest.WriteFile(t, p, []byte(text), 0o644)
		return p
	}
	good := conf("good.conf", b.PEM, "")
	warn := conf("warn.conf", soon.PEM, "")
	bad := conf("bad.conf", b.PEM, "minspce = 3\n")
	env := map[string]string{"HOME": dir}
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"doctor", "--config", "kojid:" + good}, 0, []string{"ok", `logs in as "builder1"`, "0 error(s), 0 warning(s) in " + good}},
		{[]string{"doctor", "--config", "kojid:" + warn}, 1, []string{"warning", "expires in 4 days"}},
		{[]string{"doctor", "--config", "kojid:" + bad}, 2, []string{"error", "did you mean minspace?"}},
		{[]string{"doctor", "--config", "kojid:" + good, "--config", "kojid:" + bad, "--offline"}, 2, []string{good, bad}},
	}
	for _, tc := range tests {
		code, out, stderr := runCtl(t, env, tc.args...)
		if code != tc.code {
			t.Errorf("kojictl %v: exit %d, want %d\n%s%s", tc.args, code, tc.code, out, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("kojictl %v output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	code, out, _ := runCtl(t, env, "doctor", "--config", "kojid:"+warn, "--json")
	var rep struct {
		Checked []struct {
			Path, Kind string
		} `json:"checked"`
		Findings []pki.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || len(rep.Findings) == 0 || rep.Checked[0].Kind != "kojid" {
		t.Fatalf("--json: exit %d, %v:\n%s", code, err, out)
	}
	found := false
	for _, f := range rep.Findings {
		found = found || f.Severity == pki.SeverityWarning && f.Problem == pki.ProblemExpiringSoon
	}
	if !found {
		t.Errorf("--json lacks the expiring-soon warning:\n%s", out)
	}
	for _, bad := range [][]string{{"doctor", "extra"}, {"doctor", "--nope"}, {"doctor", "--timeout", "-1s"}} {
		if code, _, _ := runCtl(t, env, bad...); code != 2 {
			t.Errorf("kojictl %v: exit %d, want 2", bad, code)
		}
	}
	if code, _, _ := runCtl(t, env, "doctor", "-h"); code != 0 {
		t.Errorf("doctor -h: exit %d", code)
	}
}

// TestCheckDatabase: the database check names the command that fixes a
// missing or old database, and that command works as printed.
func TestCheckDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub data")
	os.MkdirAll(dir, 0o755)
	ctx := context.Background()
	te := newTestEnv(t, "")
	fix := func(err error) string {
		t.Helper()
		_, cmd, ok := strings.Cut(err.Error(), " with: ")
		if !ok {
			t.Fatalf("%v: no command", err)
		}
		return cmd
	}
	missing := "sqlite://" + filepath.Join(dir, "none.db")
	err := checkDatabase(ctx, missing)
	if err == nil || !strings.Contains(err.Error(), "kojictl migrate") {
		t.Fatalf("missing sqlite: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("the check created the database file")
	}
	if code := te.typed(t, fix(err)); code != 0 {
		t.Errorf("%s: exit %d: %s", fix(err), code, te.stderr.String())
	}
	if err := checkDatabase(ctx, missing); err != nil {
		t.Errorf("after %s: %v", fix(err), err)
	}
	dsn := "sqlite://" + filepath.Join(dir, "koji.db")
	s, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	err = checkDatabase(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), "schema version 0") {
		t.Fatalf("unmigrated: %v", err)
	}
	if code := te.typed(t, fix(err)); code != 0 {
		t.Errorf("%s: exit %d: %s", fix(err), code, te.stderr.String())
	}
	if err := checkDatabase(ctx, dsn); err != nil {
		t.Errorf("migrated: %v", err)
	}
	if err := checkDatabase(ctx, "mysql://x"); err == nil {
		t.Error("mysql DSN accepted")
	}
	// A password is never printed.
	if got, want := migrateCommand("postgres://koji:s3cret@db.example.org/koji"), "kojictl migrate --db postgres://koji:PASSWORD@db.example.org/koji (with the database password in place of PASSWORD)"; got != want {
		t.Errorf("migrateCommand = %q, want %q", got, want)
	}
}

// TestDoctorClientProfile: doctor takes -p like every client command (also
// before the command), and in a client config with one profile, such as
// the demo's DIR/koji.conf with [kojigo-demo], checks that one and says so.
func TestDoctorClientProfile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "koji.conf")
	pkitest.WriteFile(t, conf, []byte("[kojigo-demo]\nserver = https://127.0.0.1:1/kojihub\nauthtype = noauth\n"), 0o644)
	env := map[string]string{"HOME": dir}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"doctor", "--config", conf, "--offline"}, 0, "checks [kojigo-demo], the only profile in " + conf},
		{[]string{"doctor", "-p", "kojigo-demo", "--config", conf, "--offline"}, 0, "koji client profile [kojigo-demo] parses"},
		{[]string{"-p", "kojigo-demo", "--config", conf, "doctor", "--offline"}, 0, "koji client profile [kojigo-demo] parses"},
		{[]string{"doctor", "--profile", "kojigo-demo", "--config", conf, "--offline"}, 0, "koji client profile [kojigo-demo] parses"},
		{[]string{"doctor", "-p", "nosuch", "--config", conf, "--offline"}, 2, "there is no profile [nosuch] in " + conf + ", whose profiles are [kojigo-demo]"},
	}
	for _, tc := range tests {
		code, out, stderr := runCtl(t, env, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("kojictl %q: exit %d (want %d), output lacks %q:\n%s%s", tc.args, code, tc.code, tc.want, out, stderr)
		}
		if strings.Contains(out, "profile name: koji") {
			t.Errorf("kojictl %q looked for [koji]:\n%s", tc.args, out)
		}
	}
}
