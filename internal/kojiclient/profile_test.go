package kojiclient

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kojigo/internal/kojiconf"
)

func loadProfile(t *testing.T, body string) *kojiconf.ClientProfile {
	t.Helper()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "koji.conf", []byte(body))
	p, err := kojiconf.LoadClientProfile("koji", kojiconf.ClientOptions{
		ConfigFile: cfg, Home: dir, SysConfDir: dir + "/none",
		Environ: func() []string { return nil },
	})
	if err != nil {
		t.Fatalf("LoadClientProfile: %v", err)
	}
	return p
}

func TestProfileSSL(t *testing.T) {
	ca := newTestCA(t, "Koji CA")
	dir := t.TempDir()
	caFile := writeFile(t, dir, "serverca.crt", ca.pem)
	certPEM, keyPEM := ca.issue(t, "kojiadmin", false)
	cert := writeFile(t, dir, "client.crt", certPEM, keyPEM)
	h := tlsHub(t, ca, ca)
	p := loadProfile(t, fmt.Sprintf("[koji]\nserver = %s\ncert = %s\nserverca = %s\nmax_retries = 0\nretry_interval = 3\nupload_blocksize = 65536\n",
		h.url(), cert, caFile))
	opts, err := OptionsFromProfile(p)
	if err != nil {
		t.Fatalf("OptionsFromProfile: %v", err)
	}
	if opts.CertFile != cert || opts.ServerCAFile != caFile || opts.MaxRetries != -1 ||
		opts.RetryInterval != 3*time.Second || opts.UploadBlockSize != 65536 || opts.Timeout != 12*time.Hour {
		t.Errorf("OptionsFromProfile = %+v", opts)
	}
	c, err := NewFromProfile(p, nil)
	if err != nil {
		t.Fatalf("NewFromProfile: %v", err)
	}
	ctx := testCtx(t)
	if err := c.LoginWithProfile(ctx, p); err != nil {
		t.Fatalf("LoginWithProfile: %v", err)
	}
	if u, err := c.GetLoggedInUser(ctx); err != nil || u.Name != "kojiadmin" {
		t.Errorf("GetLoggedInUser = %+v, %v", u, err)
	}
}

func TestProfilePasswordAndErrors(t *testing.T) {
	h := newFakeHub(t)
	p := loadProfile(t, "[koji]\nserver = "+h.url()+"\nauthtype = password\nuser = alice\npassword = pw\n")
	c, err := NewFromProfile(p, nil)
	if err != nil {
		t.Fatalf("NewFromProfile: %v", err)
	}
	if err := c.LoginWithProfile(testCtx(t), p); err != nil {
		t.Fatalf("LoginWithProfile: %v", err)
	}
	if !c.LoggedIn() {
		t.Error("not logged in")
	}

	tests := []struct {
		name, body, want string
		atLogin          bool
	}{
		{"no_ssl_verify", "[koji]\nserver = https://h/kojihub\nno_ssl_verify = true\n", "koji.conf:3: profile koji: no_ssl_verify is not supported", false},
		{"kerberos", "[koji]\nserver = " + h.url() + "\n", "Kerberos (GSSAPI) login is not supported", true},
		{"password without user", "[koji]\nserver = " + h.url() + "\nauthtype = password\n", "needs user", true},
		{"ssl without cert", "[koji]\nserver = " + h.url() + "\nauthtype = ssl\n", "needs cert", true},
		{"missing cert file", "[koji]\nserver = https://h/kojihub\nauthtype = ssl\ncert = /nonexistent/client.crt\n", "profile koji: new koji client: certificate file /nonexistent/client.crt does not exist", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadProfile(t, tt.body)
			c, err := NewFromProfile(p, nil)
			if err == nil && tt.atLogin {
				err = c.LoginWithProfile(testCtx(t), p)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := OptionsFromProfile(nil); err == nil {
		t.Error("OptionsFromProfile(nil) succeeded")
	}
}
