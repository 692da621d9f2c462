package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// Institution is one bank the syncer talks to.
type Institution struct {
	Slug   string
	Client *consumerapi.Client
	// Limiter holds the institution's deployment-wide budget: the pause
	// and, when its MaxConcurrentSyncs is set, the sync slots (give the
	// same limiter to the Client with consumerapi.WithRequestGate). Nil
	// bounds this process only.
	Limiter *InstitutionLimiter
	// MaxConcurrentSyncs bounds this process's syncs of the institution
	// when the Limiter does not lease deployment-wide slots (default 10).
	MaxConcurrentSyncs int
}

// Syncer syncs links: the logic behind SyncWorker.
type Syncer struct {
	store        *store.Store
	sealer       *tokenseal.Sealer
	institutions map[string]*institutionSlots
	cfg          SyncConfig
	logger       *slog.Logger
	metrics      Metrics
	now          func() time.Time
	// events records what the app is told; NewClient wires it to its
	// River client (nil: no events).
	events *events.Emitter
	// verdicts queues the transfer-verdict fill after a sync (NewClient
	// wires it; nil: none).
	verdicts events.Inserter
}

type institutionSlots struct {
	Institution
	slots chan struct{}
}

// SyncerOptions configure NewSyncer.
type SyncerOptions struct {
	Store        *store.Store
	Sealer       *tokenseal.Sealer
	Institutions []Institution
	Config       SyncConfig
	Logger       *slog.Logger
	// Metrics receives sync outcomes; nil records nothing.
	Metrics Metrics
	// Now is the wall clock (nil: time.Now).
	Now func() time.Time
}

