package kojiconf

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testConf is a daemon config shaped like hub.conf and kojid.conf together.
type testConf struct {
	DBName           string        `ini:"DBName" help:"database name"`
	MaxRequestLength int           `ini:"MaxRequestLength"`
	MaxJobs          int8          `ini:"maxjobs"`
	Workers          uint          `ini:"workers"`
	Debug            bool          `ini:"debug"`
	Capacity         float64       `ini:"capacity"`
	Timeout          time.Duration `ini:"timeout"`
	Renewal          time.Duration `ini:"renewal" unit:"m"`
	MinSpace         ByteSize      `ini:"minspace" unit:"MiB"`
	Chunk            ByteSize      `ini:"chunk"`
	AllowedSCMs      []string      `ini:"allowed_scms"`
	Plugins          string        `ini:"plugins"`
	NotConfig        string
	Skipped          string `ini:"-"`

	validate func(*testConf) error
}

func (c *testConf) Validate() error {
	if c.validate == nil {
		return nil
	}
	return c.validate(c)
}

func defaults() *testConf {
	return &testConf{DBName: "koji", MaxRequestLength: 4194304, MaxJobs: 10, Timeout: time.Minute, MinSpace: 8192 * MiB}
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv() []string { return nil }

func TestLoadValues(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "hub.conf", "\ufeff"+`# comment
; other comment
[DEFAULT]
plugins = from-default

[hub]
dbname = kojidb
MAXREQUESTLENGTH: 100
maxjobs = 7
workers = 3
debug = On
capacity = 2.5
timeout = 90
renewal = 15
minspace = 8G
chunk = 512K
allowed_scms = pkgs.example.org:/*:false:fedpkg,sources
    git.example.org:/rpms/*
    # a comment inside the continuation
	other.example.org:/x:true
extra_spaces   =   value # not a comment
`+"crlf = yes\r\n")
	// extra_spaces and crlf are unknown keys, to check the lines counted after comments,
	// continuations and a byte order mark.
	c := defaults()
	_, err := Load(path, "hub", c, Options{Environ: noEnv})
	if err == nil {
		t.Fatal("Load: want unknown-key errors for extra_spaces and crlf")
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Key != "extra_spaces" || es[0].Line != 21 || es[1].Key != "crlf" || es[1].Line != 22 {
		t.Fatalf("Load errors = %v, want unknown extra_spaces at 21 and crlf at 22", err)
	}

	path = writeFile(t, dir, "hub2.conf", strings.ReplaceAll(strings.ReplaceAll(mustRead(t, path), "extra_spaces   =   value # not a comment\n", ""), "crlf = yes\r\n", ""))
	c = defaults()
	origins, err := Load(path, "hub", c, Options{Environ: noEnv})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &testConf{
		DBName: "kojidb", MaxRequestLength: 100, MaxJobs: 7, Workers: 3, Debug: true, Capacity: 2.5,
		Timeout: 90 * time.Second, Renewal: 15 * time.Minute, MinSpace: 8 * GiB, Chunk: 512 * KiB,
		AllowedSCMs: []string{"pkgs.example.org:/*:false:fedpkg,sources", "git.example.org:/rpms/*", "other.example.org:/x:true"},
		Plugins:     "from-default",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load = %+v\nwant %+v", c, want)
	}
	if got := origins["MaxRequestLength"].String(); got != path+":8" {
		t.Errorf("origin of MaxRequestLength = %q, want %q", got, path+":8")
	}
	if got := origins["plugins"].String(); got != path+":4" {
		t.Errorf("origin of plugins = %q, want %q (from [DEFAULT])", got, path+":4")
	}
	if _, ok := origins["NotConfig"]; ok {
		t.Error("untagged field has an origin")
	}
}

func mustRead(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadHeaderComment(t *testing.T) {
	path := writeFile(t, t.TempDir(), "x.conf", "[hub] ; the hub\n[policy]# rules\n")
	f, err := ParseFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sections) != 2 || f.Sections[0].Name != "hub" || f.Sections[1].Name != "policy" || f.Section("policy").Line != 2 {
		t.Errorf("ParseFile sections = %+v, want hub and policy", f.Sections)
	}
	if f.Section("nope") != nil || f.Section("hub").Key("x") != nil {
		t.Error("lookup of absent section or key returned non-nil")
	}
}

func TestLoadInlineCommentIsValue(t *testing.T) {
	type conf struct {
		Password string `ini:"password"`
	}
	path := writeFile(t, t.TempDir(), "x.conf", "[x]\npassword = a#b ; c\n")
	var c conf
	if _, err := Load(path, "x", &c, Options{Environ: noEnv}); err != nil {
		t.Fatal(err)
	}
	if c.Password != "a#b ; c" {
		t.Errorf("password = %q, want %q (configparser has no inline comments)", c.Password, "a#b ; c")
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		opts    Options
		want    []string // substrings of the error, in order; "@F" stands for the file path
	}{
		{"unknown key with suggestion", "[hub]\nMaxRequestLenght = 5\n", Options{},
			[]string{"@F:2: key MaxRequestLenght: unknown key; did you mean MaxRequestLength?"}},
		{"unknown key case-insensitive suggestion", "[hub]\nminspce = 5\n", Options{},
			[]string{"@F:2: key minspce: unknown key; did you mean minspace?"}},
		{"unknown key without suggestion", "[hub]\ncompletely_else = 5\n", Options{},
			[]string{"@F:2: key completely_else: unknown key"}},
		{"int", "[hub]\nmaxjobs = ten\n", Options{},
			[]string{`@F:2: key maxjobs: invalid value "ten": want an integer`}},
		{"int range", "[hub]\nmaxjobs = 300\n", Options{},
			[]string{`@F:2: key maxjobs: invalid value "300": want an integer between -128 and 127`}},
		{"uint negative", "[hub]\nworkers = -1\n", Options{},
			[]string{`key workers: invalid value "-1": want a non-negative integer`}},
		{"empty int", "[hub]\nMaxRequestLength =\n", Options{},
			[]string{`@F:2: key MaxRequestLength: invalid value "": want an integer`}},
		{"bool", "[hub]\ndebug = maybe\n", Options{},
			[]string{`@F:2: key debug: invalid value "maybe": want a boolean: yes/no, true/false, on/off or 1/0`}},
		{"float", "[hub]\ncapacity = 2,5\n", Options{},
			[]string{`@F:2: key capacity: invalid value "2,5": want a number`}},
		{"duration", "[hub]\ntimeout = soon\n", Options{},
			[]string{`@F:2: key timeout: invalid value "soon": want a duration such as 90s, 15m or 2h, or a number of seconds`}},
		{"duration unit", "[hub]\nrenewal = 1x\n", Options{},
			[]string{`number of minutes`}},
		{"size", "[hub]\nminspace = 8X\n", Options{},
			[]string{`@F:2: key minspace: invalid value "8X": want a size such as 8G, 512MiB or 100K, or a number of MiB`}},
		{"size negative", "[hub]\nchunk = -5\n", Options{},
			[]string{`key chunk: invalid value "-5": want a size such as 8G, 512MiB or 100K, or a number of bytes`}},
		{"duplicate key", "[hub]\ndebug = 1\n\nDEBUG = 0\n", Options{},
			[]string{"@F:4: key DEBUG: duplicate key: already set on line 2 of section [hub]"}},
		{"duplicate section", "[hub]\ndebug = 1\n[hub]\nworkers = 2\n", Options{},
			[]string{"@F:3: section [hub] repeats the one on line 1"}},
		{"key outside a section", "debug = 1\n[hub]\n", Options{},
			[]string{"@F:1: key debug: key is outside any section: put a [section] header above it"}},
		{"line without delimiter", "[hub]\njunk line here\n", Options{},
			[]string{`@F:2: line "junk line here" is not a [section], key = value or comment`}},
		{"empty key name", "[hub]\n= 5\n", Options{},
			[]string{`@F:2: line "= 5" has no key name`}},
		{"malformed header", "[hub\ndebug = 1\n", Options{},
			[]string{`@F:1: malformed section header "[hub": want [name]`}},
		{"header with trailing text", "[hub] extra\ndebug = 1\n", Options{},
			[]string{`@F:1: malformed section header "[hub] extra": want [name]`}},
		{"empty header", "[]\n", Options{},
			[]string{`@F:1: malformed section header "[]"`}},
		{"missing section", "[other]\ndebug = 1\n", Options{OtherSections: []string{"other"}},
			[]string{"@F: no [hub] section"}},
		{"misnamed section", "[hubb]\ndebug = 1\n", Options{},
			[]string{"@F:1: unknown section [hubb]; did you mean [hub]?"}},
		{"unknown extra section", "[hub]\n[policy]\n", Options{},
			[]string{"@F:2: unknown section [policy]"}},
		{"binary garbage", "[hub]\nx = \x00\x01\x02", Options{},
			[]string{"@F:2: NUL byte: this is not a text config file"}},
		{"invalid utf-8", "[hub]\n\n\xff\xfe = 1\n", Options{},
			[]string{"@F:3: invalid UTF-8: this is not a text config file"}},
		{"oversized", "[hub]\n" + strings.Repeat("# padding\n", 20), Options{MaxSize: 100},
			[]string{"@F: read config @F: file is 206 bytes, over the 100 byte limit for config files"}},
		{"several errors sorted", "[hub]\ndebug = x\nworkers = y\nnope = 1\n", Options{},
			[]string{"@F:2: key debug", "@F:3: key workers", "@F:4: key nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "hub.conf", tt.content)
			opts := tt.opts
			opts.Environ = noEnv
			c := defaults()
			before := *c
			_, err := Load(path, "hub", c, opts)
			checkErr(t, err, path, tt.want)
			if !errors.As(err, new(Errors)) {
				t.Errorf("Load error is %T, want Errors", err)
			}
			if !reflect.DeepEqual(*c, before) {
				t.Errorf("failed Load changed dst: %+v, was %+v", *c, before)
			}
		})
	}
}

func checkErr(t testing.TB, err error, path string, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want %q", want)
	}
	msg := err.Error()
	rest := msg
	for _, w := range want {
		w = strings.ReplaceAll(w, "@F", path)
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("error =\n%s\nwant it to contain (in order) %q", msg, w)
		}
		rest = rest[i+len(w):]
	}
}

