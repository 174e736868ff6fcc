package kojiconf_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kojigo/internal/kojiconf"
)

// BuilderConfig is how a daemon declares its config: Koji's key names in
// `ini` tags, defaults set before Load, checks in Validate.
type BuilderConfig struct {
	Server   string            `ini:"server" help:"URL of the hub"`
	MaxJobs  int               `ini:"maxjobs" help:"most tasks run at once"`
	MinSpace kojiconf.ByteSize `ini:"minspace" unit:"MiB" help:"free space needed in workdir to take a task"`
}

func (c *BuilderConfig) Validate() error {
	if c.MaxJobs < 1 {
		return &kojiconf.Error{Key: "maxjobs", Msg: "must be at least 1"}
	}
	return nil
}

func ExampleLoad() {
	dir, err := os.MkdirTemp("", "kojiconf-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "kojid.conf")
	show := func(err error) { fmt.Println(strings.ReplaceAll(err.Error(), dir, "/etc/kojid")) }
	noEnv := kojiconf.Options{Environ: func() []string { return nil }}

	os.WriteFile(path, []byte("[kojid]\nserver = https://hub/kojihub\nminspce = 8G\nmaxjobs = ten\n"), 0o644)
	cfg := BuilderConfig{MaxJobs: 10, MinSpace: 8192 * kojiconf.MiB}
	_, err = kojiconf.Load(path, "kojid", &cfg, noEnv)
	show(err)

	os.WriteFile(path, []byte("[kojid]\nserver = https://hub/kojihub\nminspace = 4G\nmaxjobs = 0\n"), 0o644)
	_, err = kojiconf.Load(path, "kojid", &cfg, noEnv)
	show(err)

	os.WriteFile(path, []byte("[kojid]\nminspace = 4G\n"), 0o644)
	origins, err := kojiconf.Load(path, "kojid", &cfg, kojiconf.Options{
		Environ: func() []string { return []string{"KOJI_KOJID_MAXJOBS=4"} },
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.MinSpace, "from", strings.ReplaceAll(origins["minspace"].String(), dir, "/etc/kojid"))
	fmt.Println(cfg.MaxJobs, "from", origins["maxjobs"])
	// Output:
	// /etc/kojid/kojid.conf:3: key minspce: unknown key; did you mean minspace?
	// /etc/kojid/kojid.conf:4: key maxjobs: invalid value "ten": want an integer
	// /etc/kojid/kojid.conf:4: key maxjobs: must be at least 1
	// 4GiB from /etc/kojid/kojid.conf:2
	// 4 from environment KOJI_KOJID_MAXJOBS
}

func ExampleKeys() {
	cfg := BuilderConfig{MaxJobs: 10, MinSpace: 8192 * kojiconf.MiB}
	docs, err := kojiconf.Keys(&cfg, "kojid")
	if err != nil {
		panic(err)
	}
	for _, d := range docs {
		fmt.Printf("%-9s %-8s default %-6q env %-19s %s\n", d.Name, d.Type, d.Default, d.Env, d.Help)
	}
	// Output:
	// server    string   default ""     env KOJI_KOJID_SERVER   URL of the hub
	// maxjobs   integer  default "10"   env KOJI_KOJID_MAXJOBS  most tasks run at once
	// minspace  size     default "8GiB" env KOJI_KOJID_MINSPACE free space needed in workdir to take a task
}