// NewSyncer builds a Syncer.
func NewSyncer(o SyncerOptions) *Syncer {
	s := &Syncer{
		store:        o.Store,
		sealer:       o.Sealer,
		institutions: map[string]*institutionSlots{},
		cfg:          o.Config.withDefaults(),
		logger:       o.Logger,
		metrics:      o.Metrics,
		now:          o.Now,
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, in := range o.Institutions {
		n := in.MaxConcurrentSyncs
		if n <= 0 {
			n = 10
		}
		s.institutions[in.Slug] = &institutionSlots{Institution: in, slots: make(chan struct{}, n)}
	}
	return s
}

// acquire takes one of the institution's sync slots, waiting up to wait:
// a lease on a deployment-wide slot with a Limiter that shares slots, else
// a slot of this process.
func (in *institutionSlots) acquire(ctx context.Context, jobID int64, wait time.Duration) (release func(), ok bool, err error) {
	if in.Limiter != nil && in.Limiter.sharesSlots() {
		return in.Limiter.acquireSlot(ctx, jobID, wait)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case in.slots <- struct{}{}:
		return func() { <-in.slots }, true, nil
	case <-t.C:
		return nil, false, nil
	case <-ctx.Done():
		return nil, false, nil
	}
}

// pausedFor is what remains of a pause the institution asked for.
func (in *institutionSlots) pausedFor() time.Duration {
	if in.Limiter == nil {
		return 0
	}
	return in.Limiter.PausedFor()
}

// afterPause is when a job put off by a pause of d runs again: after the
// pause, spread over up to a quarter of it (at least 1 s, at most a
// minute), so that the jobs of every link do not resume at once.
func afterPause(d time.Duration) time.Duration {
	spread := min(max(d/4, time.Second), time.Minute)
	return d + time.Duration(rand.Int64N(int64(spread)))
}

// Sync runs one attempt of a link's sync and returns what River should do:
// nil (done), a JobSnooze (rate limited or no free slot), a JobCancel
// (consent revoked, link gone or not active: never retried), or an error
// (retried with backoff).
func (s *Syncer) Sync(ctx context.Context, args SyncArgs, jobID int64, attempt int) error {
	link, err := s.store.Link(ctx, args.LinkID)
	if errors.Is(err, pfm.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("link %s no longer exists", args.LinkID))
	}
	if err != nil {
		return err
	}
	if link.Status != pfm.LinkActive {
		return river.JobCancel(fmt.Errorf("link %s is %s, not active", link.ID, link.Status))
	}
	logger := s.logger.With("link_id", link.ID, "institution", link.InstitutionSlug, "job_id", jobID, "attempt", attempt, "trigger", args.Trigger)

	inst := s.institutions[link.InstitutionSlug]
	if inst == nil {
		// Configuration may be fixed by a redeploy: retry with backoff.
		msg := "institution " + link.InstitutionSlug + " is not configured in this worker"
		s.bookkeep(ctx, func(ctx context.Context) error {
			return s.store.Transact(ctx, func(tx *store.Store) error {
				if err := tx.RecordSyncFailure(ctx, link.ID, pfm.ClassInstitutionNotConfigured, msg); err != nil {
					return err
				}
				return s.events.Emit(ctx, tx, events.Event{Type: events.SyncFailed, AppUserRef: link.AppUserRef, LinkID: link.ID,
					Data: events.SyncFailedData{Trigger: string(args.Trigger), ErrorClass: string(pfm.ClassInstitutionNotConfigured), WillRetry: true}})
			})
		})
		return errors.New(msg)
	}
	if paused := inst.pausedFor(); paused > 0 {
		logger.Info("sync put off: the institution asked for a pause", "pause", paused.Round(time.Millisecond))
		return river.JobSnooze(afterPause(paused))
	}
	release, ok, err := inst.acquire(ctx, jobID, s.cfg.SlotWait)
	if err != nil {
		return err
	}
	if !ok {
		s.metrics.SlotWaitSnoozed(link.InstitutionSlug)
		// Try again in one to three slot waits (5-15 s by default).
		return river.JobSnooze(s.cfg.SlotWait + time.Duration(rand.Int64N(int64(2*s.cfg.SlotWait))))
	}
	defer release()

	var calls atomic.Int64
	ctx = withCallCounter(ctx, &calls)
	runID, err := s.store.StartSyncRun(ctx, link.ID, jobID, attempt, string(args.Trigger))
	if err != nil {
		return err
	}
	started := s.now()
	run := store.SyncRun{ID: runID, LinkID: link.ID, Trigger: string(args.Trigger)}
	obs := &syncObservations{}
	missing, syncErr := s.syncLink(ctx, link, inst, args.Trigger, &run, obs, logger)
	run.APICalls = int(calls.Load())
	run.Quarantined = obs.quarantined

	outcome, class, result := s.classify(syncErr, missing, inst.pausedFor())
	outcome, class, run.PartialReason = partialReason(outcome, class, obs)
	run.Outcome, run.ErrorClass = outcome, class
	if syncErr != nil {
		run.Error = truncate(syncErr.Error(), 500)
		run.RequestID = consumerapi.RequestIDOf(syncErr)
	}
	var changed bool
	s.bookkeep(ctx, func(ctx context.Context) error {
		return s.store.Transact(ctx, func(tx *store.Store) error {
			var err error
			changed, err = s.finish(ctx, tx, link, args.Trigger, run, missing, syncErr, result)
			return err
		})
	})
	switch outcome {
	case pfm.OutcomeSuccess, pfm.OutcomePartial:
		logger.Info("link synced", "outcome", outcome, "accounts", run.Accounts, "added", run.Added,
			"modified", run.Modified, "removed", run.Removed, "api_calls", run.APICalls, "missing_scopes", missing,
			"duration", s.now().Sub(started).Round(time.Millisecond))
	case pfm.OutcomeReauthRequired:
		if changed {
			logger.Warn("link needs re-consent", "error_class", class)
		} else {
			logger.Info("refresh refused, but the user consented again meanwhile: the link stays active", "error_class", class)
		}
	case pfm.OutcomeSnoozed:
		logger.Info("sync snoozed", "error_class", class, "error", run.Error)
	default:
		switch {
		case consumerapi.IsAuthFailure(syncErr) && changed:
			result = river.JobCancel(syncErr)
			logger.Warn("link needs re-consent: the bank kept refusing the refresh token", "error_class", class,
				"oauth_error", consumerapi.OAuthErrorOf(syncErr), "threshold", s.cfg.AuthFailureThreshold, "request_id", run.RequestID)
		case consumerapi.IsAuthFailure(syncErr):
			logger.Warn("sync failed: refresh refused", "error_class", class, "oauth_error", consumerapi.OAuthErrorOf(syncErr),
				"error", run.Error, "request_id", run.RequestID)
		default:
			logger.Warn("sync failed", "error_class", class, "error", run.Error, "request_id", run.RequestID)
		}
	}
	s.metrics.SyncFinished(link.InstitutionSlug, outcome, class, s.now().Sub(started), run)
	return result
}

