package linktoken

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// ResealReport counts what ResealAll did.
type ResealReport struct {
	// Resealed tokens now sit under the current key.
	Resealed int
	// Changed tokens were rewritten concurrently (by a sync's refresh or a
	// re-consent), which seals under the current key anyway.
	Changed int
	// Failed tokens could not be opened (unknown key, altered, sealed for
	// another link). They stay as they are.
	Failed int
}

// reseal moves a stored token under the sealer's current key.
func reseal(ctx context.Context, sealer *tokenseal.Sealer, t pfm.SealedToken) (tokenseal.Sealed, string, error) {
	sealed, err := sealer.Reseal(ctx, t.Sealed, sealContext(t.LinkID))
	if err != nil {
		return nil, "", fmt.Errorf("re-seal the token of link %s: %w: %w", t.LinkID, ErrUnreadable, err)
	}
	id, err := keyID(t.LinkID, sealed)
	return sealed, id, err
}

// ResealAll moves every link token not sealed under the sealer's current
// key to it, batch by batch (default 100) in link id order. A token written
// meanwhile is left alone (counted as Changed). It returns an error only
// when the datastore fails or ctx ends; tokens that do not open are logged
// by link id and key id and counted as Failed.
func ResealAll(ctx context.Context, st *store.Store, sealer *tokenseal.Sealer, batch int, logger *slog.Logger) (ResealReport, error) {
	if batch <= 0 {
		batch = 100
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	current := sealer.CurrentKeyID()
	var rep ResealReport
	after := ""
	for {
		toks, err := st.LinkTokensSealedWithout(ctx, current, after, batch)
		if err != nil {
			return rep, fmt.Errorf("re-seal tokens: %w", err)
		}
		if len(toks) == 0 {
			return rep, nil
		}
		for _, t := range toks {
			after = t.LinkID
			sealed, id, err := reseal(ctx, sealer, t)
			if err != nil {
				if ctx.Err() != nil {
					return rep, fmt.Errorf("re-seal tokens: %w", ctx.Err())
				}
				if !errors.Is(err, ErrUnreadable) {
					return rep, err
				}
				logger.Error("token does not open; left as is", "link_id", t.LinkID, "key_id", t.KeyID, "error", err)
				rep.Failed++
				continue
			}
			_, err = st.ReplaceLinkToken(ctx, t.LinkID, t.Version, sealed, id)
			switch {
			case errors.Is(err, pfm.ErrStaleToken):
				rep.Changed++
			case err != nil:
				return rep, fmt.Errorf("re-seal tokens: %w", err)
			default:
				rep.Resealed++
				logger.Debug("token re-sealed", "link_id", t.LinkID, "from_key_id", t.KeyID, "key_id", id)
			}
		}
		logger.Info("re-seal progress", "resealed", rep.Resealed, "changed", rep.Changed, "failed", rep.Failed)
	}
}
