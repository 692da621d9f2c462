package linkserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// startTimeout bounds the work of /link/start (discovery at the
// institution, one insert).
const startTimeout = 20 * time.Second

// uuidRE matches the canonical text form of a UUID.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// handleConnect serves GET /link?token=…: the institutions the user can
// connect to, each with a Connect button leading to /link/start. A token
// naming an institution or a link narrows the list to that institution.
func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	claims, ok := s.pageClaims(w, r)
	if !ok {
		return
	}
	if claims.ReturnURL != "" && !s.returnURLAllowed(claims.ReturnURL) {
		s.renderReturnURLRefused(w)
		return
	}
	token := r.URL.Query().Get("token")
	startURL := func(slug string) string {
		return "/link/start?" + url.Values{"token": {token}, "institution": {slug}}.Encode()
	}
	data := page{Title: "Connect your bank", Kind: "connect"}
	switch {
	case claims.LinkID != "":
		link, err := s.userLink(r.Context(), claims.AppUser, claims.LinkID)
		if err != nil {
			s.renderLinkLookupError(w, err)
			return
		}
		in := s.bySlug[link.InstitutionSlug]
		if in == nil {
			s.renderUnknownInstitution(w)
			return
		}
		data.Title = "Reconnect your bank"
		data.Reconsent = true
		data.Choices = []choice{{Slug: in.Slug, Name: in.Name, StartURL: startURL(in.Slug)}}
	case claims.Institution != "":
		in := s.bySlug[claims.Institution]
		if in == nil {
			s.renderUnknownInstitution(w)
			return
		}
		data.Choices = []choice{{Slug: in.Slug, Name: in.Name, StartURL: startURL(in.Slug)}}
	default:
		for _, in := range s.insts {
			data.Choices = append(data.Choices, choice{Slug: in.Slug, Name: in.Name, StartURL: startURL(in.Slug)})
		}
	}
	s.render(w, http.StatusOK, pageConnect, data)
}

// handleStart serves GET /link/start?token=…&institution=…: it stores a
// one-time consent request (the SHA-256 of the state, the nonce, the PKCE
// verifier sealed to the request's id) and sends the browser to the
// institution's authorization endpoint.
func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	claims, ok := s.pageClaims(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), startTimeout)
	defer cancel()

	slug := r.URL.Query().Get("institution")
	if claims.Institution != "" {
		if slug != "" && slug != claims.Institution {
			s.renderMessage(w, http.StatusForbidden, "forbidden", "This link cannot be used here",
				"This link was made for another bank.", "Go back to your app and start again.", "")
			return
		}
		slug = claims.Institution
	}
	var linkID string
	if claims.LinkID != "" {
		link, err := s.userLink(ctx, claims.AppUser, claims.LinkID)
		if err != nil {
			s.renderLinkLookupError(w, err)
			return
		}
		if slug != "" && slug != link.InstitutionSlug {
			s.renderMessage(w, http.StatusForbidden, "forbidden", "This link cannot be used here",
				"This link was made for another bank.", "Go back to your app and start again.", "")
			return
		}
		slug, linkID = link.InstitutionSlug, link.ID
	}
	if slug == "" {
		s.renderMessage(w, http.StatusBadRequest, "error", "Choose your bank",
			"No bank was chosen.", "Go back to the list of banks and choose one.", "")
		return
	}
	in := s.bySlug[slug]
	if in == nil {
		s.renderUnknownInstitution(w)
		return
	}
	if claims.ReturnURL != "" && !s.returnURLAllowed(claims.ReturnURL) {
		s.renderReturnURLRefused(w)
		return
	}

	req, err := in.Client.AuthorizationRequest(ctx)
	if err != nil {
		s.logger.Warn("prepare authorization request", "institution", in.Slug, "error", err)
		s.renderMessage(w, http.StatusBadGateway, "error", "Your bank cannot be reached",
			in.Name+" is not answering right now.", "Please try again in a few minutes.", "")
		return
	}
	id := pfm.NewID()
	sealed, err := s.sealer.Seal(ctx, []byte(req.CodeVerifier.Reveal()), tokenseal.Context{Purpose: tokenseal.PurposePKCEVerifier, Subject: id})
	if err != nil {
		s.logger.Error("seal PKCE verifier", "institution", in.Slug, "error", err)
		s.renderInternalError(w, "")
		return
	}
	stateHash := sha256.Sum256([]byte(req.State))
	binding, bindingHash := newBrowserBinding()
	now := s.now()
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
		ExpiresAt:      now.Add(s.consentTTL),
	})
	if err != nil {
		s.logger.Error("store consent request", "institution", in.Slug, "error", err)
		s.renderInternalError(w, "")
		return
	}
	log := s.logger.With("consent_request_id", id, "institution", in.Slug, "app_user_hash", s.appUserHash(claims.AppUser))
	if linkID != "" {
		log = log.With("link_id", linkID)
	}
	log.Info("consent started")
	s.setBindingCookie(w, stateHash[:], binding, s.consentTTL)
	http.Redirect(w, r, req.URL, http.StatusSeeOther)
}