// finish records how a sync attempt ended, with the events that tell the
// app, in tx. It reports whether the link moved to reauth_required.
func (s *Syncer) finish(ctx context.Context, tx *store.Store, link pfm.Link, trigger Trigger, run store.SyncRun, missing []string, syncErr, result error) (bool, error) {
	if err := tx.FinishSyncRun(ctx, run); err != nil {
		return false, err
	}
	ev := events.Event{AppUserRef: link.AppUserRef, LinkID: link.ID}
	reauth := events.Event{Type: events.LinkStatusChanged, AppUserRef: link.AppUserRef, LinkID: link.ID,
		Data: events.LinkStatusChangedData{OldStatus: string(pfm.LinkActive), NewStatus: string(pfm.LinkReauthRequired), ErrorClass: string(run.ErrorClass)}}
	if run.Outcome == pfm.OutcomeSuccess || run.Outcome == pfm.OutcomePartial || run.Added+run.Modified+run.Removed > 0 {
		if err := s.queueTransferVerdicts(ctx, tx, link.AppUserRef); err != nil {
			return false, err
		}
	}
	switch run.Outcome {
	case pfm.OutcomeSuccess, pfm.OutcomePartial:
		next := s.now().Add(link.SyncInterval + s.jitter(link.SyncInterval))
		if err := tx.RecordSyncSuccess(ctx, link.ID, missing, next); err != nil {
			return false, err
		}
		ev.Type, ev.Data = events.SyncCompleted, events.SyncCompletedData{SyncRunID: run.ID, Trigger: string(trigger),
			Outcome: string(run.Outcome), Accounts: run.Accounts, Added: run.Added, Modified: run.Modified, Removed: run.Removed, MissingScopes: missing}
		return false, s.events.Emit(ctx, tx, ev)
	case pfm.OutcomeReauthRequired:
		changed, err := tx.MarkReauthRequired(ctx, link.ID, link.ConsentedAt, pfm.ClassConsentRevoked, "the bank refused the refresh token: the user must consent again")
		if err != nil || !changed {
			return false, err
		}
		return true, s.events.Emit(ctx, tx, reauth)
	case pfm.OutcomeSnoozed, pfm.OutcomeSkipped:
		return false, nil
	}
	willRetry := true
	if consumerapi.IsAuthFailure(syncErr) {
		// A refresh refused with a non-standard authentication error is
		// counted; at the threshold the link asks for a new consent.
		moved, err := tx.RecordAuthFailure(ctx, link.ID, link.ConsentedAt, s.cfg.AuthFailureThreshold, run.ErrorClass, run.Error)
		if err != nil {
			return false, err
		}
		if moved {
			return true, s.events.Emit(ctx, tx, reauth)
		}
	} else {
		if err := tx.RecordSyncFailure(ctx, link.ID, run.ErrorClass, run.Error); err != nil {
			return false, err
		}
		var cancel *river.JobCancelError
		willRetry = !errors.As(result, &cancel)
	}
	ev.Type, ev.Data = events.SyncFailed, events.SyncFailedData{SyncRunID: run.ID, Trigger: string(trigger),
		ErrorClass: string(run.ErrorClass), WillRetry: willRetry}
	return false, s.events.Emit(ctx, tx, ev)
}

