// Command worker keeps every active link's accounts, balances and
// transactions current: River jobs that refresh tokens and sync each link,
// and a scheduler that queues links when they are due. Run several
// processes against one database to scale out. See docs/operations.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pfmsync/pfmsync/internal/workercmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		if errors.Is(err, workercmd.ErrUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
