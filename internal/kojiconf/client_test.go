package kojiconf

import (
	"errors"
	"flag"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// clientEnv is a test machine: a sysconfdir and a home, both empty.
type clientEnv struct {
	sys, home string
	env       []string
}

func newClientEnv(t testing.TB) *clientEnv {
	t.Helper()
	root := t.TempDir()
	e := &clientEnv{sys: filepath.Join(root, "etc"), home: filepath.Join(root, "home")}
	for _, d := range []string{e.sys, e.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.env = []string{"HOME=" + e.home}
	return e
}

func (e *clientEnv) opts() ClientOptions {
	return ClientOptions{SysConfDir: e.sys, Environ: func() []string { return e.env }}
}

func TestClientDefaults(t *testing.T) {
	e := newClientEnv(t)
	writeFile(t, e.sys, "koji.conf", "[koji]\n")
	p, err := LoadClientProfile("", e.opts())
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultClientProfile("koji")
	want.Origins, want.Files, want.Warnings = Origins{}, []string{filepath.Join(e.sys, "koji.conf")}, nil
	if !reflect.DeepEqual(p, want) {
		t.Errorf("LoadClientProfile = %+v\nwant %+v", p, want)
	}
	if p.Timeout != 43200*time.Second || p.UploadBlockSize != 1048576 || p.PollInterval != 6*time.Second {
		t.Errorf("defaults differ from koji.read_config: %+v", p)
	}
}

func TestClientFilePrecedence(t *testing.T) {
	e := newClientEnv(t)
	// Each file sets "weburl" to its own name and one key of its own, so the
	// winner of every key shows the order.
	files := []struct{ dir, name, body string }{
		{e.sys, "koji.conf.d/b.conf", "[koji]\nweburl = http://b\nserver = http://sysd-b/kojihub\n"},
		{e.sys, "koji.conf.d/a.conf", "[koji]\nweburl = http://a\ntopurl = http://sysd-a\nserver = http://sysd-a/kojihub\n"},
		{e.sys, "koji.conf.d/ignored.txt", "[koji]\nweburl = http://txt\n"},
		{e.sys, "koji.conf", "[koji]\nweburl = http://sys\nprincipal = sys@X\n"},
		{e.home, ".koji/config.d/x.conf", "[koji]\nweburl = http://userd\nkeytab = /userd\n"},
		{e.home, ".koji/config", "[koji]\nweburl = http://user\n"},
	}
	for _, f := range files {
		writeFile(t, f.dir, f.name, f.body)
	}
	if err := os.MkdirAll(filepath.Join(e.sys, "koji.conf.d", "dir.conf"), 0o755); err != nil {
		t.Fatal(err) // a directory named *.conf is skipped, as Koji does
	}
	p, err := LoadClientProfile("koji", e.opts())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, got, want, origin string }{
		{"weburl", p.WebURL, "http://user", filepath.Join(e.home, ".koji/config") + ":2"},
		{"server", p.Server, "http://sysd-b/kojihub", filepath.Join(e.sys, "koji.conf.d/b.conf") + ":3"},
		{"topurl", p.TopURL, "http://sysd-a", filepath.Join(e.sys, "koji.conf.d/a.conf") + ":3"},
		{"principal", p.Principal, "sys@X", filepath.Join(e.sys, "koji.conf") + ":3"},
		{"keytab", p.Keytab, "/userd", filepath.Join(e.home, ".koji/config.d/x.conf") + ":3"},
	}
	for _, tt := range tests {
		if tt.got != tt.want || p.Origins[tt.key].String() != tt.origin {
			t.Errorf("%s = %q from %s, want %q from %s", tt.key, tt.got, p.Origins[tt.key], tt.want, tt.origin)
		}
	}
	wantFiles := []string{
		filepath.Join(e.sys, "koji.conf.d/a.conf"), filepath.Join(e.sys, "koji.conf.d/b.conf"),
		filepath.Join(e.sys, "koji.conf"),
		filepath.Join(e.home, ".koji/config.d/x.conf"), filepath.Join(e.home, ".koji/config"),
	}
	if !reflect.DeepEqual(p.Files, wantFiles) {
		t.Errorf("Files = %q\nwant %q", p.Files, wantFiles)
	}

	// -c replaces the user's files but keeps the system ones.
	cfile := writeFile(t, e.home, "other.conf", "[koji]\nweburl = http://c\n")
	o := e.opts()
	o.ConfigFile = "~/other.conf"
	p, err = LoadClientProfile("koji", o)
	if err != nil {
		t.Fatal(err)
	}
	if p.WebURL != "http://c" || p.Keytab != "" || p.Principal != "sys@X" || p.Files[len(p.Files)-1] != cfile {
		t.Errorf("with ConfigFile: weburl %q keytab %q principal %q files %q; want c, none, sys@X, ending in %s",
			p.WebURL, p.Keytab, p.Principal, p.Files, cfile)
	}

	// -c may name a directory of *.conf files.
	cdir := filepath.Join(e.home, "cdir")
	writeFile(t, cdir, "1.conf", "[koji]\nweburl = http://c1\n")
	writeFile(t, cdir, "2.conf", "[koji]\nweburl = http://c2\n")
	o.ConfigFile = cdir
	if p, err = LoadClientProfile("koji", o); err != nil || p.WebURL != "http://c2" {
		t.Errorf("ConfigFile dir: weburl = %v, %v; want http://c2", p, err)
	}
}

func TestClientEnvAndFlags(t *testing.T) {
	e := newClientEnv(t)
	writeFile(t, e.home, ".koji/config", "[koji]\nserver = https://file/kojihub\nweburl = https://file/koji\nplugin_paths = /file\n")
	e.env = append(e.env, "KOJI_CLIENT_SERVER=https://env/kojihub", "KOJI_CLIENT_WEBURL=https://env/koji")
	fs := flag.NewFlagSet("koji", flag.ContinueOnError)
	fs.String("weburl", "", "")
	fs.String("plugin-paths", "", "")
	fs.String("profile", "", "")
	if err := fs.Parse([]string{"--weburl=https://flag/koji", "--plugin-paths=/flag", "--profile=koji"}); err != nil {
		t.Fatal(err)
	}
	o := e.opts()
	o.Flags = fs
	p, err := LoadClientProfile("koji", o)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, got, want, origin string }{
		{"server", p.Server, "https://env/kojihub", "environment KOJI_CLIENT_SERVER"},
		{"weburl", p.WebURL, "https://flag/koji", "flag --weburl"},
		{"plugin_paths", p.PluginPaths, "/flag", "flag --plugin-paths"},
	}
	for _, tt := range tests {
		if tt.got != tt.want || p.Origins[tt.key].String() != tt.origin {
			t.Errorf("%s = %q from %s, want %q from %s", tt.key, tt.got, p.Origins[tt.key], tt.want, tt.origin)
		}
	}
}

