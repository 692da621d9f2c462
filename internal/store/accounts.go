package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// AccountInput is one account as the bank reported it, normalized.
// Decimal fields are exact decimal strings (nil when absent).
type AccountInput struct {
	ProviderID       string
	Name             string
	MaskedNumber     string
	Type             string
	Subtype          string
	Status           string
	Balance          *string
	AvailableBalance *string
	CreditLimit      *string
	AvailableCredit  *string
	PaymentDueAmount *string
	PaymentDueDate   *time.Time
	InterestRate     *string
	BalanceAsOf      *time.Time
	Hidden           bool
	Contributes      bool
	// InstitutionID and InstitutionName are the institution that holds
	// the account (for an external account, not the linking bank).
	InstitutionID   string
	InstitutionName string
	Raw             []byte
}

// StoredAccount is an account's datastore identity.
type StoredAccount struct {
	ID          string
	ProviderID  string
	IsLiability bool
	InactiveAt  *time.Time
}

// UpsertAccounts writes the link's accounts (unchanged rows are not
// touched), reactivating any that were inactive, and returns every account
// of the link by provider id.
func (s *Store) UpsertAccounts(ctx context.Context, linkID string, in []AccountInput) (map[string]StoredAccount, error) {
	in = dedupeAccounts(in)
	n := len(in)
	var (
		ids, names, masks, types, subtypes, statuses = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		bal, avail, limit, availCredit, due, rate    = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		dueDates, asOf                               = make([]*time.Time, n), make([]*time.Time, n)
		hidden, contributes                          = make([]bool, n), make([]bool, n)
		raws                                         = make([]string, n)
		instIDs, instNames                           = make([]string, n), make([]string, n)
	)
	for i, a := range in {
		ids[i], names[i], masks[i], types[i], subtypes[i], statuses[i] = a.ProviderID, a.Name, a.MaskedNumber, a.Type, a.Subtype, a.Status
		bal[i], avail[i], limit[i], availCredit[i], due[i], rate[i] = a.Balance, a.AvailableBalance, a.CreditLimit, a.AvailableCredit, a.PaymentDueAmount, a.InterestRate
		dueDates[i], asOf[i] = a.PaymentDueDate, a.BalanceAsOf
		hidden[i], contributes[i] = a.Hidden, a.Contributes
		raws[i] = string(a.Raw)
		instIDs[i], instNames[i] = a.InstitutionID, a.InstitutionName
	}
	_, err := s.db.Exec(ctx, `
		INSERT INTO accounts (link_id, provider_account_id, name, masked_number, account_type, account_subtype,
			account_status, balance, available_balance, credit_limit, available_credit, payment_due_amount,
			payment_due_date, interest_rate, balance_as_of, hidden, contributes_to_totals, raw,
			institution_id, institution_name)
		SELECT $1, t.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::date[],
			$14::numeric[], $15::timestamptz[], $16::bool[], $17::bool[], $18::jsonb[], $19::text[], $20::text[]) AS t
		ON CONFLICT (link_id, provider_account_id) DO UPDATE SET
			name = EXCLUDED.name, masked_number = EXCLUDED.masked_number, account_type = EXCLUDED.account_type,
			account_subtype = EXCLUDED.account_subtype, account_status = EXCLUDED.account_status,
			balance = EXCLUDED.balance, available_balance = EXCLUDED.available_balance,
			credit_limit = EXCLUDED.credit_limit, available_credit = EXCLUDED.available_credit,
			payment_due_amount = EXCLUDED.payment_due_amount, payment_due_date = EXCLUDED.payment_due_date,
			interest_rate = EXCLUDED.interest_rate, balance_as_of = EXCLUDED.balance_as_of,
			hidden = EXCLUDED.hidden, contributes_to_totals = EXCLUDED.contributes_to_totals,
			raw = EXCLUDED.raw, institution_id = EXCLUDED.institution_id,
			institution_name = EXCLUDED.institution_name, inactive_at = NULL, updated_at = now()
		WHERE accounts.raw IS DISTINCT FROM EXCLUDED.raw
		   OR accounts.balance_as_of IS DISTINCT FROM EXCLUDED.balance_as_of
		   OR accounts.inactive_at IS NOT NULL`,
		linkID, ids, names, masks, types, subtypes, statuses,
		bal, avail, limit, availCredit, due, dueDates, rate, asOf, hidden, contributes, raws, instIDs, instNames)
	if err != nil {
		return nil, translate(err, "upsert accounts of link %s", linkID)
	}
	return s.LinkAccounts(ctx, linkID)
}