// classify maps a sync error to an outcome, an error class and River's
// instruction.
// paused is what remains of the institution's pause: a rate-limited sync
// runs again after it.
func (s *Syncer) classify(err error, missing []string, paused time.Duration) (outcome pfm.SyncOutcome, class pfm.ErrorClass, result error) {
	switch {
	case err == nil && len(missing) > 0:
		return pfm.OutcomePartial, pfm.ClassForbidden, nil
	case err == nil:
		return pfm.OutcomeSuccess, "", nil
	case consumerapi.IsConsentRevoked(err):
		return pfm.OutcomeReauthRequired, pfm.ClassConsentRevoked, river.JobCancel(err)
	case errors.Is(err, errLinkGone):
		return pfm.OutcomeSkipped, pfm.ClassLinkGone, river.JobCancel(err)
	case consumerapi.IsRateLimited(err):
		wait, ok := consumerapi.RetryAfter(err)
		if !ok || wait <= 0 {
			wait = 30 * time.Second
		}
		wait = afterPause(min(max(wait, paused), s.cfg.MaxRateLimitSnooze))
		return pfm.OutcomeSnoozed, pfm.ClassRateLimited, river.JobSnooze(wait)
	case errors.Is(err, tokenseal.ErrOpen), errors.Is(err, tokenseal.ErrUnknownKey), errors.Is(err, tokenseal.ErrMalformed):
		return pfm.OutcomeFailed, pfm.ClassTokenUnreadable, err
	case isMalformed(err):
		return pfm.OutcomeFailed, pfm.ClassMalformed, err
	case errors.Is(err, errRepeatedPage):
		return pfm.OutcomeFailed, pfm.ClassRepeatedPage, err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return pfm.OutcomeFailed, pfm.ClassCanceled, err
	}
	return pfm.OutcomeFailed, ErrorClassOf(err), err
}

// bookkeep runs a datastore write that must happen even when the job's
// context was cancelled (shutdown, timeout).
func (s *Syncer) bookkeep(ctx context.Context, fn func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := fn(ctx); err != nil {
		s.logger.Error("record sync bookkeeping", "error", err)
	}
}

// jitter returns a random share of up to cfg.Jitter of d.
func (s *Syncer) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Float64() * s.cfg.Jitter * float64(d))
}

// Jitter exposes the scheduler's spreading of next_sync_at.
func (s *Syncer) Jitter(d time.Duration) time.Duration { return s.jitter(d) }

