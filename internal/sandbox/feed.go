package sandbox

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// This file serves transactions under a non-default Behaviour. The default
// path (getTransactions) is left untouched so that default responses stay
// byte-identical.

// feedSeed derives a deterministic 64-bit value from the bank's seed and
// the given parts.
func (s *Server) feedSeed(parts ...string) uint64 {
	h := sha256.New()
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(s.bank.Config().Seed))
	h.Write(seed[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// updatedAtOrAfter applies the behaviour's updatedSince comparison.
func updatedAtOrAfter(t, bound time.Time, mode string) bool {
	switch mode {
	case UpdatedSinceExclusive:
		return t.After(bound)
	case UpdatedSinceDay:
		day := bound.UTC().Truncate(24 * time.Hour)
		return !t.Before(day)
	}
	return !t.Before(bound)
}

// getTransactionsAs serves a transactions request under bh.
func (s *Server) getTransactionsAs(w http.ResponseWriter, r *http.Request, q bank.Query, bh Behaviour) {
	user, acct := r.PathValue("userId"), r.PathValue("accountId")
	now := s.clock.Now()
	limit := q.Limit
	capTo := bh.MaxPageLimit
	if capTo == 0 {
		capTo = s.opts.MaxPageLimit
	}
	if capTo > 0 && q.Paginate && limit > capTo {
		limit = capTo
	}
	if ext, ok := s.externalAccount(user, acct, now, bh); ok {
		page := bank.Page{AccountType: ext.AccountType, AccountSubType: ext.AccountSubType}
		if q.Paginate {
			page.Offset, page.Limit = q.Offset, limit
		}
		if err := writeAppended(w, http.StatusOK, page.AppendJSON); err != nil {
			http.Error(w, "encode response", http.StatusInternalServerError)
		}
		return
	}
	full, err := s.bank.Transactions(user, acct, now, bank.Query{Since: q.Since, Until: q.Until})
	var inact []bank.Inactivation
	if err == nil {
		inact, err = s.bank.Inactivations(user, acct, now)
	}
	switch {
	case errors.Is(err, bank.ErrUnknownAccount):
		writeAPIError(w, http.StatusNotFound, "account not found")
		return
	case errors.Is(err, bank.ErrInvalidQuery):
		writeAPIError(w, http.StatusBadRequest, "%v", err)
		return
	case err != nil:
		writeAPIError(w, http.StatusInternalServerError, "internal error")
		return
	}

	rows := full.Transactions
	for i := range rows {
		s.reshape(&rows[i], bh)
		if bh.StaleLastUpdated {
			rows[i].LastUpdated = rows[i].DatePosted
		}
	}
	if q.UpdatedSince != nil {
		kept := rows[:0]
		for _, t := range rows {
			if updatedAtOrAfter(t.LastUpdated.Time, *q.UpdatedSince, bh.UpdatedSince) {
				kept = append(kept, t)
			}
		}
		rows = kept
	}
	ids := []string{}
	for _, in := range inact {
		switch {
		case bh.SilentPendingRemoval == RemovalAll,
			bh.SilentPendingRemoval == RemovalDropped && !in.Replaced,
			bh.SilentPendingRemoval == RemovalReplaced && in.Replaced:
			continue
		case q.UpdatedSince != nil && !updatedAtOrAfter(in.At, *q.UpdatedSince, bh.UpdatedSince):
			continue
		}
		ids = append(ids, in.ID)
	}
	switch bh.InactivatedIDs {
	case InactivatedFirstPage:
		if q.Offset > 0 {
			ids = []string{}
		}
	case InactivatedUpdatedSinceOnly:
		if q.UpdatedSince == nil {
			ids = []string{}
		}
	case InactivatedNever:
		ids = []string{}
	}
	if bh.UnstableOrder && (q.Since != nil || q.UpdatedSince != nil) {
		rng := rand.New(rand.NewPCG(s.feedSeed("order", user, acct, r.URL.RawQuery), 0))
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	}
	// Like the default path: the parsed query always carries a limit
	// (500 unless given), so every response is a page.
	paginate := q.Paginate || q.Offset != 0 || q.Limit != 0
	offset := q.Offset
	if bh.IgnoreOffset {
		offset = 0
	}
	if paginate {
		start := min(offset, len(rows))
		rows = rows[start:min(start+limit, len(rows))]
	}

	page := bank.Page{
		Transactions:              rows,
		InactivatedTransactionIDs: ids,
		Offset:                    q.Offset,
		Limit:                     limit,
		AccountType:               full.AccountType,
		AccountSubType:            full.AccountSubType,
	}
	if !paginate {
		page.Offset, page.Limit = 0, len(rows)
	}
	bad := -1
	if m := bh.MalformedRecord; m != nil && len(rows) > 0 {
		pick := s.feedSeed("malformed", user, acct, r.URL.RawQuery)
		if m.Rate == 0 || float64(pick>>11)/(1<<53) < m.Rate {
			bad = m.Position
			if bad < 0 {
				bad += len(rows)
			}
			bad = min(max(bad, 0), len(rows)-1)
		}
	}
	s.stats.transactions(len(rows))
	err = writeAppended(w, http.StatusOK, func(b []byte) ([]byte, error) {
		return page.AppendJSONWith(b, func(b []byte, i int) ([]byte, error) {
			return appendWireTxn(b, rows[i], bh, i == bad)
		})
	})
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, "internal error")
	}
}

