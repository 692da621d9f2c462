package store_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
)

// Scopes as Banno names them, for link consent fixtures.
var linkConsentScopes = struct{ openID, offline, transactions string }{
	"openid",
	"https://api.banno.com/consumer/auth/offline_access",
	"https://api.banno.com/consumer/auth/transactions.detail.readonly",
}

// linkConsentFixture registers an institution and returns a consent template for it.
func linkConsentFixture(t *testing.T, s *store.Store) store.LinkConsent {
	t.Helper()
	in, err := s.UpsertInstitution(context.Background(), sampleInstitution("garden"))
	require.NoError(t, err)
	return store.LinkConsent{
		InstitutionID: in.ID,
		AppUserRef:    "app-user-1",
		BannoUserID:   "b2a1c7de-0000-4000-8000-000000000001",
		GrantedScopes: []string{linkConsentScopes.openID, linkConsentScopes.offline, linkConsentScopes.transactions},
		NextSyncAt:    time.Now(),
	}
}

func TestLinkUpsertConsent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ReconsentUpdatesTheSameLink", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		c := linkConsentFixture(t, s)
		first, created, err := s.UpsertLinkConsent(ctx, c)
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, pfm.LinkActive, first.Status)
		require.Equal(t, "garden", first.InstitutionSlug)
		require.Equal(t, c.GrantedScopes, first.GrantedScopes)
		require.Empty(t, first.MissingScopes)
		require.NotNil(t, first.MissingScopes)

		c.GrantedScopes = []string{linkConsentScopes.openID, linkConsentScopes.offline}
		c.MissingScopes = []string{linkConsentScopes.transactions}
		second, created, err := s.UpsertLinkConsent(ctx, c)
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, first.ID, second.ID)
		require.Equal(t, c.GrantedScopes, second.GrantedScopes)
		require.Equal(t, c.MissingScopes, second.MissingScopes)
		require.False(t, second.ConsentedAt.Before(first.ConsentedAt))
		require.Equal(t, first.CreatedAt, second.CreatedAt)

		links, err := s.LinksByAppUser(ctx, c.AppUserRef)
		require.NoError(t, err)
		require.Len(t, links, 1)
	})

	t.Run("ReconsentReactivates", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		c := linkConsentFixture(t, s)
		link, _, err := s.UpsertLinkConsent(ctx, c)
		require.NoError(t, err)
		for _, status := range []pfm.LinkStatus{pfm.LinkReauthRequired, pfm.LinkRevoked} {
			require.NoError(t, s.SetLinkStatus(ctx, link.ID, status, "consent_revoked", "invalid_grant"))
			got, err := s.Link(ctx, link.ID)
			require.NoError(t, err)
			require.Equal(t, status, got.Status)
			require.Nil(t, got.NextSyncAt)
			require.Equal(t, pfm.ClassConsentRevoked, got.LastErrorClass)

			again, created, err := s.UpsertLinkConsent(ctx, c)
			require.NoError(t, err)
			require.False(t, created)
			require.Equal(t, link.ID, again.ID)
			require.Equal(t, pfm.LinkActive, again.Status)
			require.Empty(t, again.LastErrorClass)
			require.Empty(t, again.LastError)
			require.Zero(t, again.ConsecutiveFailures)
			require.NotNil(t, again.NextSyncAt)
		}
	})

	t.Run("OtherUsersAreOtherLinks", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		c := linkConsentFixture(t, s)
		a, _, err := s.UpsertLinkConsent(ctx, c)
		require.NoError(t, err)
		otherApp := c
		otherApp.AppUserRef = "app-user-2"
		b, created, err := s.UpsertLinkConsent(ctx, otherApp)
		require.NoError(t, err)
		require.True(t, created)
		otherBank := c
		otherBank.BannoUserID = "b2a1c7de-0000-4000-8000-000000000002"
		d, created, err := s.UpsertLinkConsent(ctx, otherBank)
		require.NoError(t, err)
		require.True(t, created)
		require.Len(t, map[string]bool{a.ID: true, b.ID: true, d.ID: true}, 3)

		mine, err := s.LinksByAppUser(ctx, "app-user-1")
		require.NoError(t, err)
		require.Len(t, mine, 2)
		require.Equal(t, d.ID, mine[0].ID, "newest consent first")
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		c := linkConsentFixture(t, s)
		c.AppUserRef = ""
		_, _, err := s.UpsertLinkConsent(ctx, c)
		require.ErrorIs(t, err, pfm.ErrInvalid)
		c = linkConsentFixture(t, s)
		c.InstitutionID = 9999
		_, _, err = s.UpsertLinkConsent(ctx, c)
		require.ErrorIs(t, err, pfm.ErrNotFound)
		_, err = s.Link(ctx, pfm.NewID())
		require.ErrorIs(t, err, pfm.ErrNotFound)
		require.ErrorIs(t, s.SetLinkStatus(ctx, pfm.NewID(), pfm.LinkRevoked, "", ""), pfm.ErrNotFound)
	})
}

