package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/pfmsync/pfmsync/internal/logging"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

// Defaults a demo relies on; docs/sandbox.md documents them.
const (
	defaultAddr         = "127.0.0.1:8080"
	defaultClientID     = "pfmsync-demo"
	defaultClientSecret = "sandbox-secret"
)

var defaultRedirectURIs = []string{"http://127.0.0.1:8081/link/callback", "http://localhost:8081/link/callback"}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// flags are the command line.
type flags struct {
	addr, baseURL           string
	seed                    int64
	users                   int
	historyDays, futureDays int
	density                 float64
	start                   string
	clientID, clientSecret  string
	redirectURIs            listFlag
	rotate, detectReuse     bool
	refreshTTL, accessTTL   time.Duration
	latency, taskDelay      time.Duration
	longPollHold            time.Duration
	faults                  listFlag
	budget                  string
	adminToken              string
	logLevel, logFormat     string
	behaviour               behaviourFlags
}

// behaviourFlags are the flags that select the institution's behaviour in
// the documented gaps; set lists those given on the command line, which
// override the -profile bundle.
type behaviourFlags struct {
	profile              string
	silentPendingRemoval string
	staleLastUpdated     bool
	inactivatedIDs       string
	updatedSince         string
	unstableOrder        bool
	maxPageLimit         int
	ignoreOffset         bool
	pendingDatePosted    string
	malformedRecord      string
	externalAccounts     bool
	notEnrichedDays      int
	unlistedCategories   bool
	set                  map[string]bool
}

func (b *behaviourFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.profile, "profile", "", "named bundle of behaviour options (see docs/sandbox.md), e.g. lazy-inactivation")
	fs.StringVar(&b.silentPendingRemoval, "silent-pending-removal", "", "pending removals left out of inactivatedTransactionIds: dropped, replaced or all")
	fs.BoolVar(&b.staleLastUpdated, "stale-last-updated", false, "modifications do not move lastUpdated")
	fs.StringVar(&b.inactivatedIDs, "inactivated-ids", "", "pages carrying inactivatedTransactionIds: every-page, first-page, updated-since-only or never")
	fs.StringVar(&b.updatedSince, "updated-since", "", "updatedSince comparison: inclusive, exclusive or day")
	fs.BoolVar(&b.unstableOrder, "unstable-order", false, "since/updatedSince matches in a different order on every page")
	fs.IntVar(&b.maxPageLimit, "max-page-limit", 0, "cap the page size below 500 (0: no cap)")
	fs.BoolVar(&b.ignoreOffset, "ignore-offset", false, "ignore offset: every page is the first")
	fs.StringVar(&b.pendingDatePosted, "pending-date-posted", "", "datePosted of pending rows: null or missing")
	fs.StringVar(&b.malformedRecord, "malformed-record", "", "one bad record per page, e.g. kind=amount,rate=0.1,position=-1 (kinds: amount, amount-number, missing-id)")
	fs.BoolVar(&b.externalAccounts, "external-accounts", false, "list an account held at another institution, shared by user pairs")
	fs.IntVar(&b.notEnrichedDays, "not-enriched-days", 0, "history older than this many days before the start is \"Not enriched\" (0: all enriched)")
	fs.BoolVar(&b.unlistedCategories, "unlisted-categories", false, "some transactions carry categories outside the documented list")
}

