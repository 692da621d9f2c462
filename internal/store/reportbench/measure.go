package reportbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ReaderRole is the login role the benchmark reads as: a member of
// pfm_reader with jit = off, as docs/sql.md recommends for dashboards.
const ReaderRole = "pfmsync_bench_reader"

// Options says what to prepare and measure.
type Options struct {
	AdminURL   string // a superuser connection to the cluster
	Database   string // the dedicated benchmark database
	Scale      Scale
	Version    uint // schema version to measure (0: the latest)
	Regenerate bool
	Samples    int      // app users sampled per per-user query
	CrossRuns  int      // runs of each cross-user query
	JIT        []bool   // settings of jit to measure under
	Only       []string // query names to run (all when empty)
}

// Result is the timing of one query under one jit setting.
type Result struct {
	Query         string
	JIT           bool
	N             int
	P50, P95, Max time.Duration
}

// Prepare creates, migrates and (unless a datastore of the same scale and
// data schema exists) generates the benchmark database, then leaves it at
// opts.Version.
func Prepare(ctx context.Context, opts Options, logger *slog.Logger) error {
	if err := opts.Scale.validate(); err != nil {
		return err
	}
	if opts.Regenerate {
		if err := DropDatabase(ctx, opts.AdminURL, opts.Database); err != nil {
			return err
		}
	}
	if err := EnsureDatabase(ctx, opts.AdminURL, opts.Database); err != nil {
		return err
	}
	dbURL, err := DatabaseURL(opts.AdminURL, opts.Database)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(dbURL), err)
	}
	m, found, err := readMeta(ctx, pool)
	if err == nil && found {
		var hash string
		if hash, err = dataSchemaHash(m.Version); err == nil && m.Scale == opts.Scale && hash == m.SchemaHash {
			logger.Info("reusing the generated datastore", "users", m.Users, "tx_per_user", m.TxPerUser, "data_version", m.Version)
			defer pool.Close()
			if err := migrateDB(dbURL, opts.Version, logger); err != nil {
				return err
			}
			if err := fillLaterColumns(ctx, pool, logger); err != nil {
				return err
			}
			return fillTransferVerdicts(ctx, pool, logger)
		}
		logger.Info("the generated datastore differs: regenerating", "users", m.Users, "tx_per_user", m.TxPerUser, "data_version", m.Version)
	}
	pool.Close()
	if err != nil {
		return err
	}
	if found {
		if err := DropDatabase(ctx, opts.AdminURL, opts.Database); err != nil {
			return err
		}
		if err := EnsureDatabase(ctx, opts.AdminURL, opts.Database); err != nil {
			return err
		}
	} else if err := DropDatabase(ctx, opts.AdminURL, opts.Database); err != nil { // a half-generated one
		return err
	} else if err := EnsureDatabase(ctx, opts.AdminURL, opts.Database); err != nil {
		return err
	}
	if pool, err = pgxpool.New(ctx, dbURL); err != nil {
		return fmt.Errorf("connect to %s: %w", redact(dbURL), err)
	}
	defer pool.Close()
	version, _, err := MigrateTo(pool, opts.Version, logger)
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := generate(ctx, pool, opts.Scale, logger)
	if err != nil {
		return err
	}
	logger.Info("generated", "transactions", n, "elapsed", time.Since(start).Round(time.Second))
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	hash, err := dataSchemaHash(version)
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, metaDDL); err != nil {
		return fmt.Errorf("record the generation: %w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO bench_reporting_meta (users, tx_per_user, seed, data_version, schema_hash, transactions)
		VALUES ($1, $2, $3, $4, $5, $6)`, opts.Scale.Users, opts.Scale.TxPerUser, opts.Scale.Seed, int(version), hash, n); err != nil {
		return fmt.Errorf("record the generation: %w", err)
	}
	if err := fillLaterColumns(ctx, pool, logger); err != nil {
		return err
	}
	if err := fillTransferVerdicts(ctx, pool, logger); err != nil {
		return err
	}
	logger.Info("datastore ready", "elapsed", time.Since(start).Round(time.Second))
	return nil
}

func migrateDB(dbURL string, version uint, logger *slog.Logger) error {
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(dbURL), err)
	}
	defer pool.Close()
	_, moved, err := MigrateTo(pool, version, logger)
	if err != nil || !moved {
		return err
	}
	// A migration may add indexes or expression statistics.
	if _, err := pool.Exec(context.Background(), "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// EnsureReader creates the benchmark's login role (a member of pfm_reader
// with jit = off) unless it exists.
func EnsureReader(ctx context.Context, adminURL string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DO $$
BEGIN
    CREATE ROLE `+ReaderRole+` LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$`)
	if err != nil {
		return fmt.Errorf("create role %s: %w", ReaderRole, err)
	}
	for _, stmt := range []string{
		"GRANT pfm_reader TO " + ReaderRole,
		"ALTER ROLE " + ReaderRole + " SET jit = off",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("set up role %s: %w", ReaderRole, err)
		}
	}
	return nil
}