// dedupeAccounts keeps the last report of each provider id.
func dedupeAccounts(in []AccountInput) []AccountInput {
	seen := make(map[string]int, len(in))
	out := make([]AccountInput, 0, len(in))
	for _, a := range in {
		if i, ok := seen[a.ProviderID]; ok {
			out[i] = a
			continue
		}
		seen[a.ProviderID] = len(out)
		out = append(out, a)
	}
	return out
}

// LinkAccounts returns every account of the link by provider id.
func (s *Store) LinkAccounts(ctx context.Context, linkID string) (map[string]StoredAccount, error) {
	rows, err := s.db.Query(ctx, `SELECT id, provider_account_id, is_liability, inactive_at FROM accounts WHERE link_id = $1`, linkID)
	if err != nil {
		return nil, translate(err, "list accounts of link %s", linkID)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StoredAccount, error) {
		var a StoredAccount
		err := row.Scan(&a.ID, &a.ProviderID, &a.IsLiability, &a.InactiveAt)
		return a, err
	})
	if err != nil {
		return nil, translate(err, "list accounts of link %s", linkID)
	}
	out := make(map[string]StoredAccount, len(list))
	for _, a := range list {
		out[a.ProviderID] = a
	}
	return out, nil
}

// InactivateAccounts marks the link's accounts with these provider ids
// inactive at t (history is kept) and returns how many changed.
func (s *Store) InactivateAccounts(ctx context.Context, linkID string, providerIDs []string, t time.Time) (int64, error) {
	if len(providerIDs) == 0 {
		return 0, nil
	}
	tag, err := s.db.Exec(ctx, `
		UPDATE accounts SET inactive_at = $3, updated_at = now()
		WHERE link_id = $1 AND provider_account_id = ANY($2) AND inactive_at IS NULL`, linkID, providerIDs, t)
	if err != nil {
		return 0, translate(err, "inactivate accounts of link %s", linkID)
	}
	return tag.RowsAffected(), nil
}

// BalanceSnapshot is one account's balance observed at AsOf.
type BalanceSnapshot struct {
	AccountID        string
	Balance          string
	AvailableBalance *string
	AsOf             time.Time
}

// SaveBalanceSnapshots records one balance per account per day (UTC): the
// latest observation of the day wins; an older one never overwrites it.
func (s *Store) SaveBalanceSnapshots(ctx context.Context, snaps []BalanceSnapshot) error {
	if len(snaps) == 0 {
		return nil
	}
	ids, bals, avails, asOf := make([]string, len(snaps)), make([]string, len(snaps)), make([]*string, len(snaps)), make([]time.Time, len(snaps))
	for i, sn := range snaps {
		ids[i], bals[i], avails[i], asOf[i] = sn.AccountID, sn.Balance, sn.AvailableBalance, sn.AsOf
	}
	_, err := s.db.Exec(ctx, `
		INSERT INTO balance_snapshots (account_id, day, balance, available_balance, as_of)
		SELECT DISTINCT ON (t.account_id, (t.as_of AT TIME ZONE 'UTC')::date)
			t.account_id, (t.as_of AT TIME ZONE 'UTC')::date, t.balance, t.available, t.as_of
		FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::timestamptz[]) AS t(account_id, balance, available, as_of)
		ORDER BY t.account_id, (t.as_of AT TIME ZONE 'UTC')::date, t.as_of DESC
		ON CONFLICT (account_id, day) DO UPDATE SET
			balance = EXCLUDED.balance, available_balance = EXCLUDED.available_balance, as_of = EXCLUDED.as_of
		WHERE EXCLUDED.as_of >= balance_snapshots.as_of
		  AND (balance_snapshots.balance, balance_snapshots.available_balance, balance_snapshots.as_of)
		      IS DISTINCT FROM (EXCLUDED.balance, EXCLUDED.available_balance, EXCLUDED.as_of)`,
		ids, bals, avails, asOf)
	return translate(err, "save balance snapshots")
}
