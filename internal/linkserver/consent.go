package linkserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// Deadlines of the consent: the start (discovery at the institution, one
// insert); the callback up to the code exchange; what follows the exchange
// (one transaction), which is not abandoned when the browser goes away; and
// a best-effort revocation after a failure.
const (
	startTimeout    = 20 * time.Second
	callbackTimeout = 60 * time.Second
	saveTimeout     = 30 * time.Second
	revokeTimeout   = 15 * time.Second
	maxStateLen     = 512
)

// startedConsent is what the browser gets from a started consent: the
// institution's authorization URL, and the browser-binding cookie (named
// after the state's hash) that the callback will require.
type startedConsent struct {
	AuthURL   string
	StateHash []byte
	Binding   string
}

// startConsent stores a one-time consent request for the user of claims at
// the institution slug (or the one the claims fix): the SHA-256 of the
// state, the nonce, the PKCE verifier sealed to the request's id, and the
// SHA-256 of a fresh browser binding. Refusals are *consentError.
func (s *Server) startConsent(ctx context.Context, claims LinkClaims, slug string) (startedConsent, error) {
	if claims.Institution != "" {
		if slug != "" && slug != claims.Institution {
			return startedConsent{}, refuse(failOtherBank, nil)
		}
		slug = claims.Institution
	}
	var linkID string
	if claims.LinkID != "" {
		link, err := s.userLink(ctx, claims.AppUser, claims.LinkID)
		if err != nil {
			return startedConsent{}, linkLookupError(err)
		}
		if slug != "" && slug != link.InstitutionSlug {
			return startedConsent{}, refuse(failOtherBank, nil)
		}
		slug, linkID = link.InstitutionSlug, link.ID
	}
	if slug == "" {
		return startedConsent{}, refuse(failNoBankChosen, nil)
	}
	in := s.bySlug[slug]
	if in == nil {
		return startedConsent{}, refuse(failUnknownInstitution, nil)
	}
	if claims.ReturnURL != "" && !s.returnURLAllowed(claims.ReturnURL) {
		return startedConsent{}, refuse(failReturnURLRefused, nil)
	}

	req, err := in.Client.AuthorizationRequest(ctx)
	if err != nil {
		s.logger.Warn("prepare authorization request", "institution", in.Slug, "error", err)
		return startedConsent{}, &consentError{reason: failBankUnreachable, bank: in.Name, err: err}
	}
	id := pfm.NewID()
	sealed, err := s.sealer.Seal(ctx, []byte(req.CodeVerifier.Reveal()), tokenseal.Context{Purpose: tokenseal.PurposePKCEVerifier, Subject: id})
	if err != nil {
		return startedConsent{}, fmt.Errorf("seal PKCE verifier: %w", err)
	}
	stateHash := sha256.Sum256([]byte(req.State))
	binding, bindingHash := newBrowserBinding()
	_, err = s.store.CreateConsentRequest(ctx, pfm.ConsentRequest{
		ID:             id,
		StateHash:      stateHash[:],
		BrowserHash:    bindingHash,
		Nonce:          req.Nonce,
		SealedVerifier: sealed,
		InstitutionID:  in.ID,
		AppUserRef:     claims.AppUser,
		LinkID:         linkID,
		ReturnURL:      claims.ReturnURL,
		ExpiresAt:      s.now().Add(s.consentTTL),
	})
	if err != nil {
		return startedConsent{}, fmt.Errorf("store consent request: %w", err)
	}
	log := s.logger.With("consent_request_id", id, "institution", in.Slug, "app_user_hash", s.appUserHash(claims.AppUser))
	if linkID != "" {
		log = log.With("link_id", linkID)
	}
	log.Info("consent started")
	return startedConsent{AuthURL: req.URL, StateHash: stateHash[:], Binding: binding}, nil
}

// completedConsent is a saved link.
type completedConsent struct {
	Link    pfm.Link
	Created bool
	// AppUser is the app user the link belongs to.
	AppUser string
	// ReturnURL is the consent request's return URL with link_id and
	// status=linked, or "" when it has none (or it is no longer allowed).
	ReturnURL string
}

