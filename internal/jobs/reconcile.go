package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// Why a reconciliation pass ran.
const (
	reconcileScheduled   = "scheduled"
	reconcileOldPending  = "old_pending"
	reconcileShrunkCount = "shrunk_count"
)

// reconcileLead widens the re-read window into the past, so a row whose
// posted date moved just before the window is seen, not tombstoned.
const reconcileLead = 7 * 24 * time.Hour

// repairAccount runs after an active account's incremental pass: a
// reconciliation of the recent window when it is due or a suspicious sign
// calls for it, then the tombstoning of stale pending rows.
func (s *Syncer) repairAccount(ctx context.Context, session *consumerapi.Session, link pfm.Link, t accountTarget,
	run *store.SyncRun, obs *syncObservations, logger *slog.Logger) error {
	ref := s.now()
	if t.input.BalanceAsOf != nil {
		ref = *t.input.BalanceAsOf
	}
	ref = ref.Truncate(time.Millisecond)
	scope := store.FeedScope{AppUserRef: link.AppUserRef, LinkID: link.ID, AccountID: t.stored.ID}

	if !s.cfg.DisableReconcile {
		reason, err := s.reconcileReason(ctx, t, ref, obs)
		if err != nil {
			return err
		}
		if reason != "" {
			res, err := s.reconcile(ctx, session, t, scope, ref)
			if err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
			res.Reason = reason
			mergeReconcile(&run.Reconcile, res)
			run.Added, run.Modified, run.Removed = run.Added+res.Added, run.Modified+res.Modified, run.Removed+res.Removed
			if res.Repairs() > 0 {
				logger.Warn("reconciliation repaired rows the incremental feed missed", "account_id", t.stored.ID, "reason", reason,
					"removed", res.Removed, "modified", res.Modified, "added", res.Added)
			}
		}
	}
	if s.cfg.StalePendingAge > 0 {
		ids, err := s.store.StalePendingIDs(ctx, t.stored.ID, ref.Add(-s.cfg.StalePendingAge))
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			var n store.WriteCounts
			err := s.store.Transact(ctx, func(tx *store.Store) error {
				var err error
				n, err = tx.TombstoneTransactions(ctx, scope, ids, s.now(), store.RemovalStalePending)
				if err != nil {
					return err
				}
				return s.tellRemoved(ctx, tx, scope, n.Removed)
			})
			if err != nil {
				return err
			}
			run.StalePendingRemoved += n.Removed
			run.Removed += n.Removed
			logger.Warn("stale pending transactions tombstoned", "account_id", t.stored.ID, "removed", n.Removed)
		}
	}
	return nil
}

// reconcileReason says why the account's window must be reconciled now, or
// "" when it need not be.
func (s *Syncer) reconcileReason(ctx context.Context, t accountTarget, ref time.Time, obs *syncObservations) (string, error) {
	switch {
	case obs.shrunkCount:
		return reconcileShrunkCount, nil
	}
	old, err := s.store.StalePendingIDs(ctx, t.stored.ID, ref.Add(-s.cfg.SuspectPendingAge))
	if err != nil {
		return "", err
	}
	if len(old) > 0 {
		return reconcileOldPending, nil
	}
	if s.cfg.ReconcileEvery < 0 {
		return "", nil
	}
	st, err := s.store.AccountSyncState(ctx, t.stored.ID)
	if err != nil {
		return "", err
	}
	if st.ReconciledAt == nil {
		// The first sync has just read everything: the schedule starts now.
		return "", s.store.MarkReconciled(ctx, t.stored.ID, s.now(), ref)
	}
	if s.now().Sub(*st.ReconciledAt) >= s.cfg.ReconcileEvery {
		return reconcileScheduled, nil
	}
	return "", nil
}

func mergeReconcile(dst *store.ReconcileResult, r store.ReconcileResult) {
	if dst.Reason == "" {
		dst.Reason = r.Reason
	}
	dst.Ran = true
	dst.Removed += r.Removed
	dst.Modified += r.Modified
	dst.Added += r.Added
	dst.RowsRead += r.RowsRead
	dst.Requests += r.Requests
}

