// Command demo runs the whole of pfmsync against the sandbox institution on
// one machine, with no bank credentials: it starts the sandbox, the link
// server and the worker as separate processes, links a few demo users
// through the real consent flow, waits for their first sync, prints what
// landed, and keeps running until interrupted. `make run` builds and starts
// it with a PostgreSQL it finds or starts.
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
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