// resolve builds the behaviour: the profile's bundle, then the flags given.
func (b behaviourFlags) resolve() (sandbox.Behaviour, error) {
	var out sandbox.Behaviour
	if b.profile != "" {
		p, err := sandbox.Profile(b.profile)
		if err != nil {
			return out, fmt.Errorf("-profile: %w", err)
		}
		out = p
	}
	for name := range b.set {
		switch name {
		case "silent-pending-removal":
			out.SilentPendingRemoval = b.silentPendingRemoval
		case "stale-last-updated":
			out.StaleLastUpdated = b.staleLastUpdated
		case "inactivated-ids":
			out.InactivatedIDs = b.inactivatedIDs
		case "updated-since":
			out.UpdatedSince = b.updatedSince
		case "unstable-order":
			out.UnstableOrder = b.unstableOrder
		case "max-page-limit":
			out.MaxPageLimit = b.maxPageLimit
		case "ignore-offset":
			out.IgnoreOffset = b.ignoreOffset
		case "pending-date-posted":
			out.PendingDatePosted = b.pendingDatePosted
		case "malformed-record":
			m, err := sandbox.ParseMalformedRecord(b.malformedRecord)
			if err != nil {
				return out, fmt.Errorf("-malformed-record: %w", err)
			}
			out.MalformedRecord = m
		case "external-accounts":
			out.ExternalAccounts = b.externalAccounts
		case "not-enriched-days":
			out.NotEnrichedDays = b.notEnrichedDays
		case "unlisted-categories":
			out.UnlistedCategories = b.unlistedCategories
		}
	}
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("behaviour flags: %w", err)
	}
	return out, nil
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", defaultAddr, "host:port to listen on")
	fs.StringVar(&f.baseURL, "base-url", "", "URL clients reach the sandbox at (default http://<addr>)")
	fs.Int64Var(&f.seed, "seed", 1, "seed for the generated data")
	fs.IntVar(&f.users, "users", 10, "number of demo users (user1 … userN)")
	fs.IntVar(&f.historyDays, "history-days", 730, "days of history before the clock's start")
	fs.IntVar(&f.futureDays, "future-days", 365, "days of data generated after the start, revealed as the clock advances")
	fs.Float64Var(&f.density, "density", 1.0, "transaction volume multiplier (1.0 is a typical household)")
	fs.StringVar(&f.start, "start", "", "the data clock's start, RFC 3339, for data that never changes (default: the current hour, UTC)")
	fs.StringVar(&f.clientID, "client-id", defaultClientID, "registered OAuth client id")
	fs.StringVar(&f.clientSecret, "client-secret", defaultClientSecret, "registered OAuth client secret")
	fs.Var(&f.redirectURIs, "redirect-uri", "registered redirect URI (repeatable; default "+strings.Join(defaultRedirectURIs, " and ")+")")
	fs.BoolVar(&f.rotate, "rotate-refresh-tokens", true, "issue a new refresh token on every refresh")
	fs.BoolVar(&f.detectReuse, "detect-reuse", true, "revoke the whole grant when a retired refresh token is presented")
	fs.DurationVar(&f.refreshTTL, "refresh-ttl", 0, "refresh token lifetime (0: no expiry)")
	fs.DurationVar(&f.accessTTL, "access-ttl", 600*time.Second, "access token lifetime")
	fs.DurationVar(&f.latency, "latency", 0, "latency added to every API and token request")
	fs.DurationVar(&f.taskDelay, "task-delay", 300*time.Millisecond, "how long a fetch task runs before TaskEnded")
	fs.DurationVar(&f.longPollHold, "long-poll-hold", 7*time.Second, "how long a task poll with sinceVersion is held")
	fs.Var(&f.faults, "fault", "fault rule, e.g. kind=rate_limit,fraction=0.2,retry_after=2s (repeatable; see docs/sandbox.md)")
	fs.StringVar(&f.budget, "budget", "", "per-client request budget, REQUESTS/PERIOD, e.g. 100/1m")
	fs.StringVar(&f.adminToken, "admin-token", getenv("PFMSYNC_SANDBOX_ADMIN_TOKEN"), "bearer token required on /sandbox/ (default $PFMSYNC_SANDBOX_ADMIN_TOKEN; empty: open)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	f.behaviour.register(fs)
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	f.behaviour.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.behaviour.set[fl.Name] = true })
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if len(f.redirectURIs) == 0 {
		f.redirectURIs = defaultRedirectURIs
	}
	return f, nil
}

