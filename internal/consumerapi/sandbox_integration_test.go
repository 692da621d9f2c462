package consumerapi_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
	"github.com/pfmsync/pfmsync/internal/synctest"
)

// These tests run the production client against the sandbox institution
// over real HTTP on loopback: the full OIDC code flow with ES256 ID tokens,
// every resource call, and the fault paths.

const (
	itClientID     = "pfmsync-it"
	itClientSecret = "it-secret"
	itRedirect     = "http://127.0.0.1:1/link/callback"
)

type sandboxBundle struct {
	srv    *sandbox.Running
	client *consumerapi.Client
}

func setupSandbox(t *testing.T, mutate ...func(*sandbox.Options)) *sandboxBundle {
	t.Helper()
	opts := sandbox.Options{
		Bank:    bank.Config{Seed: 11, Users: 3, HistoryDays: 400, FutureDays: 30, Density: 1},
		Clients: []authserver.Client{{ID: itClientID, Secret: itClientSecret, RedirectURIs: []string{itRedirect}}},
		Faults:  sandbox.Faults{TaskDelay: sandbox.Duration(100 * time.Millisecond)},
	}
	for _, m := range mutate {
		m(&opts)
	}
	srv, err := sandbox.Start("127.0.0.1:0", opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	client, err := consumerapi.New(context.Background(), consumerapi.Institution{
		Slug:         "sandbox",
		BaseURL:      srv.APIBaseURL(),
		ClientID:     itClientID,
		ClientSecret: consumerapi.Secret(itClientSecret),
		RedirectURL:  itRedirect,
		Retry:        consumerapi.RetryPolicy{MaxAttempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
	}, consumerapi.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	return &sandboxBundle{srv: srv, client: client}
}

// link runs the consent flow for user n through the sandbox's documented
// automation path and returns the verified tokens.
func (b *sandboxBundle) link(t *testing.T, n int, granted ...string) *consumerapi.Tokens {
	t.Helper()
	tokens, authURL := synctest.Authorize(t, b.client, b.srv.Issuer(), n, granted...)
	require.Equal(t, "S256", authURL.Query().Get("code_challenge_method"))
	require.Contains(t, authURL.Query().Get("claims"), authserver.ClaimInstitutionID)
	return tokens
}

func (b *sandboxBundle) session(t *testing.T, n int, tokens *consumerapi.Tokens) *consumerapi.Session {
	t.Helper()
	return b.client.Session(b.srv.Bank().UserID(n), consumerapi.StaticToken(tokens.AccessToken))
}

// allTransactions reads an account's transactions page by page (offset and
// limit, no overlap: the sandbox's data does not change during the test).
func allTransactions(ctx context.Context, t *testing.T, s *consumerapi.Session, accountID string, limit int) []consumerapi.Transaction {
	t.Helper()
	var got []consumerapi.Transaction
	for offset := 0; ; offset += limit {
		page, err := s.Transactions(ctx, accountID, consumerapi.TransactionQuery{Offset: offset, Limit: limit})
		require.NoError(t, err)
		got = append(got, page.Transactions...)
		if len(page.Transactions) < limit {
			return got
		}
	}
}

func TestSandboxFullFlowMatchesGroundTruth(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)
	ctx := context.Background()
	tokens := b.link(t, 1)

	require.Equal(t, b.srv.Bank().UserID(1), tokens.Claims.Subject)
	require.Equal(t, b.srv.Info().InstitutionID, tokens.Claims.InstitutionID)
	require.True(t, tokens.HasScope(authserver.ScopeTransactions))
	require.NotEmpty(t, tokens.RefreshToken.Reveal())

	s := b.session(t, 1, tokens)
	profile, err := s.Profile(ctx)
	require.NoError(t, err)
	require.Equal(t, b.srv.Bank().UserID(1), profile.ID)

	truth, ok := b.srv.Bank().Truth(b.srv.Bank().UserID(1), b.srv.Clock().Now())
	require.True(t, ok)

	list, err := s.Accounts(ctx)
	require.NoError(t, err)
	require.Len(t, list.Accounts, len(truth.Accounts))
	require.ElementsMatch(t, truth.InactivatedAccountIDs, list.InactivatedAccountIDs)
	for i, a := range list.Accounts {
		want := truth.Accounts[i]
		require.Equal(t, want.ID, a.ID)
		require.Equal(t, want.Balance.String(), a.Balance.String(), "balance of %s", a.ID)

		one, err := s.Account(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, a.ID, one.ID)

		got := allTransactions(ctx, t, s, a.ID, 50)
		wantTx := truth.Transactions[a.ID]
		require.Len(t, got, len(wantTx), "account %s", a.ID)
		for j := range got {
			require.Equal(t, wantTx[j].ID, got[j].ID)
			require.Equal(t, wantTx[j].Amount.String(), got[j].Amount.String())
			require.Equal(t, string(wantTx[j].PendingStatus), string(got[j].PendingStatus))
			require.True(t, wantTx[j].DatePosted.Equal(got[j].DatePosted.Time), "datePosted of %s", got[j].ID)
		}
	}

	res, err := s.RefreshData(ctx, 10*time.Second)
	require.NoError(t, err)
	require.True(t, res.Ended)
	require.NotEmpty(t, res.BalanceEvents())
}

func TestSandboxRefreshRotationAndRevocation(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)
	ctx := context.Background()
	tokens := b.link(t, 2)

	rotated, err := b.client.Refresh(ctx, tokens.RefreshToken)
	require.NoError(t, err)
	require.True(t, rotated.Rotated)
	require.NotEqual(t, tokens.RefreshToken.Reveal(), rotated.RefreshToken.Reveal())

	// The rotated token works; revoking it ends the grant.
	again, err := b.client.Refresh(ctx, rotated.RefreshToken)
	require.NoError(t, err)
	require.NoError(t, b.client.Revoke(ctx, again.RefreshToken, consumerapi.HintRefreshToken))
	_, err = b.client.Refresh(ctx, again.RefreshToken)
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked)
	require.Equal(t, consumerapi.KindConsentRevoked, consumerapi.Classify(err))
}

