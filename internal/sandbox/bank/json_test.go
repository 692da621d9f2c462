package bank

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(got))
}

func indentJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	return buf.Bytes()
}

// goldenSample picks, over a few users, the first transaction of each
// (account subtype, type, pending status, modified) combination.
func goldenSample(t *testing.T, b *Bank, now time.Time) []Transaction {
	seen := map[string]bool{}
	var out []Transaction
	for n := 1; n <= 6; n++ {
		tr := truthAt(t, b, n, now)
		u := b.user(n)
		for _, a := range u.accounts {
			for _, x := range tr.Transactions[a.id] {
				key := a.kind.subType() + "|" + x.Type + "|" + x.PendingStatus + "|" +
					x.Enrichments.CustomExpenseCategory + "|" + x.Notes
				if len(x.Tags) > 0 {
					key += "|tagged"
				}
				if !seen[key] {
					seen[key] = true
					out = append(out, x)
				}
			}
		}
	}
	return out
}

func TestGoldenJSON(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: 42, Users: 6, HistoryDays: 120, FutureDays: 30})
	now := b.Config().Start
	id := b.UserID(1)
	prof, ok := b.Profile(id)
	require.True(t, ok)
	accts, inact, ok := b.Accounts(id, now)
	require.True(t, ok)
	golden(t, "profile.golden.json", indentJSON(t, prof))
	golden(t, "accounts.golden.json", indentJSON(t, map[string]any{"accounts": accts, "inactivatedAccountIds": inact}))
	golden(t, "transactions.golden.json", indentJSON(t, goldenSample(t, b, now)))
	page, err := b.Transactions(id, accts[0].ID, now, Query{Limit: 2, Offset: 1, Paginate: true})
	require.NoError(t, err)
	golden(t, "page.golden.json", indentJSON(t, page))

	// A digest of much more output pins the generator across machines.
	h := sha256.New()
	for n := 1; n <= 3; n++ {
		for _, at := range []time.Time{now.Add(-days(40)), now.Add(days(17.5))} {
			h.Write(snapshotJSON(t, b, n, at))
		}
	}
	golden(t, "snapshot.sha256", []byte(hex.EncodeToString(h.Sum(nil))+"\n"))
}

var (
	accountFields = []string{
		"id", "name", "numbers", "accountType", "accountSubType", "accountStatus", "balance",
		"availableBalance", "creditLimit", "availableCredit", "paymentDueAmount", "paymentDueDate",
		"interestRate", "fetchedDate", "institution", "routingNumber", "hidden", "contributesToAggregateTotals",
	}
	accountRequired = []string{
		"id", "name", "numbers", "accountType", "accountSubType", "accountStatus", "balance",
		"fetchedDate", "institution", "routingNumber", "hidden", "contributesToAggregateTotals",
	}
	txnFields = []string{
		"id", "accountId", "amount", "currency", "datePosted", "date", "pendingStatus", "type", "subtype",
		"memo", "filteredMemo", "displayName", "displayCity", "displayState", "checkNumber", "runningBalance",
		"sequence", "lastUpdated", "tags", "notes", "merchant", "enrichments",
	}
	txnRequired    = []string{"id", "accountId", "amount", "currency", "datePosted", "date", "pendingStatus", "type", "subtype", "memo", "sequence", "lastUpdated"}
	merchantFields = []string{"name", "url", "phone", "category", "location"}
	locationFields = []string{"city", "state", "zip", "lat", "long"}
	enrichFields   = []string{"cleanMemo", "expenseCategory", "customExpenseCategory", "merchantId", "logo"}

	reMoney   = regexp.MustCompile(`^-?\d+\.\d{2,4}$`)
	reInstant = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	reDate    = regexp.MustCompile(`^\d{4}-\d\d-\d\d$`)
	reUUID    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

	txnTypes    = []string{"POS", "CHECK", "ECHECK", "FEE", "INTEREST", "TAX", "TRANSFER", "ONLINE", "ATM", "UNKNOWN"}
	txnSubtypes = []string{"PinDebit", "EFT", "Undefined"}
	statuses    = []string{"InstitutionPending", "Reconciled", "NoReconciliation"}
	categories  = []string{"clothing", "diningout", "education", "entertainment", "fees", "groceries", "health", "home",
		"income", "payment", "personal", "savings", "transfer", "transportation", "travel", "utilities"}
)

// requireKeys checks that obj only has allowed keys and has the required ones.
func requireKeys(t *testing.T, obj map[string]any, allowed, required []string, what string) {
	for k := range obj {
		check(t, slices.Contains(allowed, k), "%s has unexpected field %q", what, k)
	}
	for _, k := range required {
		_, ok := obj[k]
		check(t, ok, "%s lacks %q", what, k)
	}
}

// matches reports whether v is a string matching re.
func matches(re *regexp.Regexp, v any) bool {
	s, ok := v.(string)
	return ok && re.MatchString(s)
}

