package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

const (
	institutionSlug = "sandbox"
	clientID        = "pfmsync-demo"
	clientSecret    = "sandbox-secret"
	// ReadyLine is printed once everything runs; scripts wait for it.
	readyLine = "pfmsync is running. Press Ctrl-C to stop."
	// Files in the state folder.
	keysFileName = "token-keys"
	appKeyFile   = "app-key"
	passwordFile = "dashboard-password"
)

// options are the command line.
type options struct {
	bin, state, database                      string
	users, linked                             int
	sandboxAddr, linkAddr, adminAddr, metrics string
	dashboardAddr                             string
	syncTimeout                               time.Duration
	build, reset                              bool
	// command is a subcommand (connect-url, api-token) and user the app
	// user it names; empty to run the demo.
	command, user string
}

const usage = `usage: demo [flags]              run the demo until Ctrl-C
       demo [flags] connect-url USER  print a fresh connect URL for app user USER
       demo [flags] api-token USER    print a link API token for app user USER (valid 1 h)`

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&o.bin, "bin", "bin", "folder holding the sandbox, linkserver and worker binaries")
	fs.BoolVar(&o.build, "build", false, "build the binaries into -bin first (after checking the ports are free)")
	fs.BoolVar(&o.reset, "reset", false, "drop the demo database and its keys first, and start afresh")
	fs.StringVar(&o.state, "state", ".pfmsync-demo", "folder for the demo's keys and process logs")
	fs.StringVar(&o.database, "database", "pfmsync_demo", "database created (if missing) for the demo")
	fs.IntVar(&o.users, "users", 5, "demo users the sandbox offers")
	fs.IntVar(&o.linked, "link", 3, "demo users linked at start")
	fs.StringVar(&o.sandboxAddr, "sandbox-addr", "127.0.0.1:8080", "sandbox institution listener")
	fs.StringVar(&o.linkAddr, "link-addr", "127.0.0.1:8081", "link server listener")
	fs.StringVar(&o.adminAddr, "admin-addr", "127.0.0.1:8082", "link server admin listener (status page, metrics)")
	fs.StringVar(&o.dashboardAddr, "dashboard-addr", "127.0.0.1:8083", "reference dashboard listener (when the dashboard is built)")
	fs.StringVar(&o.metrics, "metrics-addr", "127.0.0.1:9091", "worker metrics listener")
	fs.DurationVar(&o.syncTimeout, "sync-timeout", 3*time.Minute, "how long to wait for the first syncs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch rest := fs.Args(); {
	case len(rest) == 0:
	case (rest[0] == "connect-url" || rest[0] == "api-token") && len(rest) == 2 && strings.TrimSpace(rest[1]) != "":
		o.command, o.user = rest[0], rest[1]
	case rest[0] == "connect-url" || rest[0] == "api-token":
		return o, fmt.Errorf("%s takes one app user, e.g. `demo %s demo-user-9`", rest[0], rest[0])
	default:
		return o, fmt.Errorf("unexpected arguments: %v\n%s", rest, usage)
	}
	if o.linked < 1 || o.linked > o.users {
		return o, fmt.Errorf("-link must be between 1 and -users (%d)", o.users)
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	switch o.command {
	case "connect-url":
		return printConnectURL(stdout, o)
	case "api-token":
		return printAPIToken(stdout, o)
	}
	adminURL := firstSet(getenv("PFMSYNC_DATABASE_URL"), getenv("DATABASE_URL"), "postgres://postgres@127.0.0.1:5432/postgres")
	dbURL, err := withDatabase(adminURL, o.database)
	if err != nil {
		return err
	}
	withDashboard := dashboardAvailable(o)
	if err := checkPorts(o, withDashboard); err != nil {
		return err
	}
	if o.build {
		if err := build(ctx, o.bin, withDashboard, stdout, stderr); err != nil {
			return err
		}
	}
	if o.reset {
		if err := reset(ctx, stdout, adminURL, o); err != nil {
			return err
		}
	}
	created, err := ensureDatabase(ctx, adminURL, o.database)
	if err != nil {
		return fmt.Errorf("prepare the demo database (is PostgreSQL running? `make run` finds or starts one): %w", err)
	}
	fmt.Fprintf(stdout, "database %s %s\n", o.database, map[bool]string{true: "created", false: "reused"}[created])
	if err := checkKeysMatchDatabase(ctx, o, dbURL); err != nil {
		return err
	}

	logs := filepath.Join(o.state, "logs")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", logs, err)
	}
	keysFile, appKey, err := demoSecrets(o.state)
	if err != nil {
		return err
	}
	readerPassword, err := dashboardPassword(o.state)
	if err != nil {
		return err
	}
	names := []string{"sandbox", "linkserver", "worker"}
	if withDashboard {
		names = append(names, "dashboard")
	}
	bins := map[string]string{}
	for _, name := range names {
		p, err := filepath.Abs(filepath.Join(o.bin, name))
		if err != nil {
			return err
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("binary %s not found (pass -build, or run `make run`): %w", p, err)
		}
		bins[name] = p
	}

	sandboxURL, linkURL, dashboardURL := "http://"+o.sandboxAddr, "http://"+o.linkAddr, "http://"+o.dashboardAddr
	institutions, _ := json.Marshal([]map[string]any{{
		"slug": institutionSlug, "name": "Sandbox Community Bank", "base_url": sandboxURL + "/a/consumer/api/v0",
		"client_id": clientID, "client_secret_env": "SANDBOX_CLIENT_SECRET",
	}})
	env := append(baseEnv(getenv),
		"PFMSYNC_DATABASE_URL="+dbURL,
		"PFMSYNC_INSTITUTIONS="+string(institutions),
		"SANDBOX_CLIENT_SECRET="+clientSecret,
		"PFMSYNC_TOKEN_KEYS_FILE="+keysFile,
		"PFMSYNC_APP_KEY="+string(appKey),
		"PFMSYNC_LINK_ADDR="+o.linkAddr,
		"PFMSYNC_PUBLIC_URL="+linkURL,
		"PFMSYNC_ADMIN_ADDR="+o.adminAddr,
		"PFMSYNC_METRICS_ADDR="+o.metrics,
		"PFMSYNC_LOG_FORMAT=json",
		"PFMSYNC_WORKER_CONCURRENCY=4",
		"PFMSYNC_SCHEDULE_EVERY=15s",
	)
	if withDashboard {
		env = append(env, "PFMSYNC_DASHBOARD_URL="+dashboardURL)
	}

	var running []*process
	defer func() {
		for i := len(running) - 1; i >= 0; i-- {
			if err := running[i].stop(20 * time.Second); err != nil {
				fmt.Fprintln(stderr, "demo:", err)
			}
		}
	}()
	start := func(name string, args, extraEnv []string, ready string) (*process, error) {
		p, err := startProcess(logs, name, bins[name], args, append(slices.Clip(env), extraEnv...))
		if err != nil {
			return nil, err
		}
		running = append(running, p)
		if ready != "" {
			if err := waitHTTP(ctx, p, ready, 60*time.Second); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(stdout, "started %-10s (log %s)\n", name, p.logPath)
		return p, nil
	}
	// The sandbox's data runs to today (UTC midnight): the same data all
	// day, so restarting the demo does not reshuffle what was synced.
	dataStart := time.Now().UTC().Truncate(24 * time.Hour)
	if _, err := start("sandbox", []string{
		"-addr", o.sandboxAddr, "-users", fmt.Sprint(o.users), "-seed", "1", "-start", dataStart.Format(time.RFC3339),
		"-client-id", clientID, "-client-secret", clientSecret, "-redirect-uri", linkURL + "/link/callback", "-log-format", "json",
	}, nil, sandboxURL+"/a/consumer/api/v0/oidc/.well-known/openid-configuration"); err != nil {
		return err
	}
	if _, err := start("linkserver", nil, nil, linkURL+"/healthz"); err != nil {
		return err
	}
	// The link server has migrated the database: pfm_reader exists.
	if err := ensureDashboardRole(ctx, adminURL, o.database, readerPassword); err != nil {
		return err
	}
	readerURL, err := asRole(dbURL, dashboardRole, "")
	if err != nil {
		return err
	}
	worker, err := start("worker", nil, nil, "")
	if err != nil {
		return err
	}
	if withDashboard {
		readerWithPassword, err := asRole(dbURL, dashboardRole, readerPassword)
		if err != nil {
			return err
		}
		if _, err := start("dashboard", nil, []string{
			"PFMSYNC_DASHBOARD_ADDR=" + o.dashboardAddr,
			"PFMSYNC_DASHBOARD_DATABASE_URL=" + readerWithPassword,
		}, dashboardURL+"/healthz"); err != nil {
			return err
		}
	}

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to the demo database: %w", err)
	}
	defer pool.Close()
	st := store.New(pool, nil)

	linkStart := time.Now()
	users := make([]string, o.linked)
	for i := range users {
		users[i] = fmt.Sprintf("demo-user-%d", i+1)
		if err := linkDemoUser(ctx, linkURL, appKey, users[i], i+1); err != nil {
			return fmt.Errorf("link %s as sandbox user%d: %w", users[i], i+1, err)
		}
		fmt.Fprintf(stdout, "linked %s through the consent flow as sandbox user%d\n", users[i], i+1)
	}
	if err := waitFirstSyncs(ctx, st, worker, users, linkStart, o.syncTimeout); err != nil {
		return err
	}
	clock, err := sandboxClock(ctx, sandboxURL)
	if err != nil {
		return err
	}
	if err := printSummary(ctx, stdout, pool, users, clock); err != nil {
		return err
	}
	visitor, err := connectURL(appKey, linkURL, "demo-visitor")
	if err != nil {
		return err
	}
	passwordPath := filepath.Join(o.state, passwordFile)
	fmt.Fprintf(stdout, "\nOpen in a browser:\n")
	if withDashboard {
		fmt.Fprintf(stdout, "  dashboard:                   %s/?%s\n", dashboardURL, url.Values{"user": {users[0]}}.Encode())
	}
	fmt.Fprintf(stdout, "  connect a bank (valid 1 h):  %s\n", visitor)
	fmt.Fprintf(stdout, "    log in at the sandbox as user%d … user%d, password %q\n", min(o.linked+1, o.users), o.users, "sandbox")
	fmt.Fprintf(stdout, "  status page and job queue:   http://%s/\n", o.adminAddr)
	fmt.Fprintf(stdout, "  metrics:                     http://%s/metrics and http://%s/metrics\n", o.adminAddr, o.metrics)
	fmt.Fprintf(stdout, "  sandbox institution admin:   %s/sandbox/\n", sandboxURL)
	fmt.Fprintf(stdout, "  database:                    %s\n", redact(dbURL))
	fmt.Fprintf(stdout, "  process logs:                %s\n", logs)
	fmt.Fprintf(stdout, "\nCopy and paste:\n")
	fmt.Fprintf(stdout, "  # SQL as the dashboard role %s (reads the reporting views only; docs/sql.md)\n", dashboardRole)
	fmt.Fprintf(stdout, "  PGPASSWORD=\"$(cat %s)\" psql '%s' -c 'SELECT * FROM reporting.accounts'\n", shellQuote(passwordPath), readerURL)
	fmt.Fprintf(stdout, "  # the link API as %s, with a token made for the call (docs/linkserver.md)\n", users[0])
	fmt.Fprintf(stdout, "  curl -s -H \"Authorization: Bearer $(bin/demo -state %s api-token %s)\" %s/api/links\n", shellQuote(o.state), users[0], linkURL)
	fmt.Fprintf(stdout, "  # a fresh connect URL for another app user\n")
	fmt.Fprintf(stdout, "  bin/demo -state %s -link-addr %s connect-url demo-user-9\n\n", shellQuote(o.state), o.linkAddr)
	fmt.Fprintln(stdout, readyLine)

	for _, p := range running {
		go func(p *process) {
			err := <-p.exited
			p.exited <- err
		}(p)
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "stopping…")
		return nil
	case err := <-firstExit(running):
		return err
	}
}

