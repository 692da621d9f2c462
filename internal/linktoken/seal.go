package linktoken

import (
	"context"
	"errors"
	"fmt"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// ErrUnreadable reports a stored token that does not open: an unknown key,
// altered bytes, or a token sealed for another link.
var ErrUnreadable = errors.New("the stored refresh token does not open")

// sealContext binds a refresh token to its link: a token copied to another
// link's row does not open.
func sealContext(linkID string) tokenseal.Context {
	return tokenseal.Context{Purpose: tokenseal.PurposeRefreshToken, Subject: linkID}
}

// keyID is the key id stored next to a sealed token: read from the sealed
// bytes, which are authoritative.
func keyID(linkID string, sealed tokenseal.Sealed) (string, error) {
	id, err := tokenseal.KeyID(sealed)
	if err != nil {
		return "", fmt.Errorf("key id of the token of link %s: %w", linkID, err)
	}
	return id, nil
}

// seal seals a refresh token to its link and returns it with its key id.
func seal(ctx context.Context, sealer *tokenseal.Sealer, linkID string, refresh consumerapi.Secret) (tokenseal.Sealed, string, error) {
	plain := []byte(refresh.Reveal())
	sealed, err := sealer.Seal(ctx, plain, sealContext(linkID))
	clear(plain)
	if err != nil {
		return nil, "", fmt.Errorf("seal the token of link %s: %w", linkID, err)
	}
	id, err := keyID(linkID, sealed)
	return sealed, id, err
}

// Save seals a link's refresh token and stores it with tx, replacing any
// other: the consent's step, inside the transaction that creates or updates
// the link. It waits for a sync holding the token row's lock, so a refresh
// in flight cannot overwrite the new token afterwards.
func Save(ctx context.Context, tx *store.Store, sealer *tokenseal.Sealer, linkID string, refresh consumerapi.Secret) error {
	sealed, id, err := seal(ctx, sealer, linkID, refresh)
	if err != nil {
		return err
	}
	if _, err := tx.PutLinkToken(ctx, linkID, sealed, id); err != nil {
		return fmt.Errorf("save the token of link %s: %w", linkID, err)
	}
	return nil
}

// Open returns the refresh token of a stored row, to revoke it. A token
// that does not open is ErrUnreadable.
func Open(ctx context.Context, sealer *tokenseal.Sealer, t pfm.SealedToken) (consumerapi.Secret, error) {
	plain, err := sealer.Open(ctx, t.Sealed, sealContext(t.LinkID))
	if err != nil {
		return "", fmt.Errorf("open the token of link %s: %w: %w", t.LinkID, ErrUnreadable, err)
	}
	secret := consumerapi.Secret(plain)
	clear(plain)
	return secret, nil
}

// Revoke opens a stored refresh token and revokes it at the bank with
// client, which ends the grant (the bank revokes the token's whole family).
// A token that does not open is ErrUnreadable; the bank's refusal or
// silence is returned as the client's error, for the caller to classify.
func Revoke(ctx context.Context, sealer *tokenseal.Sealer, client *consumerapi.Client, t pfm.SealedToken) error {
	secret, err := Open(ctx, sealer, t)
	if err != nil {
		return err
	}
	if err := client.Revoke(ctx, secret, consumerapi.HintRefreshToken); err != nil {
		return fmt.Errorf("revoke the token of link %s: %w", t.LinkID, err)
	}
	return nil
}