func TestLoadFileProblems(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.conf")

	t.Run("missing required", func(t *testing.T) {
		_, err := Load(missing, "hub", defaults(), Options{Environ: noEnv})
		checkErr(t, err, missing, []string{"@F: read config: stat @F: no such file or directory"})
	})
	t.Run("missing optional", func(t *testing.T) {
		c := defaults()
		if _, err := Load(missing, "hub", c, Options{Optional: true, Environ: func() []string { return []string{"KOJI_HUB_DBNAME=fromenv"} }}); err != nil {
			t.Fatalf("Load optional missing = %v", err)
		}
		if c.DBName != "fromenv" {
			t.Errorf("DBName = %q, want environment to apply without a file", c.DBName)
		}
	})
	t.Run("directory", func(t *testing.T) {
		_, err := Load(dir, "hub", defaults(), Options{Environ: noEnv, Optional: true})
		checkErr(t, err, dir, []string{"@F: read config @F: is a directory, want a config file"})
	})
	t.Run("not regular", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		_, err := Load("/dev/zero", "hub", defaults(), Options{Environ: noEnv})
		checkErr(t, err, "/dev/zero", []string{"is not a regular file"})
	})
	t.Run("unreadable permissions", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: permissions do not stop reads (see the read-error case)")
		}
		p := writeFile(t, dir, "secret.conf", "[hub]\n")
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p, "hub", defaults(), Options{Environ: noEnv})
		checkErr(t, err, p, []string{"permission denied"})
	})
	t.Run("read error", func(t *testing.T) {
		// Reading /proc/self/mem at offset 0 fails with EIO even for root.
		const p = "/proc/self/mem"
		if _, err := os.Stat(p); err != nil {
			t.Skip("no /proc/self/mem")
		}
		_, err := Load(p, "hub", defaults(), Options{Environ: noEnv})
		checkErr(t, err, p, []string{"read config @F: read @F: input/output error"})
	})
	t.Run("default cap", func(t *testing.T) {
		p := writeFile(t, dir, "big.conf", "[hub]\n"+strings.Repeat("#", DefaultMaxSize))
		_, err := Load(p, "hub", defaults(), Options{Environ: noEnv})
		checkErr(t, err, p, []string{"over the 1048576 byte limit"})
	})
}