// Measure runs every query as the reader role and returns their timings.
func Measure(ctx context.Context, opts Options, logger *slog.Logger) ([]Result, error) {
	dbURL, err := DatabaseURL(opts.AdminURL, opts.Database)
	if err != nil {
		return nil, err
	}
	readerURL, err := withUser(dbURL, ReaderRole)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, readerURL)
	if err != nil {
		return nil, fmt.Errorf("connect as %s: %w", ReaderRole, err)
	}
	defer conn.Close(ctx)

	var refs []string
	rows, err := conn.Query(ctx, `SELECT DISTINCT app_user_ref FROM reporting.link_status ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list app users: %w", err)
	}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("list app users: %w", err)
		}
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list app users: %w", err)
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("the benchmark database has no app users")
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Scale.Seed), 99))
	sample := make([]string, max(opts.Samples, 1))
	for i := range sample {
		sample[i] = refs[rng.IntN(len(refs))]
	}

	var out []Result
	for _, jit := range opts.JIT {
		setting := "off"
		if jit {
			setting = "on"
		}
		if _, err := conn.Exec(ctx, "SET jit = "+setting); err != nil {
			return nil, fmt.Errorf("set jit: %w", err)
		}
		for _, q := range Queries {
			if len(opts.Only) > 0 && !slices.ContainsFunc(opts.Only, func(s string) bool { return strings.Contains(q.Name, s) }) {
				continue
			}
			var times []time.Duration
			if q.PerUser {
				if err := run(ctx, conn, q.SQL, sample[0]); err != nil { // warm the plan cache and buffers
					return nil, fmt.Errorf("%s: %w", q.Name, err)
				}
				for _, ref := range sample {
					start := time.Now()
					if err := run(ctx, conn, q.SQL, ref); err != nil {
						return nil, fmt.Errorf("%s: %w", q.Name, err)
					}
					times = append(times, time.Since(start))
				}
			} else {
				for range max(opts.CrossRuns, 1) {
					start := time.Now()
					if err := run(ctx, conn, q.SQL); err != nil {
						return nil, fmt.Errorf("%s: %w", q.Name, err)
					}
					times = append(times, time.Since(start))
				}
			}
			r := summarize(q.Name, jit, times)
			logger.Info("measured", "query", r.Query, "jit", jit, "p50", r.P50, "p95", r.P95, "max", r.Max)
			out = append(out, r)
		}
	}
	return out, nil
}

// run executes sql and reads every row, as a dashboard would.
func run(ctx context.Context, conn *pgx.Conn, sql string, args ...any) error {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	return rows.Err()
}

func summarize(name string, jit bool, times []time.Duration) Result {
	slices.Sort(times)
	pct := func(p float64) time.Duration {
		i := int(p*float64(len(times)) + 0.999999) // nearest rank
		return times[min(max(i-1, 0), len(times)-1)]
	}
	return Result{Query: name, JIT: jit, N: len(times), P50: pct(0.50), P95: pct(0.95), Max: times[len(times)-1]}
}

// WriteTable prints the results as a Markdown table.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintln(tw, "| query\t| jit\t| n\t| p50\t| p95\t| max\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|")
	for _, r := range results {
		jit := "off"
		if r.JIT {
			jit = "on"
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %d\t| %s\t| %s\t| %s\t|\n", r.Query, jit, r.N, ms(r.P50), ms(r.P95), ms(r.Max))
	}
	return tw.Flush()
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
