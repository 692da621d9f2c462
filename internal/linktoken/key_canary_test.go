package linktoken_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/testdb"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// ring parses a key ring spec.
func ring(t *testing.T, spec string) *tokenseal.KeyRing {
	t.Helper()
	r, err := tokenseal.ParseKeyRing(spec)
	require.NoError(t, err)
	return r
}

func TestCheckKeysCatchesAKeyWhoseBytesChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(testdb.New(t), nil)
	k1, k1Wrong, k2 := tokenseal.GenerateKey(), tokenseal.GenerateKey(), tokenseal.GenerateKey()

	// The first start stores a canary for its one key.
	res, err := linktoken.CheckKeys(ctx, st, ring(t, "k1:"+k1))
	require.NoError(t, err)
	require.Equal(t, []string{"k1"}, res.Added)
	require.Empty(t, res.Checked)
	first, err := st.TokenKeyCanary(ctx, "k1")
	require.NoError(t, err)
	id, err := tokenseal.KeyID(first)
	require.NoError(t, err)
	require.Equal(t, "k1", id)

	// The same key starts again: its canary opens and is not replaced.
	res, err = linktoken.CheckKeys(ctx, st, ring(t, "k1:"+k1))
	require.NoError(t, err)
	require.Equal(t, []string{"k1"}, res.Checked)
	require.Empty(t, res.Added)
	again, err := st.TokenKeyCanary(ctx, "k1")
	require.NoError(t, err)
	require.Equal(t, first, again)

	// Same id, other bytes: refused, naming the id, never a key.
	_, err = linktoken.CheckKeys(ctx, st, ring(t, "k1:"+k1Wrong))
	mismatch, ok := errors.AsType[*linktoken.KeyMismatchError](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "k1", mismatch.KeyID)
	require.ErrorIs(t, err, tokenseal.ErrOpen)
	require.Contains(t, err.Error(), `"k1"`)
	for _, k := range []string{k1, k1Wrong} {
		require.NotContains(t, err.Error(), k)
	}

	// A rotation: new current key k2 adds its canary, old k1 still opens.
	res, err = linktoken.CheckKeys(ctx, st, ring(t, "k2:"+k2+",k1:"+k1))
	require.NoError(t, err)
	require.Equal(t, []string{"k2"}, res.Added)
	require.Equal(t, []string{"k1"}, res.Checked)
	sealed, err := st.TokenKeyCanary(ctx, "k2")
	require.NoError(t, err)
	id, err = tokenseal.KeyID(sealed)
	require.NoError(t, err)
	require.Equal(t, "k2", id, "each canary is sealed under its own key")

	// Both keys, next start; then k1 dropped from the ring: k2 alone opens.
	res, err = linktoken.CheckKeys(ctx, st, ring(t, "k2:"+k2+",k1:"+k1))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"k1", "k2"}, res.Checked)
	res, err = linktoken.CheckKeys(ctx, st, ring(t, "k2:"+k2))
	require.NoError(t, err)
	require.Equal(t, []string{"k2"}, res.Checked)

	// The old key with the wrong bytes next to a good current key is
	// still refused: tokens sealed under k1 would not open.
	_, err = linktoken.CheckKeys(ctx, st, ring(t, "k2:"+k2+",k1:"+k1Wrong))
	mismatch, ok = errors.AsType[*linktoken.KeyMismatchError](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "k1", mismatch.KeyID)
}

func TestCheckKeysAgreesAcrossProcessesStartingTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(testdb.New(t), nil)
	k1 := tokenseal.GenerateKey()

	// Several processes with the same new key: one stores the canary, the
	// others open it.
	const n = 4
	errs := make(chan error, n)
	added := make(chan int, n)
	r := ring(t, "k1:"+k1)
	for range n {
		go func() {
			res, err := linktoken.CheckKeys(ctx, st, r)
			added <- len(res.Added)
			errs <- err
		}()
	}
	total := 0
	for range n {
		require.NoError(t, <-errs)
		total += <-added
	}
	require.Equal(t, 1, total)

	// A process started with other bytes under that id is refused.
	_, err := linktoken.CheckKeys(ctx, st, ring(t, "k1:"+tokenseal.GenerateKey()))
	_, ok := errors.AsType[*linktoken.KeyMismatchError](err)
	require.True(t, ok, "%v", err)
}