func TestLoadPrecedence(t *testing.T) {
	path := writeFile(t, t.TempDir(), "kojid.conf", "[kojid]\nmaxjobs = 2\nworkers = 2\ndebug = yes\ntimeout = 2\n")
	env := []string{"KOJI_KOJID_WORKERS=3", "KOJI_KOJID_DEBUG=no", "KOJI_KOJID_TIMEOUT=3", "KOJI_OTHER_X=1", "PATH=/bin"}
	fs := flag.NewFlagSet("kojid", flag.ContinueOnError)
	fs.Duration("timeout", 0, "")
	fs.String("config", "", "")
	fs.Int("max-request-length", 0, "")
	if err := fs.Parse([]string{"--timeout=4s", "--config=/x", "--max-request-length=9"}); err != nil {
		t.Fatal(err)
	}
	// max-request-length does not match MaxRequestLength ("-" is "_"), so it is ignored.
	c := defaults()
	origins, err := Load(path, "kojid", c, Options{Environ: func() []string { return env }, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key    string
		got    any
		want   any
		origin string
	}{
		{"DBName", c.DBName, "koji", "default"},
		{"maxjobs", c.MaxJobs, int8(2), path + ":2"},
		{"workers", c.Workers, uint(3), "environment KOJI_KOJID_WORKERS"},
		{"debug", c.Debug, false, "environment KOJI_KOJID_DEBUG"},
		{"timeout", c.Timeout, 4 * time.Second, "flag --timeout"},
		{"MaxRequestLength", c.MaxRequestLength, 4194304, "default"},
	}
	for _, tt := range tests {
		if tt.got != tt.want || origins[tt.key].String() != tt.origin {
			t.Errorf("%s = %v from %s, want %v from %s", tt.key, tt.got, origins[tt.key], tt.want, tt.origin)
		}
	}
}

func TestLoadEnvAndFlagErrors(t *testing.T) {
	path := writeFile(t, t.TempDir(), "kojid.conf", "[kojid]\n")
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"unknown env with suggestion", []string{"KOJI_KOJID_MAXJOB=1"}, nil,
			[]string{"environment KOJI_KOJID_MAXJOB: unknown setting; did you mean KOJI_KOJID_MAXJOBS?"}},
		{"unknown env", []string{"KOJI_KOJID_ZZZZZZZZ=1"}, nil,
			[]string{"environment KOJI_KOJID_ZZZZZZZZ: unknown setting"}},
		{"bad env value", []string{"KOJI_KOJID_MINSPACE=lots"}, nil,
			[]string{`environment KOJI_KOJID_MINSPACE: key minspace: invalid value "lots": want a size`}},
		{"bad flag value", nil, []string{"--minspace=lots"},
			[]string{`flag --minspace: key minspace: invalid value "lots": want a size`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("kojid", flag.ContinueOnError)
			fs.String("minspace", "", "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, "kojid", defaults(), Options{Environ: func() []string { return tt.env }, Flags: fs})
			checkErr(t, err, path, tt.want)
		})
	}
}

