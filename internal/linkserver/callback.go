package linkserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// Deadlines of the callback: the request up to the code exchange; what
// follows the exchange (one transaction), which is not abandoned when the
// browser goes away; and a best-effort revocation after a failure.
const (
	callbackTimeout = 60 * time.Second
	saveTimeout     = 30 * time.Second
	revokeTimeout   = 15 * time.Second
	maxStateLen     = 512
)

// Statuses appended to the return URL (status=…).
const (
	returnLinked                = "linked"
	returnDeclined              = "declined"
	returnOfflineAccessRequired = "offline_access_required"
	returnError                 = "error"
)

// handleCallback serves GET /link/callback, the OAuth redirect URI.
//
// The consent request is looked up by the SHA-256 of the state and consumed
// at once (an unknown, used or expired state stops here with nothing
// stored), and the browser must hold the request's binding cookie (see
// browser_binding.go). A declined consent shows a page. Otherwise the code is exchanged
// with the PKCE verifier, the ID token verified (issuer, audience, expiry,
// signature, nonce), and in one transaction the link is created or
// updated, its refresh token sealed to the link id and stored, and its
// first sync queued. Any failure after the exchange revokes the new refresh
// token at the institution (best effort) before showing an error page.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), callbackTimeout)
	defer cancel()
	q := r.URL.Query()

	state := q.Get("state")
	if state == "" || len(state) > maxStateLen {
		s.logger.Info("callback refused", "reason", "no usable state")
		s.renderMessage(w, http.StatusBadRequest, "error", "This sign-in cannot be completed",
			"The response from your bank is incomplete.", "Go back to your app and start again.", "")
		return
	}
	stateHash := sha256.Sum256([]byte(state))
	cr, err := s.store.ConsumeConsentRequest(ctx, stateHash[:], s.now())
	switch {
	case errors.Is(err, pfm.ErrNotFound):
		s.logger.Warn("callback refused", "reason", "unknown state")
		s.renderMessage(w, http.StatusBadRequest, "error", "This sign-in cannot be completed",
			"This response does not belong to a connection started here.", "Go back to your app and start again.", "")
		return
	case errors.Is(err, pfm.ErrConsentRequestUsed):
		s.logger.Warn("callback refused", "reason", "state already used")
		s.renderMessage(w, http.StatusBadRequest, "error", "This sign-in was already completed",
			"This response was already used once and cannot be used again.", "If your bank is not connected yet, go back to your app and start again.", "")
		return
	case errors.Is(err, pfm.ErrConsentRequestExpired):
		s.logger.Info("callback refused", "reason", "state expired")
		s.renderMessage(w, http.StatusBadRequest, "error", "This sign-in took too long",
			"Connecting a bank must be finished within a few minutes.", "Go back to your app and start again.", "")
		return
	case err != nil:
		s.logger.Error("consume consent request", "error", err)
		s.renderInternalError(w, "")
		return
	}
	// The consent request is consumed either way: a forwarded
	// authorization URL is burned the first time anyone uses it.
	if !s.browserMatches(w, r, stateHash[:], cr.BrowserHash) {
		s.logger.Warn("callback refused", "reason", "not the browser that started the consent", "consent_request_id", cr.ID)
		s.renderMessage(w, http.StatusForbidden, "forbidden", "This sign-in cannot be completed here",
			"Connecting a bank must be finished in the same browser it was started from.", "Go back to your app and start again from there.", "")
		return
	}

	in := s.byID[cr.InstitutionID]
	if in == nil {
		s.logger.Error("callback for an institution that is no longer configured", "consent_request_id", cr.ID, "institution_id", cr.InstitutionID)
		s.renderUnknownInstitution(w)
		return
	}
	log := s.logger.With("consent_request_id", cr.ID, "institution", in.Slug, "app_user_hash", s.appUserHash(cr.AppUserRef))
	if cr.LinkID != "" {
		log = log.With("link_id", cr.LinkID)
	}
	back := func(status, linkID string) string {
		if cr.ReturnURL == "" || !s.returnURLAllowed(cr.ReturnURL) {
			return ""
		}
		return withReturnParams(cr.ReturnURL, linkID, status)
	}

	code, err := in.Client.ParseCallback(ctx, q, state)
	if err != nil {
		s.callbackError(w, log, in, err, back(returnDeclined, cr.LinkID), back(returnError, cr.LinkID))
		return
	}

	verifier, err := s.sealer.Open(ctx, cr.SealedVerifier, tokenseal.Context{Purpose: tokenseal.PurposePKCEVerifier, Subject: cr.ID})
	if err != nil {
		log.Error("open PKCE verifier", "error", err)
		s.renderInternalError(w, back(returnError, cr.LinkID))
		return
	}
	tok, err := in.Client.Exchange(ctx, code, consumerapi.Secret(verifier), cr.Nonce)
	clear(verifier)
	if err != nil {
		log.Warn("code exchange failed", "error_class", consumerapi.Classify(err).String(), "error", err)
		s.renderMessage(w, http.StatusBadGateway, "error", "Your bank could not be connected",
			"The sign-in at "+in.Name+" could not be completed.", "Nothing was saved. Go back to your app and try again.", back(returnError, cr.LinkID))
		return
	}
	// From here on the institution has issued tokens: finish (store them,
	// or revoke them) even if the browser goes away.
	ctx, cancelSave := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancelSave()
	sub := tok.Claims.Subject
	missing := tok.MissingScopes(in.Client.Institution().Scopes)

	if tok.RefreshToken.IsZero() {
		// No offline access: no refresh token, so no background sync is
		// possible. Nothing is stored and the access token is revoked.
		s.revoke(ctx, log, in, tok.AccessToken, consumerapi.HintAccessToken)
		log.Info("consent without offline access: nothing stored", "granted_scopes", tok.GrantedScopes)
		s.renderMessage(w, http.StatusOK, "offline-access-required", "Your bank was not connected",
			"You did not allow this app to stay connected (offline access). Without it the app cannot refresh your data while you are away, so nothing was saved.",
			"To connect your bank, start again and keep “Stay connected” ticked.", back(returnOfflineAccessRequired, cr.LinkID))
		return
	}

	if cr.LinkID != "" {
		link, err := s.store.Link(ctx, cr.LinkID)
		if err != nil {
			log.Error("look up link to re-consent", "error", err)
			s.revoke(ctx, log, in, tok.RefreshToken, consumerapi.HintRefreshToken)
			s.renderInternalError(w, back(returnError, cr.LinkID))
			return
		}
		if link.BannoUserID != sub {
			log.Warn("re-consent by another bank user refused")
			s.revoke(ctx, log, in, tok.RefreshToken, consumerapi.HintRefreshToken)
			s.renderMessage(w, http.StatusConflict, "error", "You signed in as someone else",
				"You signed in at "+in.Name+" with a different user than the connection you are renewing. Nothing was changed.",
				"Go back to your app and renew the connection with the same bank user, or connect this user as a new bank.", back(returnError, cr.LinkID))
			return
		}
	}

	link, created, err := s.saveLink(ctx, in, cr, sub, tok.GrantedScopes, missing, tok.RefreshToken)
	if err != nil {
		log.Error("save link", "error", err)
		s.revoke(ctx, log, in, tok.RefreshToken, consumerapi.HintRefreshToken)
		s.renderInternalError(w, back(returnError, cr.LinkID))
		return
	}
	if cr.LinkID == "" {
		log = log.With("link_id", link.ID)
	}
	log.Info("link saved", "created", created, "granted_scopes", link.GrantedScopes, "missing_scopes", link.MissingScopes)

	if u := back(returnLinked, link.ID); u != "" {
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	data := page{Title: "Bank connected", Kind: "linked", InstitutionName: in.Name, LinkID: link.ID}
	for _, sc := range link.MissingScopes {
		data.Missing = append(data.Missing, scopeNote{Scope: sc, Meaning: scopeMeaning(sc)})
	}
	s.render(w, http.StatusOK, pageSuccess, data)
}

