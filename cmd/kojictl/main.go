// Command kojictl administers and uses a kojigo build farm; see 'kojictl help'.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"kojigo/internal/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.Main(ctx, &ctl.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
