package linktoken_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// stored returns a link's token row and the refresh token it opens to.
func stored(t *testing.T, env *synctest.Env, sealer *tokenseal.Sealer, linkID string) (pfm.SealedToken, consumerapi.Secret) {
	t.Helper()
	row, err := env.Store.LinkToken(context.Background(), linkID)
	require.NoError(t, err)
	plain, err := linktoken.Open(context.Background(), sealer, row)
	require.NoError(t, err)
	return row, plain
}

// rotatedRing is the env's ring with a new current key k2.
func rotatedRing(t *testing.T, env *synctest.Env) *tokenseal.Sealer {
	t.Helper()
	ring, err := tokenseal.ParseKeyRing("k2:" + tokenseal.GenerateKey() + "," + env.KeyRing)
	require.NoError(t, err)
	return tokenseal.New(ring)
}

func TestSaveBindsTheTokenToItsLink(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	ctx := context.Background()
	a, b := env.Consent(t, 1), env.Consent(t, 2)

	rowA, tokA := stored(t, env, env.Sealer, a.ID)
	require.False(t, tokA.IsZero())
	keyID, err := tokenseal.KeyID(rowA.Sealed)
	require.NoError(t, err)
	require.Equal(t, keyID, rowA.KeyID)
	require.Equal(t, "k1", rowA.KeyID)

	// Link a's sealed bytes copied to link b do not open there.
	_, err = env.Store.PutLinkToken(ctx, b.ID, rowA.Sealed, rowA.KeyID)
	require.NoError(t, err)
	moved, err := env.Store.LinkToken(ctx, b.ID)
	require.NoError(t, err)
	_, err = linktoken.Open(ctx, env.Sealer, moved)
	require.ErrorIs(t, err, linktoken.ErrUnreadable)
	require.NotContains(t, err.Error(), tokA.Reveal())
}

func TestRefreshCommitsTheRotatedTokenBeforeReturning(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	ctx := context.Background()
	link := env.Consent(t, 1)
	before, old := stored(t, env, env.Sealer, link.ID)

	src := linktoken.NewSource(env.Store, env.Sealer, env.Client, link.ID, nil)
	access, err := src.AccessToken(ctx)
	require.NoError(t, err)
	require.False(t, access.IsZero())
	require.NotEmpty(t, src.GrantedScopes())

	after, rotated := stored(t, env, env.Sealer, link.ID)
	require.Equal(t, before.Version+1, after.Version)
	require.NotEqual(t, old, rotated)

	// A valid access token is reused; a rejected one is renewed, rotating
	// again.
	again, err := src.AccessToken(ctx)
	require.NoError(t, err)
	require.Equal(t, access, again)
	renewed, err := src.RenewAccessToken(ctx, access)
	require.NoError(t, err)
	require.NotEqual(t, access, renewed)
	last, _ := stored(t, env, env.Sealer, link.ID)
	require.Equal(t, after.Version+1, last.Version)
}

func TestRefreshResealsUnderTheCurrentKey(t *testing.T) {
	t.Parallel()
	never := false
	env := synctest.New(t, synctest.Options{Sandbox: func(o *sandbox.Options) { o.RotateRefreshTokens = &never }})
	ctx := context.Background()
	link := env.Consent(t, 1)
	before, tok := stored(t, env, env.Sealer, link.ID)
	require.Equal(t, "k1", before.KeyID)

	sealer := rotatedRing(t, env)
	_, err := linktoken.NewSource(env.Store, sealer, env.Client, link.ID, nil).AccessToken(ctx)
	require.NoError(t, err)
	after, same := stored(t, env, sealer, link.ID)
	require.Equal(t, "k2", after.KeyID)
	require.Equal(t, before.Version+1, after.Version)
	require.Equal(t, tok, same)

	// Under the current key already, an unrotated refresh writes nothing.
	_, err = linktoken.NewSource(env.Store, sealer, env.Client, link.ID, nil).AccessToken(ctx)
	require.NoError(t, err)
	unchanged, _ := stored(t, env, sealer, link.ID)
	require.Equal(t, after.Version, unchanged.Version)
}