func TestClientProfileSemantics(t *testing.T) {
	e := newClientEnv(t)
	writeFile(t, e.sys, "koji.conf", `[DEFAULT]
topdir = /mnt/default
weburl = https://default/koji

[stg]
server = https://stg.example.org/kojihub
weburl = https://stg.example.org/koji
topurl = %(weburl)s/files
password = 100%%
no_ssl_verify = false
krb_rdn = false
ca = ~/.koji/ca.crt

[broken]
timeout = never
`)
	writeFile(t, e.home, ".koji/config", "[DEFAULT]\nweburl = https://late-default/koji\n[stg]\ncert = ~/.koji/stg.pem\n")
	p, err := LoadClientProfile("stg", e.opts())
	if err != nil {
		t.Fatalf("LoadClientProfile(stg) = %v (a bad value in another profile must not matter)", err)
	}
	tests := []struct{ name, got, want string }{
		{"weburl (profile beats a later DEFAULT)", p.WebURL, "https://stg.example.org/koji"},
		{"topdir (DEFAULT)", p.TopDir, "/mnt/default"},
		{"topurl (interpolated)", p.TopURL, "https://stg.example.org/koji/files"},
		{"password (%%)", p.Password, "100%"},
		{"cert (~ expanded)", p.Cert, filepath.Join(e.home, ".koji/stg.pem")},
		{"serverca (no default file)", p.ServerCA, ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	var warns []string
	for _, w := range p.Warnings {
		warns = append(warns, w.Error())
	}
	conf := filepath.Join(e.sys, "koji.conf")
	wantWarns := []string{
		conf + ":10: key no_ssl_verify: stock koji reads this as text",
		conf + ":11: key krb_rdn: unknown key; did you mean krb_rdns?",
		conf + ":12: key ca: obsolete and ignored",
	}
	if len(warns) != len(wantWarns) {
		t.Fatalf("Warnings = %q, want %d", warns, len(wantWarns))
	}
	for i := range warns {
		if !strings.HasPrefix(warns[i], wantWarns[i]) {
			t.Errorf("Warnings[%d] = %q, want prefix %q", i, warns[i], wantWarns[i])
		}
	}

	// The other profile's bad value is an error when that profile is chosen.
	_, err = LoadClientProfile("broken", e.opts())
	checkErr(t, err, conf, []string{`@F:15: key timeout: invalid value "never": want a duration`})
}

func TestClientDefaultCertFiles(t *testing.T) {
	e := newClientEnv(t)
	writeFile(t, e.sys, "koji.conf", "[koji]\n[other]\nserverca =\n")
	crt := writeFile(t, e.home, ".koji/client.crt", "x")
	ca := writeFile(t, e.home, ".koji/serverca.crt", "x")
	p, err := LoadClientProfile("koji", e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if p.Cert != crt || p.ServerCA != ca {
		t.Errorf("cert, serverca = %q, %q; want the files in ~/.koji: %q, %q", p.Cert, p.ServerCA, crt, ca)
	}
	// Set but empty keeps it empty, as in Koji.
	if p, err = LoadClientProfile("other", e.opts()); err != nil || p.ServerCA != "" || p.Cert != crt {
		t.Errorf("other: serverca %q cert %q err %v; want empty serverca, default cert", p.ServerCA, p.Cert, err)
	}
}

func TestClientPkgURL(t *testing.T) {
	tests := []struct {
		body, topurl, warn string
	}{
		{"pkgurl = https://x/packages/\n", "https://x", "obsolete: using topurl = https://x"},
		{"pkgurl = https://x/files\n", "", "obsolete: use topurl instead"},
		{"pkgurl = https://x/packages\ntopurl = https://y\n", "https://y", "obsolete: ignored because topurl is set"},
	}
	for _, tt := range tests {
		e := newClientEnv(t)
		writeFile(t, e.sys, "koji.conf", "[koji]\n"+tt.body)
		p, err := LoadClientProfile("koji", e.opts())
		if err != nil {
			t.Fatal(err)
		}
		if p.TopURL != tt.topurl || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Error(), tt.warn) {
			t.Errorf("%q: topurl %q, warnings %v; want %q and %q", tt.body, p.TopURL, p.Warnings, tt.topurl, tt.warn)
		}
	}
}

func TestClientErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *clientEnv, o *ClientOptions)
		prof  string
		want  []string // "@S" is the sysconfdir, "@H" the home
	}{
		{"no files", func(t *testing.T, e *clientEnv, o *ClientOptions) {}, "koji",
			[]string{"no configuration for profile name: koji (no config files found)"}},
		{"profile missing, suggestion", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[fedora]\n[stream]\n")
		}, "fedor", []string{"no configuration for profile name: fedor; did you mean fedora? (read @S/koji.conf)"}},
		{"profile missing, list", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[fedora]\n[DEFAULT]\n[stream]\n")
		}, "centos", []string{"no configuration for profile name: centos; profiles found: fedora, stream"}},
		{"DEFAULT is not a profile", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[DEFAULT]\n")
		}, "DEFAULT", []string{"DEFAULT is not a profile name"}},
		{"syntax error in any file", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\n")
			writeFile(t, e.home, ".koji/config.d/z.conf", "[other]\nnot a key line\n")
		}, "koji", []string{`@H/.koji/config.d/z.conf:2: line "not a key line" is not a [section]`}},
		{"duplicate key", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\nserver = http://a/\nSERVER = http://b/\n")
		}, "koji", []string{"@S/koji.conf:3: key SERVER: duplicate key: already set on line 2"}},
		{"key outside section", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.home, ".koji/config", "server = http://a/\n[koji]\n")
		}, "koji", []string{"@H/.koji/config:1: key server: key is outside any section"}},
		{"binary file", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.home, ".koji/config", "[koji]\n\x00\x00\x00")
		}, "koji", []string{"@H/.koji/config:2: NUL byte"}},
		{"oversized file", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.home, ".koji/config", "[koji]\n"+strings.Repeat(";", 200))
			o.MaxSize = 100
		}, "koji", []string{"@H/.koji/config: read config @H/.koji/config: file is 207 bytes, over the 100 byte limit"}},
		{"bad int", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\nmax_retries = many\n")
		}, "koji", []string{`@S/koji.conf:2: key max_retries: invalid value "many": want an integer`}},
		{"bad bool", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\nanon_retry = sometimes\n")
		}, "koji", []string{`@S/koji.conf:2: key anon_retry: invalid value "sometimes": want a boolean`}},
		{"bad authtype", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\nauthtype = SSL\n")
		}, "koji", []string{`@S/koji.conf:2: key authtype: invalid value "SSL": want one of noauth, ssl, password, kerberos; did you mean ssl?`}},
		{"bad server", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\nserver = hub.example.org/kojihub\n")
		}, "koji", []string{`@S/koji.conf:2: key server: invalid value "hub.example.org/kojihub": want an http:// or https:// URL`}},
		{"bad server from env", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\n")
			e.env = append(e.env, "KOJI_CLIENT_SERVER=ftp://x/")
		}, "koji", []string{`environment KOJI_CLIENT_SERVER: key server: invalid value "ftp://x/"`}},
		{"unknown env", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\n")
			e.env = append(e.env, "KOJI_CLIENT_SERVR=http://x/")
		}, "koji", []string{`environment KOJI_CLIENT_SERVR: unknown setting; did you mean KOJI_CLIENT_SERVER?`}},
		{"lone percent", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\npassword = 50%off\n")
		}, "koji", []string{`@S/koji.conf:2: key password: lone %`}},
		{"interpolation of unset key", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\ntopurl = %(nope)s/x\n")
		}, "koji", []string{`@S/koji.conf:2: key topurl: %(nope)s refers to a key that is not set`}},
		{"interpolation loop", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\nweburl = %(topurl)s\ntopurl = %(weburl)s\n")
		}, "koji", []string{`@S/koji.conf:2: key weburl: interpolation nested too deeply`}},
		{"bad interpolation", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\nweburl = %(topurl\n")
		}, "koji", []string{`@S/koji.conf:2: key weburl: bad interpolation`}},
		{"ConfigFile missing", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			o.ConfigFile = "~/nope.conf"
		}, "koji", []string{`load koji profile koji: config file @H/nope.conf can't be opened: stat @H/nope.conf: no such file or directory`}},
		{"ConfigFile empty dir", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.home, "d/readme.txt", "")
			o.ConfigFile = filepath.Join(e.home, "d")
		}, "koji", []string{`no config files (*.conf) found in directory @H/d`}},
		{"ConfigFile dir with a bad entry", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			if err := os.MkdirAll(filepath.Join(e.home, "d", "x.conf"), 0o755); err != nil {
				t.Fatal(err)
			}
			o.ConfigFile = filepath.Join(e.home, "d")
		}, "koji", []string{`config file @H/d/x.conf can't be opened`}},
		{"ConfigFile unknown user", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			o.ConfigFile = "~no-such-user-kojiconf/x.conf"
		}, "koji", []string{`expand ~no-such-user-kojiconf/x.conf: user: unknown user no-such-user-kojiconf`}},
		{"config dir is a file", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\n")
			writeFile(t, e.home, ".koji/config.d", "[koji]\nserver = http://x\n") // a file: read as a file, as Koji does
			writeFile(t, e.home, ".koji/config", "[koji]\nbogus\n")
		}, "koji", []string{`@H/.koji/config:2: line "bogus"`}},
		{"read error", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			// Reading /proc/self/mem at offset 0 fails with EIO, even for root.
			if _, err := os.Stat("/proc/self/mem"); err != nil {
				t.Skip("no /proc/self/mem")
			}
			o.ConfigFile = "/proc/self/mem"
		}, "koji", []string{`/proc/self/mem: read config /proc/self/mem: read /proc/self/mem: input/output error`}},
		{"~user unknown in cert", func(t *testing.T, e *clientEnv, o *ClientOptions) {
			writeFile(t, e.sys, "koji.conf", "[koji]\ncert = ~no-such-user-kojiconf/c.pem\n")
		}, "koji", []string{`@S/koji.conf:2: key cert: expand ~no-such-user-kojiconf/c.pem`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newClientEnv(t)
			o := e.opts()
			tt.setup(t, e, &o)
			_, err := LoadClientProfile(tt.prof, o)
			if err == nil {
				t.Fatalf("LoadClientProfile(%q) = nil error, want %q", tt.prof, tt.want)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.NewReplacer("@S", e.sys, "@H", e.home).Replace(w))
			}
			checkErr(t, err, "", want)
		})
	}
}

