package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"kojigo/internal/version"
)

// Env is what a subcommand may touch: its arguments and the standard streams.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is the one visible list of kojictl's subcommands.
func commands() []command {
	return []command{
		{"migrate", "apply database migrations: migrate --db DSN", runMigrate},
		{"user", "manage users directly in the database: user add NAME [--perm P ...] --db DSN", runUser},
		{"build", "build a package: build TARGET SRPM|SCMURL [--scratch] [--nowait]", runBuild},
		{"watch-task", "follow tasks and their children until they finish: watch-task TASK...", runWatchTask},
		{"watch-logs", "print a task's logs; -f follows them live: watch-logs [-f] TASK...", runWatchLogs},
		{"list-hosts", "list builders: ready, enabled, load, last check-in (--health: disk, why not ready)", runListHosts},
		{"list-tasks", "list queued and running tasks: list-tasks [--mine] [--host H] [--method M]", runListTasks},
		{"taskinfo", "show a task: taskinfo [-v] [-r] TASK...", runTaskinfo},
		{"enable-host", "enable builders: enable-host [--comment C] HOST...", runEnableHost},
		{"disable-host", "disable builders: disable-host [--comment C] HOST...", runDisableHost},
		{"cancel", "cancel tasks or builds: cancel [--full] TASK|NVR...", runCancel},
		{"add-tag", "create a tag: add-tag NAME [--parent P] [--arches \"A B\"]", runAddTag},
		{"add-target", "create a build target: add-target NAME BUILD_TAG [DEST_TAG]", runAddTarget},
		{"add-pkg", "add packages to a tag's package list: add-pkg TAG PKG... --owner USER", runAddPkg},
		{"list-tagged", "list the builds (or --rpms) in a tag: list-tagged TAG [PKG] [--latest]", runListTagged},
		{"import-comps", "import a comps.xml's groups and packages into a tag: import-comps FILE TAG [--force]", runImportComps},
		{"regen-repo", "ask for a current repo of a build tag: regen-repo TAG [--wait] [--make-task] [--debuginfo] [--src]", runRegenRepo},
		{"wait-repo", "wait until a tag's repo is current or has builds: wait-repo TAG [--build NVR ...] [--request]", runWaitRepo},
		{"certs", "make the farm's CA and certificates: certs init|hub NAME|host NAME|user NAME|kojira|web|renew FILE", runCerts},
		{"demo", "run a whole farm on this machine (hub, builders, sample builds): demo [--dir DIR] [--builders N]", runDemo},
		{"policy", "the hub's policies: policy show [NAME...] | policy test NAME key=value... (what it decides, and by which rule)", runPolicy},
		{"doctor", "check configs, certificates, disk, database and the hub; one sentence per fault: doctor [--config FILE ...] [--json]", runDoctor},
	}
}

// ErrUsage marks an error caused by wrong arguments; Main exits 2 for it.
var ErrUsage = errors.New("usage")

// exitError lets a command choose its exit status (doctor: 1 warnings, 2 errors).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs kojictl with args (without the program name) and returns the exit status.
func Main(ctx context.Context, env *Env, args []string) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	cmds := commands()
	if len(args) > 0 && (args[0] == "--version" || args[0] == "version") {
		fmt.Fprintln(env.Stdout, "kojictl", version.String())
		return 0
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	args = moveGlobalFlags(args)
	for _, c := range cmds {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.Is(err, ErrUsage):
			fmt.Fprintf(env.Stderr, "kojictl %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(env.Stderr, "kojictl %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "kojictl: unknown command %q; run 'kojictl help' for the list\n", args[0])
	return 2
}

// globalFlags are the koji CLI's options that may come before the command
// (koji -p PROFILE list-hosts); true for those that take a value.
var globalFlags = map[string]bool{"p": true, "profile": true, "server": true, "config": true, "user": true, "password": true, "noauth": false}

// moveGlobalFlags moves the profile and connection flags given before the
// command after it, where the command's flags are parsed: "kojictl -p X
// list-hosts" is "kojictl list-hosts -p X", as koji -p X list-hosts works.
func moveGlobalFlags(args []string) []string {
	i := 0
	for i < len(args) {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := globalFlags[name]
		if !ok {
			break
		}
		if takesValue && !hasValue {
			i++
		}
		i++
	}
	if i == 0 || i >= len(args) {
		return args
	}
	out := append([]string{args[i]}, args[:i]...)
	return append(out, args[i+1:]...)
}

func usage(w io.Writer, cmds []command) {
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	var b strings.Builder
	b.WriteString("kojictl: administer and use a kojigo build farm\n\nusage: kojictl [-p PROFILE] [--config FILE] [--server URL] COMMAND [flags]\n\ncommands:\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-14s %s\n", c.name, c.summary)
	}
	b.WriteString("\nrun 'kojictl COMMAND -h' for a command's flags\n")
	io.WriteString(w, b.String())
}

// newFlags returns a FlagSet that reports errors through the returned error, not by exiting.
func newFlags(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("kojictl "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// usageErr wraps a message as a usage error.
func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}
