package linktoken

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// Deadlines of a refresh, which runs outside the caller's cancellation:
// once the token POST is sent, its answer must be persisted.
const (
	refreshTimeout = time.Minute
	resaveTimeout  = 30 * time.Second
	// expiryMargin refreshes an access token this long before it expires.
	expiryMargin = 30 * time.Second
)

// Source is a link's access token source for one sync. Every refresh locks
// the link's token row (SELECT … FOR UPDATE), refreshes with the bank, and
// commits the rotated refresh token, sealed under the current key, before
// the new access token is returned. So refreshes of one link never overlap
// across processes, and a re-consent that replaces the token waits for the
// lock instead of being overwritten. A token the bank did not rotate is
// re-sealed on the way when it sits under an older key.
type Source struct {
	store  *store.Store
	sealer *tokenseal.Sealer
	client *consumerapi.Client
	linkID string
	now    func() time.Time

	mu      sync.Mutex
	access  consumerapi.Secret
	expiry  time.Time
	granted []string
	rotated bool
}

// Refresh describes the last refresh of a Source.
type Refresh struct {
	// Expiry is when the access token expires (from expires_in; zero when
	// the bank did not say).
	Expiry time.Time
	// Rotated reports that the bank returned a new refresh token (already
	// persisted).
	Rotated bool
}

var _ consumerapi.TokenSource = (*Source)(nil)

// NewSource returns the token source of a link; now is the clock (nil:
// time.Now). A link whose token row is gone fails with pfm.ErrNotFound.
func NewSource(st *store.Store, sealer *tokenseal.Sealer, client *consumerapi.Client, linkID string, now func() time.Time) *Source {
	if now == nil {
		now = time.Now
	}
	return &Source{store: st, sealer: sealer, client: client, linkID: linkID, now: now}
}

// AccessToken returns a valid access token, refreshing when needed.
func (t *Source) AccessToken(ctx context.Context) (consumerapi.Secret, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && (t.expiry.IsZero() || t.now().Add(expiryMargin).Before(t.expiry)) {
		return t.access, nil
	}
	return t.refreshLocked(ctx)
}

// RenewAccessToken refreshes after the bank rejected an access token with
// 401, unless a newer one is already at hand.
func (t *Source) RenewAccessToken(ctx context.Context, rejected consumerapi.Secret) (consumerapi.Secret, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && t.access != rejected {
		return t.access, nil
	}
	return t.refreshLocked(ctx)
}

// LastRefresh describes the last refresh; ok is false before the first.
func (t *Source) LastRefresh() (r Refresh, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Refresh{Expiry: t.expiry, Rotated: t.rotated}, t.access != ""
}

// GrantedScopes are the scopes of the last refresh (nil before the first
// or when the bank did not say).
func (t *Source) GrantedScopes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.granted
}

func (t *Source) refreshLocked(ctx context.Context) (consumerapi.Secret, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	var (
		tokens  *consumerapi.Tokens
		version int64
	)
	err := t.store.Transact(ctx, func(tx *store.Store) error {
		stored, err := tx.LockLinkToken(ctx, t.linkID)
		if err != nil {
			return fmt.Errorf("read the token of link %s: %w", t.linkID, err)
		}
		version = stored.Version
		refresh, err := Open(ctx, t.sealer, stored)
		if err != nil {
			return err
		}
		tokens, err = t.client.Refresh(ctx, refresh)
		if err != nil {
			return fmt.Errorf("refresh the token of link %s: %w", t.linkID, err)
		}
		var (
			sealed tokenseal.Sealed
			id     string
		)
		switch {
		case tokens.Rotated:
			sealed, id, err = seal(ctx, t.sealer, t.linkID, tokens.RefreshToken)
		case t.sealer.NeedsReseal(stored.Sealed):
			sealed, id, err = reseal(ctx, t.sealer, stored)
		default:
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ReplaceLinkToken(ctx, t.linkID, stored.Version, sealed, id)
		return err
	})
	if err != nil && tokens != nil && tokens.Rotated {
		// The bank rotated the token but saving it failed (a lost
		// connection, a deadline): the old one is dead now, so try once more
		// on a fresh transaction before giving up.
		err = t.saveRotated(context.WithoutCancel(ctx), version, tokens.RefreshToken)
	}
	if err != nil {
		return "", err
	}
	t.access, t.granted, t.expiry, t.rotated = tokens.AccessToken, tokens.GrantedScopes, tokens.Expiry, tokens.Rotated
	return t.access, nil
}

// saveRotated stores a rotated refresh token outside the refresh's
// transaction, if the stored token is still the one that was refreshed
// (otherwise a re-consent replaced it, and the re-consent wins).
func (t *Source) saveRotated(ctx context.Context, version int64, refresh consumerapi.Secret) error {
	ctx, cancel := context.WithTimeout(ctx, resaveTimeout)
	defer cancel()
	sealed, id, err := seal(ctx, t.sealer, t.linkID, refresh)
	if err != nil {
		return err
	}
	err = t.store.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.ReplaceLinkToken(ctx, t.linkID, version, sealed, id)
		return err
	})
	if errors.Is(err, pfm.ErrStaleToken) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("save the rotated token of link %s (the bank may require re-consent): %w", t.linkID, err)
	}
	return nil
}