// firstExit reports the first child that exits on its own.
func firstExit(ps []*process) <-chan error {
	ch := make(chan error, len(ps))
	for _, p := range ps {
		go func() {
			err := <-p.exited
			p.exited <- err
			ch <- fmt.Errorf("%s exited unexpectedly (%v); its log ends:\n%s", p.name, err, p.tail(20))
		}()
	}
	return ch
}

// waitFirstSyncs waits until every user's link has synced since linkStart.
func waitFirstSyncs(ctx context.Context, st *store.Store, worker *process, users []string, since time.Time, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		done := 0
		for _, u := range users {
			links, err := st.LinksByAppUser(ctx, u)
			if err != nil {
				return err
			}
			for _, l := range links {
				if l.LastSuccessAt != nil && l.LastSuccessAt.After(since.Add(-time.Second)) {
					done++
					break
				}
			}
		}
		if done == len(users) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d links synced within %s; the worker's log ends:\n%s", done, len(users), timeout, worker.tail(20))
		}
		select {
		case err := <-worker.exited:
			worker.exited <- err
			return fmt.Errorf("the worker exited (%v); its log ends:\n%s", err, worker.tail(20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// sandboxClock reads the sandbox's data clock.
func sandboxClock(ctx context.Context, sandboxURL string) (time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sandboxURL+"/sandbox/clock", nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the sandbox clock: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Now time.Time `json:"now"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return time.Time{}, fmt.Errorf("read the sandbox clock: %w", err)
	}
	return body.Now, nil
}

// demoSecrets returns the key ring file and app key kept in the state
// folder, creating them on first use: the demo database keeps sealed tokens
// between runs, so the keys must persist too. They are for local use only.
func demoSecrets(state string) (keysFile string, appKey []byte, err error) {
	keysFile = filepath.Join(state, keysFileName)
	if _, err := os.Stat(keysFile); errors.Is(err, os.ErrNotExist) {
		line := "demo-1:" + tokenseal.GenerateKey() + "\n"
		if err := os.WriteFile(keysFile, []byte("# local demo key ring; never use in production\n"+line), 0o600); err != nil {
			return "", nil, fmt.Errorf("write %s: %w", keysFile, err)
		}
	}
	appKeyPath := filepath.Join(state, appKeyFile)
	if _, err := os.Stat(appKeyPath); errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		if err := os.WriteFile(appKeyPath, []byte(base64.RawURLEncoding.EncodeToString(b)), 0o600); err != nil {
			return "", nil, fmt.Errorf("write %s: %w", appKeyPath, err)
		}
	}
	appKey, err = os.ReadFile(appKeyPath)
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", appKeyPath, err)
	}
	return keysFile, []byte(strings.TrimSpace(string(appKey))), nil
}

// baseEnv passes the children what they need from the environment, and no
// stray PFMSYNC_ settings.
func baseEnv(getenv func(string) string) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ"} {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", errors.New("the database URL is not a postgres:// URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[database]"
	}
	return u.Redacted()
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
