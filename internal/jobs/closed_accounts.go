package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// closedAtLink reads the accounts the bank reports only as inactivated
// that pfmsync has never stored (already closed when the user linked): each
// is fetched with GET /accounts/{id}, so it can be stored as inactive with
// its history. An account the bank no longer serves is skipped.
func (s *Syncer) closedAtLink(ctx context.Context, session *consumerapi.Session, inactivated []string,
	before map[string]store.StoredAccount, logger *slog.Logger) ([]store.AccountInput, error) {
	var out []store.AccountInput
	for _, id := range inactivated {
		if _, known := before[id]; known {
			continue
		}
		a, err := session.Account(ctx, id)
		if consumerapi.IsNotFound(err) {
			// Some banks stop serving a closed account but still serve its
			// transactions: the account is stored from what its
			// transactions page says.
			a, err = closedFromTransactions(ctx, session, id)
		}
		switch {
		case err == nil:
		case consumerapi.IsRateLimited(err), consumerapi.IsConsentRevoked(err), ctx.Err() != nil:
			return nil, err
		default:
			logger.Warn("closed account not readable; its history is not stored", "provider_account_id", id,
				"error_class", consumerapi.Classify(err).String(), "error", err)
			continue
		}
		in, err := accountInput(*a, nil)
		if err != nil {
			logger.Warn("closed account not storable", "provider_account_id", id, "error", err)
			continue
		}
		out = append(out, in)
	}
	return out, nil
}

// closedTargets are the closed accounts whose transactions this sync reads:
// those first seen in this sync, and closed accounts whose backfill an
// earlier sync did not finish.
func (s *Syncer) closedTargets(ctx context.Context, inactivated []string, before map[string]store.StoredAccount,
	fresh []store.AccountInput, stored map[string]store.StoredAccount) ([]accountTarget, error) {
	var out []accountTarget
	for _, in := range fresh {
		out = append(out, accountTarget{stored: stored[in.ProviderID], input: in, closed: true})
	}
	for _, id := range inactivated {
		prev, known := before[id]
		if !known || prev.InactiveAt == nil {
			continue
		}
		st, err := s.store.AccountSyncState(ctx, prev.ID)
		if err != nil {
			return nil, err
		}
		if !st.BackfillComplete {
			out = append(out, accountTarget{stored: prev, closed: true})
		}
	}
	return out, nil
}

// shrunk reports whether an account that was active vanished from the list
// without being inactivated: a count that shrank.
func shrunk(before map[string]store.StoredAccount, list *consumerapi.AccountList) bool {
	listed := map[string]bool{}
	for _, a := range list.Accounts {
		listed[a.ID] = true
	}
	for _, id := range list.InactivatedAccountIDs {
		listed[id] = true
	}
	for id, a := range before {
		if a.InactiveAt == nil && !listed[id] {
			return true
		}
	}
	return false
}

// partialReason turns a successful run that set records aside into a
// partial one, and says why a partial run is partial.
func partialReason(outcome pfm.SyncOutcome, class pfm.ErrorClass, obs *syncObservations) (pfm.SyncOutcome, pfm.ErrorClass, string) {
	if outcome != pfm.OutcomeSuccess && outcome != pfm.OutcomePartial {
		return outcome, class, ""
	}
	var reasons []string
	if outcome == pfm.OutcomePartial {
		reasons = append(reasons, string(class))
	}
	if obs.quarantined > 0 {
		reasons = append(reasons, "quarantined")
		if outcome == pfm.OutcomeSuccess {
			outcome, class = pfm.OutcomePartial, pfm.ClassQuarantined
		}
	}
	return outcome, class, strings.Join(reasons, ",")
}

// closedFromTransactions builds a closed account from its transactions
// page (its id and type) when the bank no longer serves the account.
func closedFromTransactions(ctx context.Context, session *consumerapi.Session, id string) (*consumerapi.Account, error) {
	page, _, err := session.TransactionsTolerant(ctx, id, consumerapi.TransactionQuery{Limit: 1})
	if err != nil {
		return nil, err
	}
	if page.Account == nil || page.Account.AccountType == "" {
		return nil, fmt.Errorf("%w: transactions of closed account %s carry no account type", errMalformed, id)
	}
	raw, err := json.Marshal(map[string]string{"id": id, "accountType": string(page.Account.AccountType),
		"accountSubType": page.Account.AccountSubType, "accountStatus": string(consumerapi.AccountStatusClosed)})
	if err != nil {
		return nil, err
	}
	return &consumerapi.Account{ID: id, AccountType: page.Account.AccountType, AccountSubType: page.Account.AccountSubType,
		AccountStatus: consumerapi.AccountStatusClosed, Raw: raw}, nil
}