func TestWireFormat(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: 3, Users: 8, HistoryDays: 150, FutureDays: 30})
	now := b.Config().Start.Add(days(10.3))
	seenType := map[string]bool{}
	seenStatus := map[string]bool{}
	seenField := map[string]bool{}
	subCent := 0
	for n := 1; n <= b.UserCount(); n++ {
		tr := truthAt(t, b, n, now)
		var accts []map[string]any
		require.NoError(t, json.Unmarshal(mustJSON(t, tr.Accounts), &accts))
		for _, a := range accts {
			requireKeys(t, a, accountFields, accountRequired, "account")
			require.Regexp(t, reUUID, a["id"])
			require.Regexp(t, `^\*\d{4}$`, a["numbers"])
			require.Equal(t, "2026-01-25T19:12:00.000Z", a["fetchedDate"])
			require.Equal(t, "Active", a["accountStatus"])
			for _, k := range []string{"balance", "availableBalance", "creditLimit", "availableCredit", "paymentDueAmount", "interestRate"} {
				if v, ok := a[k]; ok {
					require.Regexp(t, reMoney, v, k)
				}
			}
			if v, ok := a["paymentDueDate"]; ok {
				require.Regexp(t, reDate, v)
			}
			inst := a["institution"].(map[string]any)
			requireKeys(t, inst, []string{"id", "name"}, []string{"id", "name"}, "institution")
			require.Regexp(t, `^\d{9}$`, a["routingNumber"])
			require.Equal(t, false, a["hidden"])
			require.Equal(t, true, a["contributesToAggregateTotals"])
			for k := range a {
				seenField["account."+k] = true
			}
		}
		for _, acct := range b.user(n).accounts {
			list, ok := tr.Transactions[acct.id]
			if !ok {
				continue
			}
			// Decode a sample: every fourth transaction and every rare shape.
			var sample []Transaction
			for i, x := range list {
				if i%4 == 0 || len(x.Tags) > 0 || x.Notes != "" || x.CheckNumber != "" ||
					x.Enrichments.CustomExpenseCategory != "" || x.PendingStatus == StatusInstitutionPending {
					sample = append(sample, x)
				}
			}
			var txns []map[string]any
			require.NoError(t, json.Unmarshal(mustJSON(t, sample), &txns))
			for _, x := range txns {
				requireKeys(t, x, txnFields, txnRequired, "transaction")
				check(t, matches(reUUID, x["id"]), "id %v", x["id"])
				check(t, x["accountId"] == acct.id, "accountId %v", x["accountId"])
				check(t, matches(reMoney, x["amount"]), "amount %v", x["amount"])
				check(t, x["currency"] == "USD", "currency %v", x["currency"])
				check(t, matches(reInstant, x["datePosted"]), "datePosted %v", x["datePosted"])
				check(t, x["date"] == x["datePosted"], "date %v", x["date"])
				check(t, matches(reInstant, x["lastUpdated"]), "lastUpdated %v", x["lastUpdated"])
				check(t, slices.Contains(txnTypes, x["type"].(string)), "type %v", x["type"])
				check(t, slices.Contains(txnSubtypes, x["subtype"].(string)), "subtype %v", x["subtype"])
				check(t, slices.Contains(statuses, x["pendingStatus"].(string)), "pendingStatus %v", x["pendingStatus"])
				_, hasRunning := x["runningBalance"]
				check(t, (x["pendingStatus"] != "InstitutionPending") == hasRunning, "runningBalance on %v", x)
				check(t, !hasRunning || matches(reMoney, x["runningBalance"]), "runningBalance %v", x["runningBalance"])
				check(t, (x["type"] == "CHECK") == (x["checkNumber"] != nil), "checkNumber on %v", x)
				if m, ok := x["merchant"].(map[string]any); ok {
					requireKeys(t, m, merchantFields, merchantFields, "merchant")
					requireKeys(t, m["location"].(map[string]any), locationFields, locationFields, "location")
				}
				e := x["enrichments"].(map[string]any)
				requireKeys(t, e, enrichFields, []string{"cleanMemo", "expenseCategory"}, "enrichments")
				check(t, slices.Contains(categories, e["expenseCategory"].(string)), "expenseCategory %v", e["expenseCategory"])
				if s := x["amount"].(string); len(s)-strings.IndexByte(s, '.') > 3 {
					subCent++
				}
				seenType[x["type"].(string)] = true
				seenStatus[x["pendingStatus"].(string)] = true
				for k := range x {
					seenField["txn."+k] = true
				}
				for k := range e {
					seenField["enrichments."+k] = true
				}
			}
		}
	}
	for _, typ := range []string{"POS", "CHECK", "ECHECK", "FEE", "INTEREST", "TRANSFER", "ONLINE", "ATM"} {
		require.True(t, seenType[typ], "no %s transaction", typ)
	}
	require.Len(t, seenStatus, 3)
	for _, f := range txnFields {
		require.True(t, seenField["txn."+f], "no transaction carries %q", f)
	}
	for _, f := range enrichFields {
		require.True(t, seenField["enrichments."+f], "no enrichment carries %q", f)
	}
	for _, f := range accountFields {
		require.True(t, seenField["account."+f], "no account carries %q", f)
	}
	require.Positive(t, subCent, "no sub-cent amounts")
}

func TestAccountNamesSometimesPadded(t *testing.T) {
	t.Parallel()
	b := newTestBank(t, Config{Start: FixedStart, Seed: 5, Users: 40, HistoryDays: 30, FutureDays: 10, Density: 0.05})
	padded := 0
	for n := 1; n <= 40; n++ {
		accts, _, ok := b.Accounts(b.UserID(n), b.Config().Start)
		require.True(t, ok)
		require.Equal(t, SubTypeChecking, accts[0].AccountSubType)
		for _, a := range accts {
			if a.Name != "" && (a.Name[0] == ' ' || a.Name[len(a.Name)-1] == ' ') {
				padded++
			}
		}
	}
	require.Positive(t, padded)
}