// syncLink refreshes the token, optionally asks the bank to refresh, and
// syncs accounts and transactions. It returns the scopes it could not use.
func (s *Syncer) syncLink(ctx context.Context, link pfm.Link, inst *institutionSlots, trigger Trigger, run *store.SyncRun, obs *syncObservations, logger *slog.Logger) ([]string, error) {
	tokens := linktoken.NewSource(s.store, s.sealer, inst.Client, link.ID, s.now)
	// The refresh comes first: a rotated refresh token is committed before
	// any other call.
	if _, err := tokens.AccessToken(ctx); err != nil {
		if errors.Is(err, pfm.ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", errLinkGone, err)
		}
		return nil, err
	}
	granted := link.GrantedScopes
	if g := tokens.GrantedScopes(); len(g) > 0 {
		granted = g
	}
	var missing []string
	for _, scope := range []string{consumerapi.ScopeAccounts, consumerapi.ScopeTransactions} {
		if !slices.Contains(granted, scope) {
			missing = append(missing, scope)
		}
	}
	if slices.Contains(missing, consumerapi.ScopeAccounts) {
		return missing, nil // nothing can be read without the accounts scope
	}
	session := inst.Client.Session(link.BannoUserID, tokens)

	var task *consumerapi.TaskResult
	if (trigger.Interactive() && s.cfg.FetchOnInteractive) || (!trigger.Interactive() && s.cfg.FetchOnScheduled) {
		res, err := session.RefreshData(ctx, s.cfg.FetchMaxWait)
		switch {
		case err == nil:
			task = res
		case consumerapi.IsRateLimited(err), consumerapi.IsConsentRevoked(err), ctx.Err() != nil:
			return missing, err
		default:
			// The refresh at the bank is an optimisation; the data it
			// already has is still worth syncing.
			logger.Warn("data refresh at the bank failed; syncing what it has", "error_class", ErrorClassOf(err), "error", err)
		}
	}

	list, err := session.Accounts(ctx)
	if consumerapi.IsForbidden(err) {
		return append(missing, consumerapi.ScopeAccounts), nil
	}
	if err != nil {
		return missing, fmt.Errorf("list accounts: %w", err)
	}
	newer := taskBalances(task)
	inputs := make([]store.AccountInput, 0, len(list.Accounts))
	for _, a := range list.Accounts {
		in, err := accountInput(a, newer)
		if err != nil {
			return missing, err
		}
		inputs = append(inputs, in)
	}
	before, err := s.store.LinkAccounts(ctx, link.ID)
	if err != nil {
		return missing, err
	}
	// Accounts already closed when first seen are stored too (inactive,
	// with their history).
	closedAtLink, err := s.closedAtLink(ctx, session, list.InactivatedAccountIDs, before, logger)
	if err != nil {
		return missing, err
	}
	var stored map[string]store.StoredAccount
	err = s.store.Transact(ctx, func(tx *store.Store) error {
		var err error
		if stored, err = tx.UpsertAccounts(ctx, link.ID, append(slices.Clip(inputs), closedAtLink...)); err != nil {
			return err
		}
		if _, err := tx.InactivateAccounts(ctx, link.ID, list.InactivatedAccountIDs, s.now()); err != nil {
			return err
		}
		return s.emitAccountsChanged(ctx, tx, link, before, stored, list.InactivatedAccountIDs)
	})
	if err != nil {
		return missing, err
	}
	var snaps []store.BalanceSnapshot
	for _, in := range inputs {
		if in.Balance != nil && in.BalanceAsOf != nil {
			snaps = append(snaps, store.BalanceSnapshot{AccountID: stored[in.ProviderID].ID, Balance: *in.Balance, AvailableBalance: in.AvailableBalance, AsOf: *in.BalanceAsOf})
		}
	}
	if err := s.store.SaveBalanceSnapshots(ctx, snaps); err != nil {
		return missing, err
	}
	run.Accounts = len(list.Accounts)

	if slices.Contains(missing, consumerapi.ScopeTransactions) {
		return missing, nil
	}
	// Active accounts, plus accounts the bank inactivated since the last
	// sync: their final transactions are read once more.
	var targets []accountTarget
	for _, in := range inputs {
		targets = append(targets, accountTarget{stored: stored[in.ProviderID], input: in})
	}
	for _, id := range list.InactivatedAccountIDs {
		prev, known := before[id]
		if known && prev.InactiveAt == nil {
			targets = append(targets, accountTarget{stored: prev})
		}
	}
	more, err := s.closedTargets(ctx, list.InactivatedAccountIDs, before, closedAtLink, stored)
	if err != nil {
		return missing, err
	}
	targets = append(targets, more...)
	if shrunk(before, list) {
		obs.shrunkCount = true
	}
	forbidden, err := s.syncAccounts(ctx, session, link, targets, run, obs, logger)
	if err != nil {
		return missing, err
	}
	if forbidden {
		missing = append(missing, consumerapi.ScopeTransactions)
	}
	return missing, nil
}

