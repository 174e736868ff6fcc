package mockcfg

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Defaults of Options, Koji's.
const (
	DefaultMockDir         = "/var/lib/mock"
	DefaultTopDir          = "/mnt/koji"
	DefaultInstallGroup    = "build"
	DefaultRPMBuildTimeout = 86400
	DefaultMockHost        = "koji-linux-gnu"
	DefaultConfigDir       = "/etc/mock/koji"
	DefaultMockPath        = "/usr/bin/mock"
)

// Options describe one buildroot. Zero values are the documented defaults.
type Options struct {
	// Name is the buildroot name, "<tag>-<buildroot id>-<repo id>"; it
	// becomes mock's root and the config file name. Required.
	Name string
	// Arch is the buildroot arch (the repo subdirectory). Required.
	Arch string
	// TargetArch is mock's target_arch. "": Arch.
	TargetArch string

	BuildrootID int64  // required, > 0
	RepoID      int64  // required, > 0
	TagName     string // required

	// TopURLs are kojid's topurl values: the repo is fetched over HTTP
	// from the first (the others are mirrors). Empty: file:// under TopDir.
	TopURLs []string
	// TopDir is the hub's topdir as mounted here. "": DefaultTopDir.
	TopDir string
	// MockDir is mock's basedir. "": DefaultMockDir.
	MockDir string

	// InstallGroup is the comps group installed in the chroot. "": build
	// (srpm-build for SRPM tasks).
	InstallGroup string
	// UseHostResolv gives the chroot the host's DNS and network
	// (buildSRPMFromSCM needs it; binary builds do not get it).
	UseHostResolv bool
	// HostsFile is /etc/hosts content copied in with UseHostResolv.
	HostsFile string
	// RPMBuildTimeout in seconds. 0: DefaultRPMBuildTimeout.
	RPMBuildTimeout int

	PackageManager string // tag extra mock.package_manager; "" leaves mock's default
	BootstrapImage string // tag extra mock.bootstrap_image, when kojid.conf allows it
	UseBootstrap   *bool  // tag extra mock.use_bootstrap; nil leaves mock's default
	YumProxy       string // kojid.conf yum_proxy
	ModuleHotfixes bool   // tag extra mock.yum.module_hotfixes
	YumBest        *bool  // tag extra mock.yum.best

	Vendor       string // "": Koji
	Packager     string // "": Koji
	Distribution string // "": Unknown
	MockHost     string // "": DefaultMockHost

	// TagMacros are rpm.macro.* tag extras (keys with their leading %);
	// they may override vendor, packager and distribution, not _topdir
	// or _host.
	TagMacros map[string]string
	// TagEnv are rpm.env.* tag extras.
	TagEnv map[string]string
}

