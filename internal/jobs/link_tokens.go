package jobs

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

// PurposeRefreshToken is the sealing purpose of a link's refresh token; the
// sealing subject is the link id.
const PurposeRefreshToken = "refresh_token"

// refreshTimeout bounds one token refresh, which runs outside the job's
// cancellation: once the token POST is sent, its answer must be persisted.
const refreshTimeout = time.Minute

// linkTokens is a link's access token source for one sync. Every refresh
// locks the link's token row, refreshes with the bank, and commits the
// rotated refresh token (sealed under the current key) before the new
// access token is used, so refreshes of one link never overlap across
// processes, and a re-consent that replaces the token waits for the lock
// instead of being overwritten.
type linkTokens struct {
	store  *store.Store
	sealer *tokenseal.Sealer
	client *consumerapi.Client
	linkID string
	now    func() time.Time

	mu      sync.Mutex
	access  consumerapi.Secret
	expiry  time.Time
	granted []string
}

// AccessToken returns a valid access token, refreshing when needed.
func (t *linkTokens) AccessToken(ctx context.Context) (consumerapi.Secret, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && (t.expiry.IsZero() || t.now().Add(30*time.Second).Before(t.expiry)) {
		return t.access, nil
	}
	return t.refreshLocked(ctx)
}

// RenewAccessToken refreshes after the bank rejected an access token with
// 401, unless a newer one is already at hand.
func (t *linkTokens) RenewAccessToken(ctx context.Context, rejected consumerapi.Secret) (consumerapi.Secret, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && t.access != rejected {
		return t.access, nil
	}
	return t.refreshLocked(ctx)
}

func (t *linkTokens) refreshLocked(ctx context.Context) (consumerapi.Secret, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	sealCtx := tokenseal.Context{Purpose: PurposeRefreshToken, Subject: t.linkID}
	var (
		tokens  *consumerapi.Tokens
		version int64
	)
	err := t.store.Transact(ctx, func(tx *store.Store) error {
		stored, err := tx.LockLinkToken(ctx, t.linkID)
		if err != nil {
			return fmt.Errorf("read token of link %s: %w", t.linkID, err)
		}
		version = stored.Version
		refresh, err := t.sealer.Open(ctx, tokenseal.Sealed(stored.Sealed), sealCtx)
		if err != nil {
			return fmt.Errorf("open token of link %s: %w", t.linkID, err)
		}
		tokens, err = t.client.Refresh(ctx, consumerapi.Secret(refresh))
		clear(refresh)
		if err != nil {
			return fmt.Errorf("refresh token of link %s: %w", t.linkID, err)
		}
		var sealed tokenseal.Sealed
		switch {
		case tokens.Rotated:
			sealed, err = t.sealer.Seal(ctx, []byte(tokens.RefreshToken.Reveal()), sealCtx)
		case t.sealer.NeedsReseal(tokenseal.Sealed(stored.Sealed)):
			sealed, err = t.sealer.Reseal(ctx, tokenseal.Sealed(stored.Sealed), sealCtx)
		default:
			return nil
		}
		if err != nil {
			return fmt.Errorf("seal token of link %s: %w", t.linkID, err)
		}
		_, err = tx.ReplaceLinkToken(ctx, t.linkID, stored.Version, sealed, t.sealer.CurrentKeyID())
		return err
	})
	if err != nil && tokens != nil && tokens.Rotated {
		// The bank rotated the token but saving it failed (a lost
		// connection, a deadline): the old one is dead now, so try once more
		// on a fresh transaction before giving up.
		err = t.saveRotated(context.WithoutCancel(ctx), version, tokens, sealCtx)
	}
	if err != nil {
		return "", err
	}
	t.access, t.granted = tokens.AccessToken, tokens.GrantedScopes
	t.expiry = tokens.Expiry
	return t.access, nil
}

// saveRotated stores a rotated refresh token outside the refresh's
// transaction, if the stored token is still the one that was refreshed
// (otherwise a re-consent replaced it, and the re-consent wins).
func (t *linkTokens) saveRotated(ctx context.Context, version int64, tokens *consumerapi.Tokens, sealCtx tokenseal.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sealed, err := t.sealer.Seal(ctx, []byte(tokens.RefreshToken.Reveal()), sealCtx)
	if err != nil {
		return fmt.Errorf("seal rotated token of link %s: %w", t.linkID, err)
	}
	err = t.store.Transact(ctx, func(tx *store.Store) error {
		_, err := tx.ReplaceLinkToken(ctx, t.linkID, version, sealed, t.sealer.CurrentKeyID())
		return err
	})
	if errors.Is(err, pfm.ErrStaleToken) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("save rotated token of link %s (the bank may require re-consent): %w", t.linkID, err)
	}
	return nil
}

var _ consumerapi.TokenSource = (*linkTokens)(nil)

// errLinkGone is returned when a link or its token disappeared mid-sync
// (unlinked).
var errLinkGone = fmt.Errorf("link was unlinked: %w", pfm.ErrNotFound)