// consentRequestFixture stores a consent request for state, expiring at expires.
func consentRequestFixture(t *testing.T, s *store.Store, institutionID int64, state string, expires time.Time) pfm.ConsentRequest {
	t.Helper()
	hash := sha256.Sum256([]byte(state))
	c, err := s.CreateConsentRequest(context.Background(), pfm.ConsentRequest{
		ID: pfm.NewID(), StateHash: hash[:], Nonce: "nonce-" + state, SealedVerifier: []byte("sealed"),
		InstitutionID: institutionID, AppUserRef: "app-user-1", ReturnURL: "https://app.example/back", ExpiresAt: expires,
	})
	require.NoError(t, err)
	return c
}

func TestConsentRequestConsume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	c := linkConsentFixture(t, s)
	now := time.Now()
	created := consentRequestFixture(t, s, c.InstitutionID, "state-1", now.Add(10*time.Minute))
	require.Equal(t, "https://app.example/back", created.ReturnURL)
	require.Empty(t, created.LinkID)
	require.Nil(t, created.UsedAt)
	hash := func(state string) []byte { h := sha256.Sum256([]byte(state)); return h[:] }

	got, err := s.ConsumeConsentRequest(ctx, hash("state-1"), now)
	require.NoError(t, err)
	require.Equal(t, created.ID, got.ID)
	require.Equal(t, "nonce-state-1", got.Nonce)
	require.Equal(t, []byte("sealed"), got.SealedVerifier)
	require.NotNil(t, got.UsedAt)

	_, err = s.ConsumeConsentRequest(ctx, hash("state-1"), now)
	require.ErrorIs(t, err, pfm.ErrConsentRequestUsed)

	consentRequestFixture(t, s, c.InstitutionID, "state-2", now.Add(10*time.Minute))
	_, err = s.ConsumeConsentRequest(ctx, hash("state-2"), now.Add(11*time.Minute))
	require.ErrorIs(t, err, pfm.ErrConsentRequestExpired)
	_, err = s.ConsumeConsentRequest(ctx, hash("state-2"), now)
	require.NoError(t, err, "an expired attempt does not use the request up")

	_, err = s.ConsumeConsentRequest(ctx, hash("unknown"), now)
	require.ErrorIs(t, err, pfm.ErrNotFound)

	// Clean-up deletes what expired before the cut-off only.
	consentRequestFixture(t, s, c.InstitutionID, "state-3", now.Add(time.Hour))
	n, err := s.DeleteConsentRequestsBefore(ctx, now.Add(30*time.Minute))
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	_, err = s.ConsumeConsentRequest(ctx, hash("state-1"), now)
	require.ErrorIs(t, err, pfm.ErrNotFound)
	_, err = s.ConsumeConsentRequest(ctx, hash("state-3"), now)
	require.NoError(t, err)
}

func TestConsentRequestConsumedOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := setup(t)
	c := linkConsentFixture(t, s)
	consentRequestFixture(t, s, c.InstitutionID, "raced", time.Now().Add(time.Minute))
	h := sha256.Sum256([]byte("raced"))
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := s.ConsumeConsentRequest(ctx, h[:], time.Now())
			errs <- err
		}()
	}
	var ok, used int
	for range n {
		if err := <-errs; err != nil {
			require.ErrorIs(t, err, pfm.ErrConsentRequestUsed)
			used++
			continue
		}
		ok++
	}
	require.Equal(t, 1, ok)
	require.Equal(t, n-1, used)
}

func TestLinkTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("PutAndReplace", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		link, _, err := s.UpsertLinkConsent(ctx, linkConsentFixture(t, s))
		require.NoError(t, err)
		_, err = s.LinkToken(ctx, link.ID)
		require.ErrorIs(t, err, pfm.ErrNotFound)

		t1, err := s.PutLinkToken(ctx, link.ID, []byte("sealed-1"), "v1")
		require.NoError(t, err)
		require.EqualValues(t, 1, t1.Version)
		t2, err := s.PutLinkToken(ctx, link.ID, []byte("sealed-2"), "v1")
		require.NoError(t, err)
		require.EqualValues(t, 2, t2.Version)

		// A replace from a stale read loses.
		_, err = s.ReplaceLinkToken(ctx, link.ID, t1.Version, []byte("sealed-stale"), "v2")
		require.ErrorIs(t, err, pfm.ErrStaleToken)
		t3, err := s.ReplaceLinkToken(ctx, link.ID, t2.Version, []byte("sealed-3"), "v2")
		require.NoError(t, err)
		require.EqualValues(t, 3, t3.Version)
		got, err := s.LinkToken(ctx, link.ID)
		require.NoError(t, err)
		require.Equal(t, []byte("sealed-3"), got.Sealed)
		require.Equal(t, "v2", got.KeyID)

		_, err = s.PutLinkToken(ctx, pfm.NewID(), []byte("x"), "v1")
		require.ErrorIs(t, err, pfm.ErrNotFound, "a token needs its link")

		require.NoError(t, s.DeleteLinkToken(ctx, link.ID))
		_, err = s.LinkToken(ctx, link.ID)
		require.ErrorIs(t, err, pfm.ErrNotFound)
		_, err = s.ReplaceLinkToken(ctx, link.ID, t3.Version, []byte("x"), "v2")
		require.ErrorIs(t, err, pfm.ErrStaleToken)
	})

	t.Run("LockBlocksAConcurrentPutUntilCommit", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		link, _, err := s.UpsertLinkConsent(ctx, linkConsentFixture(t, s))
		require.NoError(t, err)
		_, err = s.PutLinkToken(ctx, link.ID, []byte("before"), "v1")
		require.NoError(t, err)

		_, err = s.LockLinkToken(ctx, link.ID)
		require.ErrorContains(t, err, "needs a transaction")

		locked, release := make(chan struct{}), make(chan struct{})
		txDone := make(chan error, 1)
		go func() {
			txDone <- s.Transact(ctx, func(tx *store.Store) error {
				tok, err := tx.LockLinkToken(ctx, link.ID)
				if err != nil {
					return err
				}
				close(locked)
				<-release
				// The holder (a sync) writes its rotated token before commit.
				_, err = tx.ReplaceLinkToken(ctx, link.ID, tok.Version, []byte("rotated"), "v1")
				return err
			})
		}()
		<-locked

		putDone := make(chan pfm.SealedToken, 1)
		putErr := make(chan error, 1)
		go func() {
			tok, err := s.PutLinkToken(ctx, link.ID, []byte("reconsent"), "v1")
			putErr <- err
			putDone <- tok
		}()
		select {
		case err := <-putErr:
			t.Fatalf("PutLinkToken finished while the row was locked (err %v)", err)
		case <-time.After(300 * time.Millisecond):
		}
		close(release)
		require.NoError(t, <-txDone)
		require.NoError(t, <-putErr)
		tok := <-putDone
		require.EqualValues(t, 3, tok.Version, "the put ran after the locked writer's commit")
		got, err := s.LinkToken(ctx, link.ID)
		require.NoError(t, err)
		require.Equal(t, []byte("reconsent"), got.Sealed, "the re-consent's token is the one kept")
	})

	t.Run("SealedWithoutPages", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		c := linkConsentFixture(t, s)
		var old []string
		for i := range 7 {
			c.BannoUserID = fmt.Sprintf("b2a1c7de-0000-4000-8000-%012d", i)
			link, _, err := s.UpsertLinkConsent(ctx, c)
			require.NoError(t, err)
			key := "v1"
			if i%3 == 0 {
				key = "v2"
			} else {
				old = append(old, link.ID)
			}
			_, err = s.PutLinkToken(ctx, link.ID, []byte("sealed"), key)
			require.NoError(t, err)
		}
		sort.Strings(old)

		var got []string
		after := ""
		for {
			page, err := s.LinkTokensSealedWithout(ctx, "v2", after, 2)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), 2)
			if len(page) == 0 {
				break
			}
			for _, tok := range page {
				require.Equal(t, "v1", tok.KeyID)
				got = append(got, tok.LinkID)
			}
			after = page[len(page)-1].LinkID
		}
		require.Equal(t, old, got, "every token not under v2, once, in link id order")

		none, err := s.LinkTokensSealedWithout(ctx, "v1", "", 100)
		require.NoError(t, err)
		require.Len(t, none, 7-len(old))
	})
}

func TestLinkDeleteCascades(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, b := setup(t)
	c := linkConsentFixture(t, s)
	link, _, err := s.UpsertLinkConsent(ctx, c)
	require.NoError(t, err)
	keep, _, err := s.UpsertLinkConsent(ctx, store.LinkConsent{
		InstitutionID: c.InstitutionID, AppUserRef: c.AppUserRef, BannoUserID: "other-banno-user", NextSyncAt: time.Now(),
	})
	require.NoError(t, err)
	for _, id := range []string{link.ID, keep.ID} {
		_, err = s.PutLinkToken(ctx, id, []byte("sealed"), "v1")
		require.NoError(t, err)
	}
	h := sha256.Sum256([]byte("reconsent-state"))
	_, err = s.CreateConsentRequest(ctx, pfm.ConsentRequest{
		ID: pfm.NewID(), StateHash: h[:], Nonce: "n", SealedVerifier: []byte("v"), InstitutionID: c.InstitutionID,
		AppUserRef: c.AppUserRef, LinkID: link.ID, ExpiresAt: time.Now().Add(time.Minute),
	})
	require.NoError(t, err)

	require.NoError(t, s.DeleteLink(ctx, link.ID))
	_, err = s.Link(ctx, link.ID)
	require.ErrorIs(t, err, pfm.ErrNotFound)
	_, err = s.LinkToken(ctx, link.ID)
	require.ErrorIs(t, err, pfm.ErrNotFound)
	var requests int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM consent_requests WHERE link_id = $1`, link.ID).Scan(&requests))
	require.Zero(t, requests)
	_, err = s.LinkToken(ctx, keep.ID)
	require.NoError(t, err, "other links are untouched")

	require.ErrorIs(t, s.DeleteLink(ctx, link.ID), pfm.ErrNotFound)
}
