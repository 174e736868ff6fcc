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

func TestCheckDatabase(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	missing := "sqlite://" + filepath.Join(dir, "none.db")
	if err := checkDatabase(ctx, missing); err == nil || !strings.Contains(err.Error(), "kojictl migrate") {
		t.Errorf("missing sqlite: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("the check created the database file")
	}
	dsn := "sqlite://" + filepath.Join(dir, "koji.db")
	s, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := checkDatabase(ctx, dsn); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Errorf("unmigrated: %v", err)
	}
	s, _ = db.Open(ctx, dsn, db.Options{})
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := checkDatabase(ctx, dsn); err != nil {
		t.Errorf("migrated: %v", err)
	}
	if err := checkDatabase(ctx, "mysql://x"); err == nil {
		t.Error("mysql DSN accepted")
	}
}