func TestLoadEnvPrefix(t *testing.T) {
	c := defaults()
	_, err := Load("", "hub", c, Options{EnvPrefix: "X_", Environ: func() []string { return []string{"X_DBNAME=a", "KOJI_HUB_DBNAME=b"} }})
	if err != nil || c.DBName != "a" {
		t.Errorf("Load with EnvPrefix X_ = %q, %v; want DBName a", c.DBName, err)
	}
}

func TestLoadValidate(t *testing.T) {
	path := writeFile(t, t.TempDir(), "kojid.conf", "[kojid]\nmaxjobs = 0\nworkers = 1\n")
	tests := []struct {
		name     string
		env      []string
		validate func(*testConf) error
		want     string
	}{
		{"located in file", nil, func(c *testConf) error {
			return &Error{Key: "maxjobs", Msg: "must be at least 1"}
		}, "@F:2: key maxjobs: must be at least 1"},
		{"joined, located", nil, func(c *testConf) error {
			return errors.Join(&Error{Key: "workers", Msg: "w"}, &Error{Key: "MAXJOBS", Msg: "m"})
		}, "@F:2: key MAXJOBS: m\n@F:3: key workers: w"},
		{"Errors, located in env", []string{"KOJI_KOJID_WORKERS=5"}, func(c *testConf) error {
			return Errors{{Key: "workers", Msg: "too many"}}
		}, "environment KOJI_KOJID_WORKERS: key workers: too many"},
		{"default value", nil, func(c *testConf) error {
			return &Error{Key: "DBName", Msg: "bad"}
		}, "key DBName: bad"},
		{"plain error", nil, func(c *testConf) error {
			return errors.New("no good")
		}, "config: no good"},
		{"wrapped Error", nil, func(c *testConf) error {
			return fmt.Errorf("check: %w", &Error{Key: "maxjobs", Msg: "m"})
		}, "config: check: key maxjobs: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults()
			c.validate = tt.validate
			_, err := Load(path, "kojid", c, Options{Environ: func() []string { return tt.env }})
			if err == nil {
				t.Fatal("Load = nil, want the Validate error")
			}
			if c.MaxJobs != 10 {
				t.Errorf("Load failing in Validate changed maxjobs to %d", c.MaxJobs)
			}
			if want := strings.ReplaceAll(tt.want, "@F", path); err.Error() != want {
				t.Errorf("Load = %q, want %q", err, want)
			}
		})
	}
	t.Run("not run after errors", func(t *testing.T) {
		bad := writeFile(t, t.TempDir(), "kojid.conf", "[kojid]\nmaxjobs = x\n")
		c := defaults()
		ran := false
		c.validate = func(*testConf) error { ran = true; return nil }
		if _, err := Load(bad, "kojid", c, Options{Environ: noEnv}); err == nil || ran {
			t.Errorf("Load = %v, Validate ran = %v; want error and no Validate", err, ran)
		}
	})
}