func (f flags) options(logger *slog.Logger) (sandbox.Options, error) {
	var errs []error
	opts := sandbox.Options{
		BaseURL:             f.baseURL,
		Clients:             []authserver.Client{{ID: f.clientID, Secret: f.clientSecret, RedirectURIs: f.redirectURIs}},
		RotateRefreshTokens: &f.rotate,
		DetectReuse:         &f.detectReuse,
		RefreshTokenTTL:     f.refreshTTL,
		AccessTokenTTL:      f.accessTTL,
		LongPollHold:        f.longPollHold,
		AdminToken:          f.adminToken,
		Logger:              logger,
		Faults: sandbox.Faults{
			Latency:   sandbox.Duration(f.latency),
			TaskDelay: sandbox.Duration(f.taskDelay),
		},
	}
	opts.Bank.Seed = f.seed
	opts.Bank.Users = f.users
	opts.Bank.HistoryDays = f.historyDays
	opts.Bank.FutureDays = f.futureDays
	opts.Bank.Density = f.density
	if f.start != "" {
		t, err := time.Parse(time.RFC3339, f.start)
		if err != nil {
			errs = append(errs, fmt.Errorf("-start: %w", err))
		}
		opts.Bank.Start = t
	}
	bh, err := f.behaviour.resolve()
	if err != nil {
		errs = append(errs, err)
	}
	opts.Behaviour = bh
	for _, raw := range f.faults {
		r, err := sandbox.ParseFaultRule(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("-fault: %w", err))
			continue
		}
		opts.Faults.Rules = append(opts.Faults.Rules, r)
	}
	if f.budget != "" {
		b, err := parseBudget(f.budget)
		if err != nil {
			errs = append(errs, err)
		}
		opts.Faults.Budget = b
	}
	return opts, errors.Join(errs...)
}

func parseBudget(s string) (*sandbox.Budget, error) {
	n, per, ok := strings.Cut(s, "/")
	requests, err := strconv.Atoi(n)
	if !ok || err != nil || requests < 1 {
		return nil, fmt.Errorf("-budget %q: want REQUESTS/PERIOD such as 100/1m", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("-budget %q: want REQUESTS/PERIOD such as 100/1m", s)
	}
	return &sandbox.Budget{Requests: requests, Per: sandbox.Duration(d)}, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// -h, -help, --help and help print the flags on stdout and succeed.
	usageOut := stderr
	if len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		args, usageOut = []string{"-h"}, stdout
	}
	f, err := parseFlags(args, getenv, usageOut)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := logging.New(stderr, f.logFormat, level)
	opts, err := f.options(logger)
	if err != nil {
		return err
	}
	srv, err := sandbox.Start(f.addr, opts)
	if err != nil {
		return err
	}
	printBanner(stdout, srv, f)
	logger.Info("sandbox institution listening", "url", srv.URL())

	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Close(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	logger.Info("sandbox institution stopped")
	return nil
}

// printBanner writes the banner in one write, so a reader that sees its
// first line sees all of it, and no log line falls inside it.
func printBanner(w io.Writer, srv *sandbox.Running, f flags) {
	info := srv.Info()
	var b strings.Builder
	fmt.Fprintf(&b, "sandbox institution %q listening on %s\n", info.Institution, srv.URL())
	fmt.Fprintf(&b, "  issuer:        %s\n", info.Issuer)
	fmt.Fprintf(&b, "  discovery:     %s/.well-known/openid-configuration\n", info.Issuer)
	fmt.Fprintf(&b, "  consumer API:  %s\n", info.APIBaseURL)
	fmt.Fprintf(&b, "  admin API:     %s%s/\n", srv.URL(), sandbox.AdminPrefix)
	fmt.Fprintf(&b, "  demo users:    %s (password %q), seed %d\n", info.DemoUsers, info.DemoPassword, info.Seed)
	fmt.Fprintf(&b, "  client:        id %q, secret %q\n", f.clientID, f.clientSecret)
	fmt.Fprintf(&b, "  redirect URIs: %s\n", strings.Join(f.redirectURIs, ", "))
	fmt.Fprintf(&b, "  data clock:    %s\n", info.Clock)
	if bh := srv.Behaviour(); !bh.IsZero() {
		names := []string{}
		for _, o := range bh.Active() {
			names = append(names, o.Name)
		}
		fmt.Fprintf(&b, "  behaviour:     %s\n", strings.Join(names, ", "))
	}
	_, _ = io.WriteString(w, b.String())
}
