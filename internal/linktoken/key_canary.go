package linktoken

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// purposeKeyCanary is the sealing purpose of a key canary; the subject is
// the key id.
const purposeKeyCanary = "key_canary"

// canaryPlaintext is what a canary holds. It is not secret: a canary only
// proves that the key named by an id is the key that sealed it.
var canaryPlaintext = []byte("pfmsync token key canary v1")

// KeyMismatchError reports a key of the ring whose id is known to the
// datastore but whose bytes are not those that sealed the key's canary:
// values sealed under that id would not open. It names the key id, never
// the key.
type KeyMismatchError struct {
	KeyID string
	Err   error
}

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("token key %q is not the key that was first used under that id (its canary does not open): restore the original bytes of key %q, or give a new key a new id", e.KeyID, e.KeyID)
}

func (e *KeyMismatchError) Unwrap() error { return e.Err }

// KeyCheck is the result of CheckKeys.
type KeyCheck struct {
	// Checked are the key ids whose stored canary opened.
	Checked []string
	// Added are the key ids seen for the first time, whose canary this
	// call stored.
	Added []string
}

// CheckKeys proves, before any token is sealed or opened, that every key of
// ring is the key its id stood for before: it opens the canary stored for
// each key id, and seals and stores one for an id seen for the first time.
// A key with a known id but other bytes fails with a *KeyMismatchError.
// Canaries of ids no longer in the ring are left alone.
func CheckKeys(ctx context.Context, st *store.Store, ring *tokenseal.KeyRing) (KeyCheck, error) {
	var res KeyCheck
	for _, id := range ring.KeyIDs() {
		// A sealer whose current key is id seals this key's canary.
		sealer := tokenseal.New(pinnedKey{KeyRing: ring, id: id})
		c := tokenseal.Context{Purpose: purposeKeyCanary, Subject: id}
		sealed, err := sealer.Seal(ctx, canaryPlaintext, c)
		if err != nil {
			return res, fmt.Errorf("seal the canary of token key %q: %w", id, err)
		}
		added, err := st.AddTokenKeyCanary(ctx, id, sealed)
		if err != nil {
			return res, err
		}
		if added {
			res.Added = append(res.Added, id)
			continue
		}
		// Stored before, by an earlier start or a process starting now.
		stored, err := st.TokenKeyCanary(ctx, id)
		if err != nil {
			return res, err
		}
		plain, err := sealer.Open(ctx, stored, c)
		if err != nil {
			if errors.Is(err, tokenseal.ErrOpen) || errors.Is(err, tokenseal.ErrMalformed) || errors.Is(err, pfm.ErrNotFound) {
				return res, &KeyMismatchError{KeyID: id, Err: err}
			}
			return res, fmt.Errorf("open the canary of token key %q: %w", id, err)
		}
		if !bytes.Equal(plain, canaryPlaintext) {
			return res, &KeyMismatchError{KeyID: id, Err: tokenseal.ErrOpen}
		}
		res.Checked = append(res.Checked, id)
	}
	return res, nil
}

// pinnedKey is a key ring whose current key is id, so that a Sealer seals
// under id; it opens with any key of the ring.
type pinnedKey struct {
	*tokenseal.KeyRing
	id string
}

func (p pinnedKey) CurrentKeyID() string { return p.id }
