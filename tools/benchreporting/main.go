// Command benchreporting measures the reporting views at dashboard scale
// (docs/benchmarks.md, "Dashboard at scale"): it builds or reuses a
// dedicated datastore of generated app users, migrates it to the schema
// version asked for, and prints p50/p95/max of every per-user view, the
// change-feed page and a cross-user query, read as a pfm_reader login role
// with jit off and on.
//
//	go run ./tools/benchreporting -users 5000 -tx-per-user 1200
//	go run ./tools/benchreporting -version 14      # the views of migration 000014
//	go run ./tools/benchreporting -regenerate      # rebuild the datastore
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/pfmsync/pfmsync/internal/store/reportbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreporting:", err)
		stop()
		os.Exit(1)
	}
}

// run is main without the exit, for tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchreporting", flag.ContinueOnError)
	fs.SetOutput(stderr)
	adminURL := getenv("BENCH_DATABASE_URL")
	if adminURL == "" {
		adminURL = "postgres://postgres@127.0.0.1:5432/postgres"
	}
	opts := reportbench.Options{AdminURL: adminURL}
	fs.StringVar(&opts.Database, "db", "pfmsync_bench_reporting", "the dedicated benchmark database (created on the cluster of $BENCH_DATABASE_URL)")
	fs.IntVar(&opts.Scale.Users, "users", 5000, "app users to generate")
	fs.IntVar(&opts.Scale.TxPerUser, "tx-per-user", 1200, "transactions per app user")
	fs.Int64Var(&opts.Scale.Seed, "seed", 1, "seed of the generated data and of the sampled users")
	version := fs.Uint("version", 0, "schema version to measure (0: the latest migration)")
	fs.BoolVar(&opts.Regenerate, "regenerate", false, "drop and regenerate the datastore even if one of the same scale exists")
	fs.IntVar(&opts.Samples, "samples", 100, "app users sampled per per-user query")
	fs.IntVar(&opts.CrossRuns, "cross-runs", 1, "runs of the cross-user query")
	jit := fs.String("jit", "off,on", "jit settings to measure under, comma-separated")
	only := fs.String("only", "", "measure only the queries whose name contains one of these comma-separated words")
	prepareOnly := fs.Bool("prepare-only", false, "build or migrate the datastore and stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	opts.Version = *version
	for _, s := range strings.Split(*jit, ",") {
		switch strings.TrimSpace(s) {
		case "off":
			opts.JIT = append(opts.JIT, false)
		case "on":
			opts.JIT = append(opts.JIT, true)
		default:
			return fmt.Errorf("-jit: want off, on or off,on; got %q", *jit)
		}
	}
	if *only != "" {
		opts.Only = strings.Split(*only, ",")
	}
	if opts.Samples < 1 || opts.Samples > 10_000 {
		return errors.New("-samples must be between 1 and 10000")
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	if err := reportbench.Prepare(ctx, opts, logger); err != nil {
		return err
	}
	if *prepareOnly {
		return nil
	}
	if err := reportbench.EnsureReader(ctx, opts.AdminURL); err != nil {
		return err
	}
	results, err := reportbench.Measure(ctx, opts, logger)
	if err != nil {
		return err
	}
	return reportbench.WriteTable(stdout, results)
}
