package userdata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// DefaultRevokeTimeout bounds one revocation at the bank.
const DefaultRevokeTimeout = 15 * time.Second

// Revocation outcomes.
const (
	// Revoked: the bank revoked the grant.
	Revoked = "revoked"
	// RevocationFailed: the bank could not be reached or refused, or the
	// stored token did not open; the data is erased anyway.
	RevocationFailed = "failed"
	// NoToken: the link held no refresh token (it was unlinked before, or
	// consent never granted offline access): nothing to revoke.
	NoToken = "no_token"
)

// Revocation is what happened at the bank for one link.
type Revocation struct {
	LinkID      string         `json:"link_id"`
	Institution string         `json:"institution"`
	Outcome     string         `json:"outcome"`
	ErrorClass  pfm.ErrorClass `json:"error_class,omitempty"`
}

// Erasure reports an erased app user.
type Erasure struct {
	// Links is how many links the user had.
	Links int `json:"links"`
	// Revocations says, per link, what happened at the bank.
	Revocations []Revocation `json:"revocations"`
	// Deleted counts the rows deleted, per table, in deletion order.
	Deleted []store.TableCount `json:"deleted"`
}

// Rows is the total of rows deleted.
func (e Erasure) Rows() int64 {
	var n int64
	for _, c := range e.Deleted {
		n += c.Rows
	}
	return n
}

// Eraser erases app users.
type Eraser struct {
	// Store is the datastore.
	Store *store.Store
	// Sealer opens refresh tokens to revoke them.
	Sealer *tokenseal.Sealer
	// Clients are the institutions' API clients, by slug. A link of an
	// institution missing here is erased without revocation (reported).
	Clients map[string]*consumerapi.Client
	// Logger receives a line per failed revocation (default: discard).
	Logger *slog.Logger
	// RevokeTimeout bounds each revocation (default DefaultRevokeTimeout).
	RevokeTimeout time.Duration
}

// Erase revokes every grant of appUserRef at its bank (best effort:
// failures are reported, and do not stop the erasure) and deletes every row
// of the user, all in one transaction that holds the user's links and
// tokens locked, so a sync cannot write meanwhile. A user pfmsync does not
// know erases nothing and is no error.
func (e *Eraser) Erase(ctx context.Context, appUserRef string) (Erasure, error) {
	if appUserRef == "" {
		return Erasure{}, errors.New("erase an app user: the app user reference is empty")
	}
	logger := e.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	out := Erasure{Revocations: []Revocation{}}
	err := e.Store.Transact(ctx, func(tx *store.Store) error {
		ids, err := tx.LockAppUserLinkIDs(ctx, appUserRef)
		if err != nil {
			return err
		}
		out.Links = len(ids)
		for _, id := range ids {
			link, err := tx.Link(ctx, id)
			if err != nil {
				return fmt.Errorf("erase an app user: %w", err)
			}
			rev := Revocation{LinkID: id, Institution: link.InstitutionSlug, Outcome: NoToken}
			t, err := tx.LockLinkToken(ctx, id)
			switch {
			case errors.Is(err, pfm.ErrNotFound):
			case err != nil:
				return fmt.Errorf("erase an app user: %w", err)
			default:
				rev.Outcome, rev.ErrorClass = e.revoke(ctx, logger.With("link_id", id, "institution", link.InstitutionSlug), link, t)
			}
			out.Revocations = append(out.Revocations, rev)
		}
		out.Deleted, err = tx.EraseAppUser(ctx, appUserRef)
		return err
	})
	if err != nil {
		return Erasure{}, fmt.Errorf("erase an app user: %w", err)
	}
	return out, nil
}

// revoke revokes one link's grant; it never fails the erasure.
func (e *Eraser) revoke(ctx context.Context, log *slog.Logger, link pfm.Link, t pfm.SealedToken) (string, pfm.ErrorClass) {
	client := e.Clients[link.InstitutionSlug]
	if client == nil {
		log.Warn("cannot revoke: the institution is not configured; erasing anyway")
		return RevocationFailed, pfm.ClassInstitutionNotConfigured
	}
	timeout := e.RevokeTimeout
	if timeout <= 0 {
		timeout = DefaultRevokeTimeout
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := linktoken.Revoke(rctx, e.Sealer, client, t)
	switch {
	case err == nil:
		return Revoked, ""
	case errors.Is(err, linktoken.ErrUnreadable):
		log.Error("cannot revoke: the sealed token does not open; erasing anyway", "key_id", t.KeyID, "error", err)
		return RevocationFailed, pfm.ClassTokenUnreadable
	default:
		class := jobs.ErrorClassOf(err)
		log.Warn("revocation at the institution failed; erasing anyway", "error_class", class, "error", err)
		return RevocationFailed, class
	}
}