// completeConsent finishes a consent from the callback's query and the
// browser-binding value the browser presented (bindingOf returns the
// cookie value for a state hash, "" when absent).
//
// The consent request is looked up by the SHA-256 of the state and consumed
// at once (an unknown, used or expired state stops here with nothing
// stored), and the browser must hold the request's binding. A declined
// consent (access_denied) and an iss parameter of another issuer stop here.
// Otherwise the code is exchanged with the PKCE verifier, the ID token
// verified (issuer, audience, expiry, signature, nonce); without offline
// access nothing is stored and the access token is revoked; and in one
// transaction the link is created or updated, its refresh token sealed to
// the link id and stored, and its first sync queued. Any failure after the
// exchange revokes the new refresh token at the institution (best effort).
// Refusals are *consentError.
func (s *Server) completeConsent(ctx context.Context, q url.Values, bindingOf func(stateHash []byte) string) (completedConsent, error) {
	state := q.Get("state")
	if state == "" || len(state) > maxStateLen {
		s.logger.Info("callback refused", "reason", "no usable state")
		return completedConsent{}, refuse(failNoState, nil)
	}
	stateHash := sha256.Sum256([]byte(state))
	cr, err := s.store.ConsumeConsentRequest(ctx, stateHash[:], s.now())
	switch {
	case errors.Is(err, pfm.ErrNotFound):
		s.logger.Warn("callback refused", "reason", "unknown state")
		return completedConsent{}, refuse(failUnknownState, nil)
	case errors.Is(err, pfm.ErrConsentRequestUsed):
		s.logger.Warn("callback refused", "reason", "state already used")
		return completedConsent{}, refuse(failStateUsed, nil)
	case errors.Is(err, pfm.ErrConsentRequestExpired):
		s.logger.Info("callback refused", "reason", "state expired")
		return completedConsent{}, refuse(failStateExpired, nil)
	case err != nil:
		return completedConsent{}, fmt.Errorf("consume consent request: %w", err)
	}
	// The consent request is consumed either way: a forwarded
	// authorization URL is burned the first time anyone uses it.
	if !bindingMatches(bindingOf(stateHash[:]), cr.BrowserHash) {
		s.logger.Warn("callback refused", "reason", "not the browser that started the consent", "consent_request_id", cr.ID)
		return completedConsent{}, refuse(failOtherBrowser, nil)
	}
	in := s.byID[cr.InstitutionID]
	if in == nil {
		s.logger.Error("callback for an institution that is no longer configured", "consent_request_id", cr.ID, "institution_id", cr.InstitutionID)
		return completedConsent{}, refuse(failUnknownInstitution, nil)
	}
	log := s.logger.With("consent_request_id", cr.ID, "institution", in.Slug, "app_user_hash", s.appUserHash(cr.AppUserRef))
	if cr.LinkID != "" {
		log = log.With("link_id", cr.LinkID)
	}
	returnURL := ""
	if cr.ReturnURL != "" && s.returnURLAllowed(cr.ReturnURL) {
		returnURL = cr.ReturnURL
	}
	// fail is a refusal once the consent request is known: its page can
	// lead back to the app.
	fail := func(reason failure, err error) error {
		return &consentError{reason: reason, bank: in.Name, returnURL: returnURL, linkID: cr.LinkID, err: err}
	}

	code, err := in.Client.ParseCallback(ctx, q, state)
	if err != nil {
		return completedConsent{}, s.callbackRefusal(log, err, fail)
	}
	verifier, err := s.sealer.Open(ctx, cr.SealedVerifier, tokenseal.Context{Purpose: tokenseal.PurposePKCEVerifier, Subject: cr.ID})
	if err != nil {
		log.Error("open PKCE verifier", "error", err)
		return completedConsent{}, fail(failInternal, err)
	}
	tok, err := in.Client.Exchange(ctx, code, consumerapi.Secret(verifier), cr.Nonce)
	clear(verifier)
	if err != nil {
		log.Warn("code exchange failed", "error_class", consumerapi.Classify(err).String(), "error", err)
		return completedConsent{}, fail(failExchange, err)
	}
	// From here on the institution has issued tokens: finish (store them,
	// or revoke them) even if the browser goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if tok.RefreshToken.IsZero() {
		// No offline access: no refresh token, so no background sync is
		// possible. Nothing is stored and the access token is revoked.
		s.revoke(ctx, log, in, tok.AccessToken, consumerapi.HintAccessToken)
		log.Info("consent without offline access: nothing stored", "granted_scopes", tok.GrantedScopes)
		return completedConsent{}, fail(failOfflineAccessRequired, nil)
	}
	sub := tok.Claims.Subject
	if cr.LinkID != "" {
		link, err := s.store.Link(ctx, cr.LinkID)
		if err != nil {
			log.Error("look up link to re-consent", "error", err)
			s.revoke(ctx, log, in, tok.RefreshToken, consumerapi.HintRefreshToken)
			return completedConsent{}, fail(failInternal, err)
		}
		if link.BannoUserID != sub {
			log.Warn("re-consent by another bank user refused")
			s.revoke(ctx, log, in, tok.RefreshToken, consumerapi.HintRefreshToken)
			return completedConsent{}, fail(failOtherBankUser, nil)
		}
	}
	missing := tok.MissingScopes(in.Client.Institution().Scopes)
	link, created, err := s.saveLink(ctx, in, cr, sub, tok.Claims.InstitutionID, tok.GrantedScopes, missing, tok.RefreshToken)
	if err != nil {
		log.Error("save link", "error", err)
		s.revoke(ctx, log, in, tok.RefreshToken, consumerapi.HintRefreshToken)
		return completedConsent{}, fail(failInternal, err)
	}
	log.Info("link saved", "link_id", link.ID, "created", created, "granted_scopes", link.GrantedScopes, "missing_scopes", link.MissingScopes)
	done := completedConsent{Link: link, Created: created, AppUser: cr.AppUserRef}
	if returnURL != "" {
		done.ReturnURL = withReturnParams(returnURL, link.ID, returnLinked)
	}
	return done, nil
}