func TestLoadMisuse(t *testing.T) {
	type badType struct {
		M map[string]string `ini:"m"`
	}
	type badUnit struct {
		D time.Duration `ini:"d" unit:"fortnight"`
	}
	type unitOnInt struct {
		N int `ini:"n" unit:"MiB"`
	}
	type collide struct {
		A string `ini:"max-jobs"`
		B string `ini:"max_jobs"`
	}
	type collideCase struct {
		A string `ini:"Debug"`
		B string `ini:"debug"`
	}
	type unexported struct {
		a string `ini:"a"`
	}
	type emptyTag struct {
		A string `ini:""`
	}
	var s testConf
	tests := []struct {
		name string
		dst  any
		want string
	}{
		{"nil", nil, "want a non-nil pointer to a struct, got <nil>"},
		{"struct value", s, "got kojiconf.testConf"},
		{"nil pointer", (*testConf)(nil), "got *kojiconf.testConf"},
		{"pointer to int", new(int), "got *int"},
		{"map field", &badType{}, "unsupported type map[string]string"},
		{"bad unit", &badUnit{}, `unknown duration unit "fortnight"`},
		{"unit on int", &unitOnInt{}, "unit tag only applies"},
		{"env collision", &collide{}, `keys "max-jobs" and "max_jobs" collide`},
		{"case collision", &collideCase{}, `keys "Debug" and "debug" collide`},
		{"unexported", &unexported{}, "needs an exported field"},
		{"empty tag", &emptyTag{}, "needs an exported field and a key name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", "x", tt.dst, Options{Environ: noEnv})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%T) = %v, want %q", tt.dst, err, tt.want)
			}
			if _, err := Keys(tt.dst, "x"); err == nil {
				t.Errorf("Keys(%T) = nil error", tt.dst)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	c := defaults()
	c.AllowedSCMs = []string{"a", "b"}
	docs, err := Keys(c, "hub")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 12 {
		t.Fatalf("Keys returned %d keys, want 12", len(docs))
	}
	tests := []KeyDoc{
		{Name: "DBName", Type: "string", Default: "koji", Help: "database name", Env: "KOJI_HUB_DBNAME"},
		{Name: "maxjobs", Type: "integer", Default: "10", Env: "KOJI_HUB_MAXJOBS"},
		{Name: "minspace", Type: "size", Default: "8GiB", Env: "KOJI_HUB_MINSPACE"},
		{Name: "timeout", Type: "duration", Default: "1m0s", Env: "KOJI_HUB_TIMEOUT"},
		{Name: "allowed_scms", Type: "list", Default: "a b", Env: "KOJI_HUB_ALLOWED_SCMS"},
		{Name: "debug", Type: "boolean", Default: "false", Env: "KOJI_HUB_DEBUG"},
	}
	for _, want := range tests {
		found := false
		for _, d := range docs {
			if d.Name == want.Name {
				found = true
				if d != want {
					t.Errorf("Keys: %+v, want %+v", d, want)
				}
			}
		}
		if !found {
			t.Errorf("Keys: no %s", want.Name)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		unit ByteSize
		want ByteSize
		err  bool
	}{
		{"8G", 1, 8 * GiB, false},
		{"8GiB", 1, 8 * GiB, false},
		{"8 gb", 1, 8 * GiB, false},
		{"8192", MiB, 8 * GiB, false},
		{"100", 1, 100, false},
		{"100B", MiB, 100, false},
		{"1.5K", 1, 1536, false},
		{"2T", 1, 2 * TiB, false},
		{"0", MiB, 0, false},
		{"", 1, 0, true},
		{"G", 1, 0, true},
		{"-1", 1, 0, true},
		{"8X", 1, 0, true},
		{"1.2.3M", 1, 0, true},
		{"9999999999T", 1, 0, true},
		{"99999999999999999999", 1, 0, true},
		{"1e400", 1, 0, true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in, tt.unit)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseByteSize(%q, %d) = %d, %v; want %d, error %v", tt.in, tt.unit, got, err, tt.want, tt.err)
		}
	}
	for _, tt := range []struct {
		in   ByteSize
		want string
	}{{8 * GiB, "8GiB"}, {1536 * KiB, "1536KiB"}, {100, "100B"}, {0, "0B"}, {3 * TiB, "3TiB"}} {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		unit time.Duration
		want time.Duration
		err  bool
	}{
		{"90", time.Second, 90 * time.Second, false},
		{"90s", time.Minute, 90 * time.Second, false},
		{"1h30m", time.Second, 90 * time.Minute, false},
		{"1.5", time.Minute, 90 * time.Second, false},
		{"15", time.Minute, 15 * time.Minute, false},
		{"", time.Second, 0, true},
		{"soon", time.Second, 0, true},
		{"99999999999999", time.Hour, 0, true},
		{"NaN", time.Second, 0, true},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in, tt.unit)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseDuration(%q, %v) = %v, %v; want %v, error %v", tt.in, tt.unit, got, err, tt.want, tt.err)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, s := range []string{"1", "yes", "YES", "true", "True", "on", " On "} {
		if v, err := ParseBool(s); err != nil || !v {
			t.Errorf("ParseBool(%q) = %v, %v; want true", s, v, err)
		}
	}
	for _, s := range []string{"0", "no", "false", "FALSE", "off"} {
		if v, err := ParseBool(s); err != nil || v {
			t.Errorf("ParseBool(%q) = %v, %v; want false", s, v, err)
		}
	}
	for _, s := range []string{"", "2", "y", "n", "enabled", "nope"} {
		if _, err := ParseBool(s); err == nil {
			t.Errorf("ParseBool(%q) = nil error, want error", s)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"MaxRequestLength", "minspace", "maxjobs", "DBName", "user", "KojiDir"}
	tests := []struct{ in, want string }{
		{"MaxRequestLenght", "MaxRequestLength"}, // transposition
		{"maxrequestlength", "MaxRequestLength"},
		{"minspce", "minspace"},
		{"max_jobs", "maxjobs"},
		{"usr", "user"},
		{"dbnmae", "DBName"},
		{"kojidr", "KojiDir"},
		{"xyz", ""},
		{"completely_different", ""},
		{"u", ""},
		{strings.Repeat("a", 1000), ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, keys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorsAs(t *testing.T) {
	long := strings.Repeat("x", 100)
	path := writeFile(t, t.TempDir(), "hub.conf", "[hub]\ndebug = "+long+"\nworkers = "+long+"\n")
	_, err := Load(path, "hub", defaults(), Options{Environ: noEnv})
	var e *Error
	if !errors.As(err, &e) || e.Key != "debug" || e.Line != 2 || e.File != path {
		t.Fatalf("errors.As(%v) = %+v, want the debug error at line 2", err, e)
	}
	if strings.Contains(err.Error(), long) || !strings.Contains(err.Error(), `"`+long[:57]+`..."`) {
		t.Errorf("long value not clipped in %q", err)
	}
}