// reconcile re-reads the posted dates [from − lead, ref] and makes the
// stored window [from, ref] equal to it, where from is ReconcileWindow
// before the earlier of ref and the bank's clock at the last
// reconciliation (never beyond BackfillDepth): a bank may change a row long
// after posting it, and a change made while no pass ran (a link that did
// not sync for weeks) must not fall outside the window. Within it,
// rows the bank returns changed are corrected, rows it returns that were
// never stored are added, live rows it lists inactivated are removed, and
// live rows it no longer returns are tombstoned (reason reconciled); a
// row it lists inactivated is never written live, though it serves it.
// The window is read with since/until
// only, never relying on offset or order: a full page is split in two
// until every request returns less than a full page.
func (s *Syncer) reconcile(ctx context.Context, session *consumerapi.Session, t accountTarget, scope store.FeedScope, ref time.Time) (store.ReconcileResult, error) {
	var res store.ReconcileResult
	st, err := s.store.AccountSyncState(ctx, t.stored.ID)
	if err != nil {
		return res, err
	}
	from := reconcileFrom(ref, st.ReconciledThrough, s.cfg)
	read := spanRead{chunks: consumerapi.NewListChunks()}
	if err := s.readSpan(ctx, session, t.stored.ProviderID, from.Add(-reconcileLead), ref, &read); err != nil {
		return res, err
	}
	res.Requests = read.requests
	rows, rejected := read.rows, read.rejected
	seen := make(map[string]struct{}, len(rows)+len(rejected))
	for _, tx := range rows {
		seen[tx.ID] = struct{}{}
	}
	anonymous, undated := false, false
	for _, r := range rejected {
		if r.ID != "" {
			seen[r.ID] = struct{}{}
			continue
		}
		// A record without an id may be any live row posted when it
		// says: none of those is tombstoned; without a readable date,
		// none at all.
		anonymous = true
		at, ok := postedAtOf(r.Raw)
		if !ok {
			undated = true
			continue
		}
		same, err := s.store.LiveTransactionIDsPostedBetween(ctx, t.stored.ID, at, at)
		if err != nil {
			return res, err
		}
		for _, id := range same {
			seen[id] = struct{}{}
		}
	}
	live, err := s.store.LiveTransactionIDsPostedBetween(ctx, t.stored.ID, from, ref)
	if err != nil {
		return res, err
	}
	res.RowsRead = len(live)
	// A transaction the bank lists inactivated is not written live again,
	// though a page serves it too (as the sync's pages leave it out), and
	// one still live in the window is tombstoned: the incremental pass
	// applied the lists its own pages brought, which may not name it.
	// Only the listed ids the window holds are kept, not the whole list.
	isLive := make(map[string]struct{}, len(live))
	for _, id := range live {
		isLive[id] = struct{}{}
	}
	listed := map[string]struct{}{}
	for _, l := range read.listed {
		for i := range l.Len() {
			id := l.At(i)
			_, served := seen[id]
			_, stored := isLive[id]
			if served || stored {
				listed[id] = struct{}{}
			}
		}
	}
	var gone, relisted []string
	for _, id := range live {
		if _, ok := listed[id]; ok {
			relisted = append(relisted, id)
			continue
		}
		if _, ok := seen[id]; !ok && !(anonymous && undated) {
			gone = append(gone, id)
		}
	}
	accountType := t.accountType()
	inputs := make([]store.TransactionInput, 0, len(rows))
	for _, tx := range rows {
		if _, ok := listed[tx.ID]; ok {
			continue
		}
		in, err := transactionInput(tx, accountType)
		if err != nil {
			rejected = append(rejected, unmappable(tx, err))
			continue
		}
		inputs = append(inputs, in)
	}
	now := s.now()
	for start := 0; start < len(inputs) || start == 0; start += s.cfg.PageSize {
		chunk := inputs[start:min(start+s.cfg.PageSize, len(inputs))]
		first := start == 0
		err := s.store.Transact(ctx, func(tx *store.Store) error {
			up, err := tx.UpsertTransactions(ctx, scope, chunk)
			if err != nil {
				return err
			}
			res.Added += up.Added
			res.Modified += up.Modified
			if first {
				reconciled, err := tx.TombstoneTransactions(ctx, scope, gone, now, store.RemovalReconciled)
				if err != nil {
					return err
				}
				inactivated, err := tx.RemoveTransactions(ctx, scope, relisted, now)
				if err != nil {
					return err
				}
				res.Removed += reconciled.Removed + inactivated.Removed
				if err := s.tellRemoved(ctx, tx, scope, reconciled.Removed+inactivated.Removed); err != nil {
					return err
				}
				if err := s.setAside(ctx, tx, t, scope, chunk, rejected, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		if len(inputs) == 0 {
			break
		}
	}
	return res, s.store.MarkReconciled(ctx, t.stored.ID, now, ref)
}

// reconcileFrom is the earliest posted date a reconciliation at ref
// re-reads: ReconcileWindow before the last one (through), or before ref.
func reconcileFrom(ref time.Time, through *time.Time, cfg SyncConfig) time.Time {
	from := ref.Add(-cfg.ReconcileWindow)
	if through != nil && through.Before(ref) {
		from = through.Add(-cfg.ReconcileWindow)
	}
	return later(from, ref.Add(-cfg.BackfillDepth))
}

// spanRead is what readSpan has read of a reconciliation's window.
type spanRead struct {
	rows     []consumerapi.Transaction
	rejected []consumerapi.RejectedTransaction
	// listed holds the inactivated ids the pages listed, each chunk of the
	// bank's list once (chunks): the list repeats on every page.
	listed   []*consumerapi.IDList
	chunks   *consumerapi.ListChunks
	requests int
}

// readSpan reads every transaction posted in [from, to] into read, with
// requests that each return less than a full page, halving the span when
// a page is full.
func (s *Syncer) readSpan(ctx context.Context, session *consumerapi.Session, accountID string, from, to time.Time, read *spanRead) error {
	page, rej, err := s.fetchPage(ctx, session, accountID, consumerapi.TransactionQuery{Since: from, Until: to, Limit: s.cfg.PageSize}, read.chunks)
	read.requests++
	if err != nil {
		return err
	}
	limit := s.cfg.PageSize
	if page.Limit > 0 && page.Limit < limit {
		limit = page.Limit
	}
	// A full page's list is as valid as any page's: its chunks are taken
	// too, so each is decoded once in the pass.
	if page.InactivatedNew != nil && page.InactivatedNew.Len() > 0 {
		read.listed = append(read.listed, page.InactivatedNew)
	}
	read.chunks.Add(page.InactivatedChunks)
	if len(page.Transactions)+len(rej) < limit {
		read.rows = append(read.rows, page.Transactions...)
		read.rejected = append(read.rejected, rej...)
		return nil
	}
	if to.Sub(from) < 2*time.Millisecond {
		return fmt.Errorf("%w: %d or more transactions posted between %s and %s: the window cannot be split further",
			errMalformed, limit, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	mid := from.Add(to.Sub(from) / 2).Truncate(time.Millisecond)
	if err := s.readSpan(ctx, session, accountID, from, mid, read); err != nil {
		return err
	}
	return s.readSpan(ctx, session, accountID, mid.Add(time.Millisecond), to, read)
}

// postedAtOf reads the posted instant of a record the sync could not
// decode, as transactionInput would map it: datePosted, else date.
func postedAtOf(raw []byte) (time.Time, bool) {
	var r struct {
		DatePosted consumerapi.Instant `json:"datePosted"`
		Date       consumerapi.Instant `json:"date"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return time.Time{}, false
	}
	at := r.DatePosted.Time
	if at.IsZero() {
		at = r.Date.Time
	}
	return at, !at.IsZero()
}
