// Command dashboard serves the reference PFM dashboard: one app user's net
// worth, cash flow, spending, transactions, accounts and recurring
// payments, read only from the reporting views as a login role that is a
// member of pfm_reader. See docs/dashboard.md.
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
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		os.Exit(1)
	}
}