func TestClientDirInPlaceOfFile(t *testing.T) {
	e := newClientEnv(t)
	writeFile(t, e.sys, "koji.conf", "[koji]\n")
	// A directory where ~/.koji/config is expected: an error, not silence.
	if err := os.MkdirAll(filepath.Join(e.home, ".koji", "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, e.home, ".koji/config/x.conf", "[koji]\nserver = http://fromdir/x\n")
	// Koji treats a directory in a file's place as a config directory; so do we.
	p, err := LoadClientProfile("koji", e.opts())
	if err != nil || p.Server != "http://fromdir/x" {
		t.Fatalf("directory as ~/.koji/config: %v, %v; want it read as a config dir", p, err)
	}
}

func TestClientFileUnreadable(t *testing.T) {
	e := newClientEnv(t)
	writeFile(t, e.sys, "koji.conf", "[koji]\n")
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions do not stop reads (TestClientErrors/read_error covers a failing read)")
	}
	f := writeFile(t, e.home, ".koji/config.d/secret.conf", "[koji]\n")
	if err := os.Chmod(f, 0); err != nil {
		t.Fatal(err)
	}
	_, err := LoadClientProfile("koji", e.opts())
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !errors.As(err, new(Errors)) {
		t.Errorf("unreadable config = %v, want a permission error naming the file", err)
	}
}

func TestClientHome(t *testing.T) {
	e := newClientEnv(t)
	writeFile(t, e.home, ".koji/config", "[koji]\ntopdir = ~/mnt\n")
	o := e.opts()
	p, err := LoadClientProfile("koji", o)
	if err != nil || p.TopDir != filepath.Join(e.home, "mnt") {
		t.Fatalf("HOME from Environ: topdir %v, %v; want %s", p, err, filepath.Join(e.home, "mnt"))
	}
	// Home beats HOME.
	other := t.TempDir()
	writeFile(t, other, ".koji/config", "[koji]\ntopdir = /other\n")
	o.Home = other
	if p, err = LoadClientProfile("koji", o); err != nil || p.TopDir != "/other" {
		t.Errorf("Home option: topdir %v, %v; want /other", p, err)
	}
}

func TestEffectiveAuthType(t *testing.T) {
	cert := writeFile(t, t.TempDir(), "client.crt", "x")
	tests := []struct {
		p    ClientProfile
		want string
	}{
		{ClientProfile{AuthType: "noauth", Cert: cert}, "noauth"},
		{ClientProfile{Cert: cert, User: "u"}, "ssl"},
		{ClientProfile{Cert: cert + ".missing", User: "u"}, "password"},
		{ClientProfile{}, "kerberos"},
		{ClientProfile{AuthType: "password", Cert: cert}, "password"},
	}
	for _, tt := range tests {
		if got := tt.p.EffectiveAuthType(); got != tt.want {
			t.Errorf("EffectiveAuthType(authtype %q cert %q user %q) = %q, want %q", tt.p.AuthType, tt.p.Cert, tt.p.User, got, tt.want)
		}
	}
}

func TestExpandUser(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skipf("no current user: %v", err)
	}
	tests := []struct {
		in, home, want string
		err            bool
	}{
		{"/abs/x", "/h", "/abs/x", false},
		{"rel/x", "/h", "rel/x", false},
		{"~", "/h", "/h", false},
		{"~/", "/h", "/h", false},
		{"~/.koji/client.crt", "/h", "/h/.koji/client.crt", false},
		{"~" + u.Username + "/x", "/h", filepath.Join(u.HomeDir, "x"), false},
		{"~/x", "", "", true},
		{"~no-such-user-kojiconf", "/h", "", true},
	}
	for _, tt := range tests {
		got, err := expandUser(tt.in, tt.home)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("expandUser(%q, %q) = %q, %v; want %q, error %v", tt.in, tt.home, got, err, tt.want, tt.err)
		}
	}
	// Without Home or HOME, the user database gives the home directory.
	if got := clientHome(ClientOptions{Environ: func() []string { return []string{"HOME="} }}); got != u.HomeDir {
		t.Errorf("clientHome without HOME = %q, want %q", got, u.HomeDir)
	}
}