// syncAccounts reads the transactions of a link's accounts (then repairs
// each active one), up to AccountConcurrency accounts at once: with a bank
// that takes a few hundred milliseconds per request, a link's sync is a
// chain of requests per account, and reading the accounts side by side
// makes it as long as the longest chain instead of their sum. Each reader
// has one request in flight at a time and commits its pages one by one in
// its own transactions; what the bank sees per second stays bounded by the
// institution's request budget and its pauses.
//
// The accounts share one bound on the pages in flight (pageBudget): as
// many pages as accounts read at once (at least pagesPerSyncAtLeast),
// rather than two for every account; an account reads a page ahead of its
// commit only with a place no other account holds.
//
// Once an account is done, its reader slot and page place may go to a
// second reader of another account's backfill windows (backfillHelpers),
// so the sync does not wait on its longest account alone.
//
// An account the bank refuses (403) does not stop the others; it is
// reported as forbidden. Any other error stops the accounts not finished
// and is returned (the first one seen); what the others committed stands,
// as it does when a sync stops part way.
func (s *Syncer) syncAccounts(ctx context.Context, session *consumerapi.Session, link pfm.Link, targets []accountTarget,
	run *store.SyncRun, obs *syncObservations, logger *slog.Logger) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu        sync.Mutex
		wg        sync.WaitGroup
		forbidden bool
		firstErr  error
		started   int
	)
	sem := make(chan struct{}, s.cfg.AccountConcurrency)
	pages := newPageBudget(max(min(len(targets), s.cfg.AccountConcurrency), pagesPerSyncAtLeast))
	helpers := newBackfillHelpers(sem, pages, logger, func() { s.metrics.SecondReaderStarted(link.InstitutionSlug) })
	// syncOne syncs t with run and observations of its own, merged into
	// the link's when it ends.
	syncOne := func(t accountTarget) {
		defer wg.Done()
		defer func() {
			<-sem
			helpers.wake()
		}()
		var own store.SyncRun
		t.obs = &syncObservations{shrunkCount: obs.shrunkCount}
		if s.cfg.AccountReaders > 1 {
			t.helpers = helpers
		}
		var counts store.WriteCounts
		place, err := pages.account(ctx)
		if err == nil {
			t.pages = place
			began := time.Now()
			counts, err = s.syncTransactions(ctx, session, link, t)
			place.done()
			logger.Debug("account's transactions read", "account_id", t.stored.ID, "took", time.Since(began).Round(time.Millisecond),
				"added", counts.Added, "modified", counts.Modified, "removed", counts.Removed)
			helpers.accountFinished()
		}
		if err == nil && t.input.ProviderID != "" && !t.closed {
			err = s.repairAccount(ctx, session, link, t, &own, t.obs, logger)
		}
		mu.Lock()
		defer mu.Unlock()
		run.Added += counts.Added + own.Added
		run.Modified += counts.Modified + own.Modified
		run.Removed += counts.Removed + own.Removed
		run.StalePendingRemoved += own.StalePendingRemoved
		if own.Reconcile.Ran {
			mergeReconcile(&run.Reconcile, own.Reconcile)
		}
		obs.quarantined += t.obs.quarantined
		switch {
		case consumerapi.IsForbidden(err):
			// Refused for this account: the others may still be readable.
			forbidden = true
		case err != nil && firstErr == nil:
			firstErr = fmt.Errorf("sync transactions of account %s: %w", t.stored.ID, err)
			cancel()
		}
	}
	for _, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		started++
		wg.Add(1)
		go syncOne(t)
	}
	// Slots freed from now on may go to second readers.
	helpers.allStarted()
	wg.Wait()
	if firstErr == nil && started < len(targets) {
		// ctx ended before every account started: the sync is not done.
		firstErr = fmt.Errorf("sync transactions: %w", context.Cause(ctx))
	}
	return forbidden, firstErr
}

// pagesPerSyncAtLeast is the fewest pages a sync holds in flight: one
// account alone still reads one page ahead of its commit.
const pagesPerSyncAtLeast = 2

// emitAccountsChanged tells the app about accounts new to the link or
// inactivated by the bank since the last sync.
func (s *Syncer) emitAccountsChanged(ctx context.Context, tx *store.Store, link pfm.Link, before, stored map[string]store.StoredAccount, inactivated []string) error {
	data := events.AccountsChangedData{Added: []string{}, Inactivated: []string{}, Accounts: len(stored)}
	for providerID, a := range stored {
		if _, known := before[providerID]; !known {
			data.Added = append(data.Added, a.ID)
		}
	}
	for _, providerID := range inactivated {
		if prev, known := before[providerID]; known && prev.InactiveAt == nil {
			data.Inactivated = append(data.Inactivated, prev.ID)
		}
	}
	if len(data.Added) == 0 && len(data.Inactivated) == 0 {
		return nil
	}
	slices.Sort(data.Added)
	slices.Sort(data.Inactivated)
	return s.events.Emit(ctx, tx, events.Event{Type: events.AccountsChanged, AppUserRef: link.AppUserRef, LinkID: link.ID, Data: data})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