func TestSandboxDisconnectedUserIsConsentRevoked(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)
	tokens := b.link(t, 3)
	require.Equal(t, 1, b.srv.Disconnect(b.srv.Bank().UserID(3)))
	_, err := b.client.Refresh(context.Background(), tokens.RefreshToken)
	require.ErrorIs(t, err, consumerapi.ErrConsentRevoked)
	require.True(t, consumerapi.IsConsentRevoked(err))
}

func TestSandboxPartialConsent(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)
	ctx := context.Background()
	tokens := b.link(t, 1, authserver.ScopeOpenID, authserver.ScopeOfflineAccess, authserver.ScopeAccounts)
	require.False(t, tokens.HasScope(authserver.ScopeTransactions))
	s := b.session(t, 1, tokens)
	list, err := s.Accounts(ctx)
	require.NoError(t, err)
	_, err = s.Transactions(ctx, list.Accounts[0].ID, consumerapi.TransactionQuery{})
	require.True(t, consumerapi.IsForbidden(err), "got %v", err)
	_, err = s.Profile(ctx)
	require.True(t, consumerapi.IsForbidden(err), "got %v", err)
}

func TestSandboxFaults(t *testing.T) {
	t.Parallel()
	b := setupSandbox(t)
	ctx := context.Background()
	tokens := b.link(t, 1)
	s := b.session(t, 1, tokens)

	t.Run("RetryAfterHonoured", func(t *testing.T) {
		require.NoError(t, b.srv.SetFaults(sandbox.Faults{Rules: []sandbox.FaultRule{{Kind: sandbox.FaultRateLimit, RetryAfter: sandbox.Duration(time.Second), Limit: 1}}}))
		start := time.Now()
		_, err := s.Accounts(ctx)
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
	})

	t.Run("TransientRetried", func(t *testing.T) {
		for _, kind := range []sandbox.FaultKind{sandbox.FaultServerError, sandbox.FaultReset, sandbox.FaultTruncate} {
			require.NoError(t, b.srv.SetFaults(sandbox.Faults{Rules: []sandbox.FaultRule{{Kind: kind, Limit: 2}}}))
			list, err := s.Accounts(ctx)
			require.NoError(t, err, kind)
			require.NotEmpty(t, list.Accounts)
			require.Equal(t, 2, b.srv.Faults().Rules[0].Fired, kind)
		}
	})

	t.Run("TransientExhausted", func(t *testing.T) {
		require.NoError(t, b.srv.SetFaults(sandbox.Faults{Rules: []sandbox.FaultRule{{Kind: sandbox.FaultServerError, Status: 502}}}))
		_, err := s.Accounts(ctx)
		require.True(t, consumerapi.IsTransient(err), "got %v", err)
	})

	t.Run("MalformedIsAnErrorNeverData", func(t *testing.T) {
		require.NoError(t, b.srv.SetFaults(sandbox.Faults{Rules: []sandbox.FaultRule{{Kind: sandbox.FaultMalformed, Match: "/transactions"}}}))
		list, err := s.Accounts(ctx)
		require.NoError(t, err)
		for range 6 {
			page, err := s.Transactions(ctx, list.Accounts[0].ID, consumerapi.TransactionQuery{Limit: 500})
			require.Error(t, err)
			require.Nil(t, page)
		}
	})

	t.Run("SinceWithUpdatedSinceRefusedLocally", func(t *testing.T) {
		require.NoError(t, b.srv.SetFaults(sandbox.Faults{}))
		before := b.srv.Stats().Requests["GET /users/{userId}/accounts/{accountId}/transactions"]
		_, err := s.Transactions(ctx, "any", consumerapi.TransactionQuery{Since: time.Now(), UpdatedSince: time.Now()})
		require.True(t, errors.Is(err, consumerapi.ErrSinceWithUpdatedSince), "got %v", err)
		require.Equal(t, before, b.srv.Stats().Requests["GET /users/{userId}/accounts/{accountId}/transactions"])
	})
}