// appendWireTxn appends one transaction with the behaviour's record-level
// changes. Records it leaves alone are appended directly; altered ones go
// through a map of their fields.
func appendWireTxn(b []byte, t bank.Transaction, bh Behaviour, malformed bool) ([]byte, error) {
	pendingDate := bh.PendingDatePosted != "" && t.PendingStatus == bank.StatusInstitutionPending
	if !pendingDate && !malformed {
		return t.AppendJSON(b)
	}
	raw, err := t.AppendJSON(nil)
	if err != nil {
		return nil, fmt.Errorf("encode transaction: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("decode transaction: %w", err)
	}
	if pendingDate {
		if bh.PendingDatePosted == DatePostedNull {
			fields["datePosted"] = json.RawMessage("null")
		} else {
			delete(fields, "datePosted")
		}
	}
	if malformed {
		switch bh.MalformedRecord.Kind {
		case MalformedAmount:
			fields["amount"] = json.RawMessage(`"NaN"`)
		case MalformedAmountNumber:
			fields["amount"] = json.RawMessage(t.Amount.String())
		case MalformedMissingID:
			delete(fields, "id")
		}
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode transaction: %w", err)
	}
	return append(b, out...), nil
}

// Category names outside the documented list, and the categories they take
// transactions from under UnlistedCategories.
var unlistedCategories = map[string]string{
	"entertainment": "subscriptions",
	"personal":      "gifts & donations",
	"home":          "kids",
	"health":        "pets",
}

// NotEnriched is the category of history processed before enrichment.
const NotEnriched = "Not enriched"

// reshape applies the behaviour's data options to one transaction; the
// truth applies them too.
func (s *Server) reshape(t *bank.Transaction, bh Behaviour) {
	if bh.NotEnrichedDays > 0 {
		cutoff := s.bank.Config().Start.AddDate(0, 0, -bh.NotEnrichedDays)
		if t.DatePosted.Before(cutoff) {
			custom := ""
			if t.Enrichments != nil {
				custom = t.Enrichments.CustomExpenseCategory
			}
			t.DisplayName = t.Memo
			t.FilteredMemo, t.DisplayCity, t.DisplayState = "", "", ""
			t.Merchant = nil
			t.Enrichments = &bank.Enrichments{CleanMemo: t.Memo, ExpenseCategory: NotEnriched, CustomExpenseCategory: custom}
			return
		}
	}
	if bh.UnlistedCategories && t.Enrichments != nil {
		if alt, ok := unlistedCategories[t.Enrichments.ExpenseCategory]; ok && s.feedSeed("category", t.ID)%4 == 0 {
			t.Enrichments.ExpenseCategory = alt
		}
	}
}

// externalInstitution is the institution external accounts are held at.
func (s *Server) externalInstitution() bank.Institution {
	return bank.Institution{ID: s.uuidFor("external-institution"), Name: "Northwind Federal Credit Union"}
}

// uuidFor derives a version-4-shaped UUID from the seed and parts.
func (s *Server) uuidFor(parts ...string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d|%q", s.bank.Config().Seed, parts))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// externalAccounts returns the external accounts the user sees under bh:
// one savings account at another institution, shared by users 2k-1 and 2k.
func (s *Server) externalAccounts(userID string, now time.Time, bh Behaviour) []bank.Account {
	if !bh.ExternalAccounts {
		return nil
	}
	n, ok := s.bank.UserNumber(userID)
	if !ok {
		return nil
	}
	pair := fmt.Sprint((n + 1) / 2)
	h := s.feedSeed("external-account", pair)
	avail := bank.Money(h%5_000_000) * bank.Cent
	return []bank.Account{{
		ID:                           s.uuidFor("external-account", pair),
		Name:                         "Northwind Joint Savings",
		Numbers:                      fmt.Sprintf("*%04d", h>>32%10000),
		AccountType:                  bank.TypeDeposit,
		AccountSubType:               bank.SubTypeSavings,
		AccountStatus:                bank.StatusActive,
		Balance:                      avail,
		AvailableBalance:             &avail,
		FetchedDate:                  bank.Instant{Time: now.UTC().Truncate(time.Millisecond)},
		Institution:                  s.externalInstitution(),
		RoutingNumber:                "211274450",
		ContributesToAggregateTotals: true,
	}}
}

// externalAccount finds one of the user's external accounts.
func (s *Server) externalAccount(userID, accountID string, now time.Time, bh Behaviour) (bank.Account, bool) {
	for _, a := range s.externalAccounts(userID, now, bh) {
		if a.ID == accountID {
			return a, true
		}
	}
	return bank.Account{}, false
}

// Truth returns the user's ground truth at the data clock: what a perfect
// sync must hold. Feed options never change it; the data options of the
// current behaviour (external accounts, enrichment, categories) do.
func (s *Server) Truth(userID string) (Truth, bool) {
	now := s.clock.Now()
	t, ok := s.bank.Truth(userID, now)
	if !ok {
		return Truth{}, false
	}
	bh := s.behaviour.get()
	if bh.NotEnrichedDays > 0 || bh.UnlistedCategories {
		for _, txns := range t.Transactions {
			for i := range txns {
				s.reshape(&txns[i], bh)
			}
		}
	}
	for _, a := range s.externalAccounts(userID, now, bh) {
		t.Accounts = append(t.Accounts, a)
		t.Transactions[a.ID] = []bank.Transaction{}
		t.RemovedTransactionIDs[a.ID] = []string{}
	}
	return Truth{Clock: now, Truth: t}, true
}