// callbackError renders the page for an error from ParseCallback.
func (s *Server) callbackError(w http.ResponseWriter, log *slog.Logger, in *Institution, err error, declinedURL, errorURL string) {
	var cbErr *consumerapi.CallbackError
	switch {
	case errors.Is(err, consumerapi.ErrAccessDenied):
		log.Info("consent declined")
		s.renderMessage(w, http.StatusOK, "declined", "You declined",
			"You chose not to connect your account at "+in.Name+". Nothing was saved.",
			"You can connect it later from your app.", declinedURL)
	case errors.Is(err, consumerapi.ErrIssuerMismatch):
		log.Warn("callback refused", "reason", "issuer mismatch", "error", err)
		s.renderMessage(w, http.StatusBadRequest, "error", "This sign-in cannot be completed",
			"The response did not come from "+in.Name+".", "Nothing was saved. Go back to your app and start again.", errorURL)
	case errors.As(err, &cbErr):
		log.Warn("institution returned an authorization error", "oauth_error", cbErr.Code)
		s.renderMessage(w, http.StatusBadGateway, "error", "Your bank could not be connected",
			in.Name+" reported an error ("+cbErr.Code+").", "Nothing was saved. Go back to your app and try again.", errorURL)
	default:
		log.Warn("callback refused", "reason", "malformed response", "error", err)
		s.renderMessage(w, http.StatusBadRequest, "error", "This sign-in cannot be completed",
			"The response from your bank is incomplete.", "Nothing was saved. Go back to your app and start again.", errorURL)
	}
}

// saveLink records a completed consent in one transaction: the link
// (created, or the existing one of the same institution, Banno user and app
// user updated and reactivated), its refresh token sealed to the link id,
// and the link's first sync. Storing the token waits for a sync that holds
// the token's row lock, so a refresh in flight cannot overwrite the new
// token afterwards.
func (s *Server) saveLink(ctx context.Context, in *Institution, cr pfm.ConsentRequest, sub string, granted, missing []string, refresh consumerapi.Secret) (pfm.Link, bool, error) {
	var link pfm.Link
	var created bool
	err := s.store.Transact(ctx, func(tx *store.Store) error {
		var err error
		link, created, err = tx.UpsertLinkConsent(ctx, store.LinkConsent{
			InstitutionID: in.ID,
			AppUserRef:    cr.AppUserRef,
			BannoUserID:   sub,
			GrantedScopes: granted,
			MissingScopes: missing,
			NextSyncAt:    s.now(),
		})
		if err != nil {
			return err
		}
		plain := []byte(refresh.Reveal())
		sealed, err := s.sealer.Seal(ctx, plain, tokenseal.Context{Purpose: tokenseal.PurposeRefreshToken, Subject: link.ID})
		clear(plain)
		if err != nil {
			return fmt.Errorf("seal refresh token of link %s: %w", link.ID, err)
		}
		keyID, err := tokenseal.KeyID(sealed)
		if err != nil {
			return fmt.Errorf("seal refresh token of link %s: %w", link.ID, err)
		}
		if _, err := tx.PutLinkToken(ctx, link.ID, sealed, keyID); err != nil {
			return err
		}
		if _, err := s.jobs.InsertTx(ctx, tx.Tx(), jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerLink}, nil); err != nil {
			return fmt.Errorf("queue first sync of link %s: %w", link.ID, err)
		}
		return nil
	})
	return link, created, err
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
