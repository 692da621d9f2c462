// Command linkserver serves the consent flow that connects a PFM app's
// users to their bank, and the app's link management API. Its
// reseal-tokens subcommand moves every sealed refresh token to the current
// key after a key rotation. See docs/linkserver.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "linkserver:", err)
		os.Exit(1)
	}
}