func TestARotatedTokenWhoseSaveFailedIsSavedAgain(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	ctx := context.Background()
	link := env.Consent(t, 1)
	before, _ := stored(t, env, env.Sealer, link.ID)

	// The first write of a token row fails (after the bank has rotated the
	// token); a sequence is not rolled back, so the second write passes.
	_, err := env.Pool.Exec(ctx, `
		CREATE SEQUENCE token_write_attempts;
		CREATE FUNCTION fail_first_token_write() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF nextval('token_write_attempts') = 1 THEN
				RAISE EXCEPTION 'injected failure';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER fail_first_token_write BEFORE UPDATE ON link_tokens
			FOR EACH ROW EXECUTE FUNCTION fail_first_token_write();`)
	require.NoError(t, err)

	_, err = linktoken.NewSource(env.Store, env.Sealer, env.Client, link.ID, nil).AccessToken(ctx)
	require.NoError(t, err)
	var attempts int64
	require.NoError(t, env.Pool.QueryRow(ctx, `SELECT last_value FROM token_write_attempts`).Scan(&attempts))
	require.EqualValues(t, 2, attempts)

	// The saved token is the rotated one: the bank accepts it.
	after, rotated := stored(t, env, env.Sealer, link.ID)
	require.Equal(t, before.Version+1, after.Version)
	_, err = env.Client.Refresh(ctx, rotated)
	require.NoError(t, err)
}

func TestReconsentWaitsForARefreshHoldingTheRowLock(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	ctx := context.Background()
	link := env.Consent(t, 1)
	fresh, _ := synctest.Authorize(t, env.Client, env.Sandbox.Issuer(), 1)

	// A refresh holds the row lock...
	locked := make(chan pfm.SealedToken)
	release := make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- env.Store.Transact(ctx, func(tx *store.Store) error {
			row, err := tx.LockLinkToken(ctx, link.ID)
			if err != nil {
				return err
			}
			locked <- row
			<-release
			_, err = tx.ReplaceLinkToken(ctx, link.ID, row.Version, row.Sealed, row.KeyID)
			return err
		})
	}()
	row := <-locked

	// ...so a re-consent's save waits for it.
	var saved atomic.Bool
	done := make(chan error, 1)
	go func() {
		err := env.Store.Transact(ctx, func(s *store.Store) error {
			return linktoken.Save(ctx, s, env.Sealer, link.ID, fresh.RefreshToken)
		})
		saved.Store(true)
		done <- err
	}()
	require.Eventually(t, func() bool {
		var waiting int
		_ = env.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&waiting)
		return waiting == 1
	}, 30*time.Second, 10*time.Millisecond)
	require.False(t, saved.Load())

	// The refresh's write lands first; the re-consent's after it, and wins.
	close(release)
	require.NoError(t, <-holder)
	require.NoError(t, <-done)
	after0 := row
	after, tok := stored(t, env, env.Sealer, link.ID)
	require.Equal(t, after0.Version+2, after.Version)
	require.Equal(t, fresh.RefreshToken, tok)
}

func TestResealAll(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	ctx := context.Background()
	a, b, c := env.Consent(t, 1), env.Consent(t, 2), env.Consent(t, 3)
	_, tokA := stored(t, env, env.Sealer, a.ID)
	rowB, _ := stored(t, env, env.Sealer, b.ID)
	// c's row holds b's sealed bytes: it does not open and stays as it is.
	_, err := env.Store.PutLinkToken(ctx, c.ID, rowB.Sealed, rowB.KeyID)
	require.NoError(t, err)

	sealer := rotatedRing(t, env)
	rep, err := linktoken.ResealAll(ctx, env.Store, sealer, 1, nil)
	require.NoError(t, err)
	require.Equal(t, linktoken.ResealReport{Resealed: 2, Failed: 1}, rep)
	afterA, gotA := stored(t, env, sealer, a.ID)
	require.Equal(t, "k2", afterA.KeyID)
	require.Equal(t, tokA, gotA)
	rowC, err := env.Store.LinkToken(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, "k1", rowC.KeyID)

	rep, err = linktoken.ResealAll(ctx, env.Store, sealer, 10, nil)
	require.NoError(t, err)
	require.Equal(t, linktoken.ResealReport{Failed: 1}, rep)
}
