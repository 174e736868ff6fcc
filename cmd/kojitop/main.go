// Command kojitop is the operator console of a Koji build farm; see
// 'kojitop --help'.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"kojigo/internal/version"
	"kojigo/tui"
)

func main() {
	o, err := tui.ParseFlags(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, tui.ErrHelp):
		return
	case errors.Is(err, tui.ErrVersion):
		fmt.Println("kojitop", version.String())
		return
	case err != nil:
		fmt.Fprintln(os.Stderr, "kojitop:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	err = tui.Run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kojitop:", err)
		os.Exit(1)
	}
}