// pageClaims verifies the link token of a consent page. On failure it
// renders the refusal and reports false.
func (s *Server) pageClaims(w http.ResponseWriter, r *http.Request) (LinkClaims, bool) {
	q := r.URL.Query()
	claims, err := verifyLinkToken(s.appKey, q.Get("token"), AudienceLink, s.now())
	if err != nil {
		s.logger.Info("link token refused", "path", r.URL.Path, "reason", err.Error())
		status, kind, title, message := tokenRefusal(err)
		s.renderMessage(w, status, kind, title, message, "Go back to your app and start again from there.", "")
		return LinkClaims{}, false
	}
	if u := q.Get("user"); u != "" && u != claims.AppUser {
		s.logger.Info("link token refused", "path", r.URL.Path, "reason", "user parameter differs from the token's user")
		s.renderMessage(w, http.StatusForbidden, "forbidden", "This link cannot be used here",
			"This link was made for someone else.", "Go back to your app and start again from there.", "")
		return LinkClaims{}, false
	}
	return claims, true
}

// tokenRefusal maps a token verification error to a status and a message
// for people.
func tokenRefusal(err error) (status int, kind, title, message string) {
	switch {
	case errors.Is(err, errTokenMissing):
		return http.StatusUnauthorized, "unauthorized", "Open this page from your app", "This page only works when your app sends you here."
	case errors.Is(err, errTokenExpired):
		return http.StatusUnauthorized, "unauthorized", "This link has expired", "Links to connect a bank are valid for a few minutes only."
	case errors.Is(err, errTokenAudience):
		return http.StatusForbidden, "forbidden", "This link cannot be used here", "This link was not made for connecting a bank."
	default:
		return http.StatusUnauthorized, "unauthorized", "This link is not valid", "The link is damaged or was not made by your app."
	}
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

func (s *Server) renderLinkLookupError(w http.ResponseWriter, err error) {
	if errors.Is(err, pfm.ErrNotFound) {
		s.renderMessage(w, http.StatusNotFound, "not-found", "Connection not found",
			"The bank connection this link refers to does not exist.", "It may have been removed. Go back to your app and connect your bank again.", "")
		return
	}
	s.logger.Error("look up link", "error", err)
	s.renderInternalError(w, "")
}

func (s *Server) renderUnknownInstitution(w http.ResponseWriter) {
	s.renderMessage(w, http.StatusNotFound, "not-found", "Bank not available",
		"This bank is not available for connecting.", "Go back to your app and choose another bank.", "")
}

func (s *Server) renderReturnURLRefused(w http.ResponseWriter) {
	s.renderMessage(w, http.StatusBadRequest, "error", "This link cannot be used",
		"The app asked to send you back to an address that is not allowed.", "Contact the app's support.", "")
}

func (s *Server) renderInternalError(w http.ResponseWriter, returnURL string) {
	s.renderMessage(w, http.StatusInternalServerError, "error", "Something went wrong",
		"Your bank was not connected because of an error on our side.", "Nothing was saved. Please try again in a few minutes.", returnURL)
}
