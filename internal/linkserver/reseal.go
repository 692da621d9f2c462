package linkserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// ResealReport counts what ResealTokens did.
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

// ResealTokens moves every link token not sealed under the sealer's
// current key to it, batch by batch in link id order. A token written
// meanwhile is left alone (it is counted as Changed). It returns an error
// only when the datastore fails; tokens that do not open are logged by
// link id and key id and counted as Failed.
func ResealTokens(ctx context.Context, st *store.Store, sealer *tokenseal.Sealer, batch int, logger *slog.Logger) (ResealReport, error) {
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
			sealed, err := sealer.Reseal(ctx, t.Sealed, tokenseal.Context{Purpose: tokenseal.PurposeRefreshToken, Subject: t.LinkID})
			if err != nil {
				if ctx.Err() != nil {
					return rep, fmt.Errorf("re-seal tokens: %w", ctx.Err())
				}
				logger.Error("token does not open; left as is", "link_id", t.LinkID, "key_id", t.KeyID, "error", err)
				rep.Failed++
				continue
			}
			keyID, err := tokenseal.KeyID(sealed)
			if err != nil {
				return rep, fmt.Errorf("re-seal token of link %s: %w", t.LinkID, err)
			}
			_, err = st.ReplaceLinkToken(ctx, t.LinkID, t.Version, sealed, keyID)
			switch {
			case errors.Is(err, pfm.ErrStaleToken):
				rep.Changed++
			case err != nil:
				return rep, fmt.Errorf("re-seal tokens: %w", err)
			default:
				rep.Resealed++
				logger.Debug("token re-sealed", "link_id", t.LinkID, "from_key_id", t.KeyID, "key_id", keyID)
			}
		}
		logger.Info("re-seal progress", "resealed", rep.Resealed, "changed", rep.Changed, "failed", rep.Failed)
	}
}