// callbackRefusal logs and classifies an error from ParseCallback.
func (s *Server) callbackRefusal(log *slog.Logger, err error, fail func(failure, error) error) error {
	var cbErr *consumerapi.CallbackError
	switch {
	case errors.Is(err, consumerapi.ErrAccessDenied):
		log.Info("consent declined")
		return fail(failDeclined, err)
	case errors.Is(err, consumerapi.ErrIssuerMismatch):
		log.Warn("callback refused", "reason", "issuer mismatch", "error", err)
		return fail(failIssuerMismatch, err)
	case errors.As(err, &cbErr):
		log.Warn("institution returned an authorization error", "oauth_error", cbErr.Code)
		ce := fail(failAuthorizationError, err).(*consentError)
		ce.code = cbErr.Code
		return ce
	default:
		log.Warn("callback refused", "reason", "malformed response", "error", err)
		return fail(failMalformedCallback, err)
	}
}

// saveLink records a completed consent in one transaction: the link
// (created, or the existing one of the same institution, Banno user and app
// user updated and reactivated), its refresh token sealed to the link id,
// and the link's first sync. Storing the token waits for a sync that holds
// the token's row lock, so a refresh in flight cannot overwrite the new
// token afterwards.
func (s *Server) saveLink(ctx context.Context, in *Institution, cr pfm.ConsentRequest, sub, bannoInstitution string, granted, missing []string, refresh consumerapi.Secret) (pfm.Link, bool, error) {
	var link pfm.Link
	var created bool
	err := s.store.Transact(ctx, func(tx *store.Store) error {
		old, err := tx.LinksByAppUser(ctx, cr.AppUserRef)
		if err != nil {
			return err
		}
		link, created, err = tx.UpsertLinkConsent(ctx, store.LinkConsent{
			InstitutionID: in.ID,
			AppUserRef:    cr.AppUserRef,
			BannoUserID:   sub,
			GrantedScopes: granted,

			BannoInstitutionID: bannoInstitution,
			MissingScopes:      missing,
			NextSyncAt:         s.now(),
		})
		if err != nil {
			return err
		}
		if err := linktoken.Save(ctx, tx, s.sealer, link.ID, refresh); err != nil {
			return err
		}
		if _, err := s.jobs.InsertTx(ctx, tx.Tx(), jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, nil); err != nil {
			return fmt.Errorf("queue first sync of link %s: %w", link.ID, err)
		}
		return s.emitConsented(ctx, tx, link, created, old)
	})
	return link, created, err
}

// emitConsented tells the app about a consent: link.created for a new
// link, link.status_changed when a re-consent moved an existing one (from
// reauth_required or revoked back to active).
func (s *Server) emitConsented(ctx context.Context, tx *store.Store, link pfm.Link, created bool, before []pfm.Link) error {
	ev := events.Event{AppUserRef: link.AppUserRef, LinkID: link.ID}
	if created {
		ev.Type, ev.Data = events.LinkCreated, events.LinkCreatedData{Institution: link.InstitutionSlug, Status: string(link.Status),
			GrantedScopes: link.GrantedScopes, MissingScopes: link.MissingScopes}
		return s.events.Emit(ctx, tx, ev)
	}
	for _, b := range before {
		if b.ID == link.ID && b.Status != link.Status {
			ev.Type, ev.Data = events.LinkStatusChanged, events.LinkStatusChangedData{OldStatus: string(b.Status), NewStatus: string(link.Status)}
			return s.events.Emit(ctx, tx, ev)
		}
	}
	return nil
}

// revoke revokes a token at the institution, best effort: a failure is
// logged and otherwise ignored. It survives the request's cancellation.
func (s *Server) revoke(ctx context.Context, log *slog.Logger, in *Institution, tok consumerapi.Secret, hint consumerapi.TokenTypeHint) {
	if tok.IsZero() {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	if err := in.Client.Revoke(rctx, tok, hint); err != nil {
		log.Warn("revoke token at the institution", "hint", string(hint), "error_class", consumerapi.Classify(err).String(), "error", err)
		return
	}
	log.Info("token revoked at the institution", "hint", string(hint))
}

// userLink returns the link id of appUser; another user's link, an
// unknown link and a malformed id are all pfm.ErrNotFound.
func (s *Server) userLink(ctx context.Context, appUser, id string) (pfm.Link, error) {
	if !uuidRE.MatchString(id) {
		return pfm.Link{}, pfm.ErrNotFound
	}
	link, err := s.store.Link(ctx, id)
	if err != nil {
		return pfm.Link{}, err
	}
	if link.AppUserRef != appUser {
		return pfm.Link{}, pfm.ErrNotFound
	}
	return link, nil
}

// linkLookupError is the refusal for a failed userLink.
func linkLookupError(err error) error {
	if errors.Is(err, pfm.ErrNotFound) {
		return refuse(failLinkNotFound, err)
	}
	return fmt.Errorf("look up link: %w", err)
}