var (
	// nameRE keeps buildroot names to what is safe in a file name.
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
	archRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// macroRE is an rpm macro name with its %.
	macroRE = regexp.MustCompile(`^%[A-Za-z_][A-Za-z0-9_]*$`)
	envRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks the options Generate needs.
func (o Options) Validate() error {
	var errs []error
	if !nameRE.MatchString(o.Name) || len(o.Name) > 200 {
		errs = append(errs, fmt.Errorf("buildroot name %q: letters, digits and ._+- only", o.Name))
	}
	if !archRE.MatchString(o.Arch) {
		errs = append(errs, fmt.Errorf("arch %q is not an arch", o.Arch))
	}
	if o.TargetArch != "" && !archRE.MatchString(o.TargetArch) {
		errs = append(errs, fmt.Errorf("target arch %q is not an arch", o.TargetArch))
	}
	if o.BuildrootID <= 0 {
		errs = append(errs, fmt.Errorf("buildroot id %d: must be positive", o.BuildrootID))
	}
	if o.RepoID <= 0 {
		errs = append(errs, fmt.Errorf("repo id %d: must be positive", o.RepoID))
	}
	if o.TagName == "" || strings.ContainsAny(o.TagName, "/\n\x00") || o.TagName == "." || o.TagName == ".." {
		errs = append(errs, fmt.Errorf("tag name %q: not usable in a repo path", o.TagName))
	}
	for _, u := range o.TopURLs {
		if strings.ContainsAny(u, " \n\t\x00") || u == "" {
			errs = append(errs, fmt.Errorf("topurl %q: contains white space", u))
		}
	}
	for k := range o.TagMacros {
		if !macroRE.MatchString(k) {
			errs = append(errs, fmt.Errorf("macro name %q: want %%name", k))
		}
	}
	for k := range o.TagEnv {
		if !envRE.MatchString(k) {
			errs = append(errs, fmt.Errorf("environment variable name %q", k))
		}
	}
	if o.RPMBuildTimeout < 0 {
		errs = append(errs, fmt.Errorf("rpmbuild timeout %d: must not be negative", o.RPMBuildTimeout))
	}
	return errors.Join(errs...)
}

// RepoURLs returns the URLs of the buildroot's repo, as genMockConfig
// computes them: <topurl>/repos/<tag>/<repo id>/<arch>, or file://<topdir>/...
func (o Options) RepoURLs() []string {
	rel := fmt.Sprintf("repos/%s/%d/%s", o.TagName, o.RepoID, o.Arch)
	if len(o.TopURLs) == 0 {
		top := o.TopDir
		if top == "" {
			top = DefaultTopDir
		}
		return []string{"file://" + path.Join(top, rel)}
	}
	out := make([]string, 0, len(o.TopURLs))
	for _, u := range o.TopURLs {
		out = append(out, strings.TrimRight(u, "/")+"/"+rel)
	}
	return out
}

type kv struct {
	key string
	val any
}

// Generate returns the mock config for o, in Koji's layout (a Python file
// of config_opts assignments, keys sorted).
func Generate(o Options) (string, error) {
	if err := o.Validate(); err != nil {
		return "", fmt.Errorf("generate mock config: %w", err)
	}
	mockdir := o.MockDir
	if mockdir == "" {
		mockdir = DefaultMockDir
	}
	target := o.TargetArch
	if target == "" {
		target = o.Arch
	}
	group := o.InstallGroup
	if group == "" {
		group = DefaultInstallGroup
	}
	timeout := o.RPMBuildTimeout
	if timeout == 0 {
		timeout = DefaultRPMBuildTimeout
	}
	urls := o.RepoURLs()

	opts := map[string]any{
		"root":                o.Name,
		"basedir":             mockdir,
		"target_arch":         target,
		"chroothome":          "/builddir",
		"chroot_setup_cmd":    "install @" + group,
		"rpmbuild_networking": o.UseHostResolv,
		"use_host_resolv":     o.UseHostResolv,
		"rpmbuild_timeout":    timeout,
		"dnf_warning":         false,
	}
	if o.PackageManager != "" {
		opts["package_manager"] = o.PackageManager
	}
	if o.BootstrapImage != "" {
		opts["use_bootstrap_image"] = true
		opts["bootstrap_image"] = o.BootstrapImage
	}
	if o.UseBootstrap != nil {
		opts["use_bootstrap"] = *o.UseBootstrap
	}

	var yc strings.Builder
	yc.WriteString("[main]\n")
	if o.YumProxy != "" {
		yc.WriteString("proxy=" + o.YumProxy + "\n")
	}
	yc.WriteString("cachedir=/var/cache/yum\ndebuglevel=1\nlogfile=/var/log/yum.log\nreposdir=/dev/null\n" +
		"retries=20\nobsoletes=1\ngpgcheck=0\nassumeyes=1\nkeepcache=1\ninstall_weak_deps=0\nstrict=1\n\n" +
		"# repos\n\n[build]\nname=build\n")
	yc.WriteString("baseurl=" + urls[0] + "\n")
	for _, u := range urls[1:] {
		yc.WriteString("        " + u + "\n")
	}
	if o.ModuleHotfixes {
		yc.WriteString("module_hotfixes=1\n")
	}
	if o.YumBest != nil {
		best := 0
		if *o.YumBest {
			best = 1
		}
		yc.WriteString("best=" + strconv.Itoa(best) + "\n")
	}
	opts["yum.conf"] = yc.String()

	plugins := map[string]any{"ccache_enable": false, "yum_cache_enable": false, "root_cache_enable": false}

	macros := map[string]any{
		"%_rpmfilename": "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
		"%vendor":       def(o.Vendor, "Koji"),
		"%packager":     def(o.Packager, "Koji"),
		"%distribution": def(o.Distribution, "Unknown"),
	}
	for k, v := range o.TagMacros {
		macros[k] = v
	}
	macros["%_topdir"] = "/builddir/build"
	macros["%_host_cpu"] = target
	macros["%_host"] = target + "-" + def(o.MockHost, DefaultMockHost)

	var b strings.Builder
	b.WriteString("# Auto-generated by the Koji build system\n")
	fmt.Fprintf(&b, "\n# Koji buildroot id: %d\n# Koji buildroot name: %s\n# Koji repo id: %d\n# Koji tag: %s\n",
		o.BuildrootID, o.Name, o.RepoID, oneLine(o.TagName))
	b.WriteString("\n")
	for _, e := range sorted(opts) {
		fmt.Fprintf(&b, "config_opts[%s] = %s\n", PyRepr(e.key), PyRepr(e.val))
	}
	b.WriteString("\n")
	for _, e := range sorted(plugins) {
		fmt.Fprintf(&b, "config_opts['plugin_conf'][%s] = %s\n", PyRepr(e.key), PyRepr(e.val))
	}
	b.WriteString("\n")
	for _, e := range sorted(macros) {
		fmt.Fprintf(&b, "config_opts['macros'][%s] = %s\n", PyRepr(e.key), PyRepr(e.val))
	}
	b.WriteString("\n")
	if len(o.TagEnv) > 0 {
		env := map[string]any{}
		for k, v := range o.TagEnv {
			env[k] = v
		}
		for _, e := range sorted(env) {
			fmt.Fprintf(&b, "config_opts['environment'][%s] = %s\n", PyRepr(e.key), PyRepr(e.val))
		}
		b.WriteString("\n")
	}
	if o.UseHostResolv && o.HostsFile != "" {
		fmt.Fprintf(&b, "config_opts['files'][%s] = %s\n", PyRepr("etc/hosts"), PyRepr(o.HostsFile))
	}
	return b.String(), nil
}

func def(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// oneLine keeps a value on its comment line.
func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

func sorted(m map[string]any) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// PyRepr writes v as Python 3's repr() does, for the types a mock config
// holds: str, bool, int. Strings are quoted the way Python picks quotes, so
// no value can break out of its literal.
func PyRepr(v any) string {
	switch x := v.(type) {
	case string:
		return pyStr(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	panic(fmt.Sprintf("mockcfg: no repr for %T", v))
}

func pyStr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Python str has no invalid UTF-8; surrogateescape-like escape.
			fmt.Fprintf(&b, `\udc%02x`, s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x80:
			b.WriteRune(r)
		case !unicode.IsPrint(r):
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// ConfigPath returns where kojid writes the config of buildroot name, and
// the -r argument mock takes for it ("koji/<name>").
func ConfigPath(configDir, name string) (file, root string) {
	if configDir == "" {
		configDir = DefaultConfigDir
	}
	return path.Join(configDir, name+".cfg"), "koji/" + name
}

// Cmd describes how mock is run for a buildroot.
type Cmd struct {
	MockPath string // "": DefaultMockPath
	Root     string // -r argument, from ConfigPath
	// NewChroot is the tag extra mock.new_chroot: true adds --new-chroot,
	// false --old-chroot, nil neither (mock's default).
	NewChroot *bool
	// BootstrapImageReady adds --bootstrap-image-ready to --init.
	BootstrapImageReady bool
}

func (c Cmd) base() []string {
	p := c.MockPath
	if p == "" {
		p = DefaultMockPath
	}
	args := []string{p, "-r", c.Root}
	if c.NewChroot != nil {
		if *c.NewChroot {
			args = append(args, "--new-chroot")
		} else {
			args = append(args, "--old-chroot")
		}
	}
	return args
}

// Init is the command that creates the buildroot.
func (c Cmd) Init() []string {
	args := c.base()
	if c.BootstrapImageReady {
		args = append(args, "--bootstrap-image-ready")
	}
	return append(args, "--init")
}

// Rebuild builds binary packages of srpm for arch in the initialized root.
func (c Cmd) Rebuild(arch, srpm string) []string {
	return append(c.base(), "--no-clean", "--target", arch, "--rebuild", srpm)
}

// BuildSRPM builds a source package from spec and its sources directory.
func (c Cmd) BuildSRPM(spec, sources string) []string {
	return append(c.base(), "--no-clean", "--buildsrpm", "--spec", spec, "--sources", sources, "--target", "noarch")
}

// ResultDir is where mock leaves results and logs of buildroot name.
func ResultDir(mockDir, name string) string {
	if mockDir == "" {
		mockDir = DefaultMockDir
	}
	return path.Join(mockDir, name, "result")
}
