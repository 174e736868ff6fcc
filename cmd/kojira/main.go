// Command kojira generates repository metadata. For now it has one
// subcommand, `kojira createrepo DIR`, a drop-in for createrepo_c on a
// directory; the daemon that regenerates repositories for Koji tags comes
// later.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"kojigo/internal/version"
	"kojigo/repogen/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "kojira:", err)
	var ee *cli.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.Code)
	}
	os.Exit(1)
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("no subcommand (usage: kojira createrepo [options] DIR; kojira createrepo --help)")
	}
	switch args[0] {
	case "createrepo":
		cfg, err := cli.Parse(args[1:], os.Stderr)
		if err != nil {
			return err
		}
		return cli.Run(ctx, cfg, os.Stdout, os.Stderr)
	case "--version", "version":
		fmt.Println("kojira", version.String())
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, "usage: kojira createrepo [options] DIR\n\nSubcommands:\n  createrepo  write repository metadata for a directory of RPMs (see kojira createrepo --help)\n")
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (usage: kojira createrepo [options] DIR)", args[0])
}
