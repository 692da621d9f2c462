package linkserver

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// uuidRE matches the canonical text form of a UUID.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// DonePath is the success page the callback redirects to: its URL names
// the link by a signed token and carries no code or state, so a reload
// shows the same page.
const DonePath = "/link/done"

// doneLifetime is how long a success page's URL keeps working.
const doneLifetime = MaxTokenLifetime

// handleHome serves GET /: what this server is, nothing more.
func (s *Server) handleHome(w http.ResponseWriter, _ *http.Request) {
	s.render(w, http.StatusOK, pageHome, page{Title: "pfmsync link server", Kind: "home"})
}

// handleConnect serves GET /link?token=…: the institutions the user can
// connect to, each with a Connect button leading to /link/start. A token
// naming an institution or a link narrows the list to that institution.
func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	claims, err := s.pageClaims(r)
	if err == nil {
		var data page
		data, err = s.connectPage(r.Context(), claims, r.URL.Query().Get("token"))
		if err == nil {
			s.render(w, http.StatusOK, pageConnect, data)
			return
		}
	}
	s.renderRefusal(w, s.logRefusal(err))
}

// connectPage is the connect page's data for a verified token.
func (s *Server) connectPage(ctx context.Context, claims LinkClaims, token string) (page, error) {
	if claims.ReturnURL != "" && !s.returnURLAllowed(claims.ReturnURL) {
		return page{}, refuse(failReturnURLRefused, nil)
	}
	data := page{Title: "Connect your bank", Kind: "connect"}
	add := func(in *Institution) {
		data.Choices = append(data.Choices, choice{Slug: in.Slug, Name: in.Name,
			StartURL: "/link/start?" + url.Values{"token": {token}, "institution": {in.Slug}}.Encode()})
	}
	switch {
	case claims.LinkID != "":
		link, err := s.userLink(ctx, claims.AppUser, claims.LinkID)
		if err != nil {
			return page{}, linkLookupError(err)
		}
		in := s.bySlug[link.InstitutionSlug]
		if in == nil {
			return page{}, refuse(failUnknownInstitution, nil)
		}
		data.Title, data.Reconsent = "Reconnect your bank", true
		add(in)
	case claims.Institution != "":
		in := s.bySlug[claims.Institution]
		if in == nil {
			return page{}, refuse(failUnknownInstitution, nil)
		}
		add(in)
	default:
		for i := range s.insts {
			add(&s.insts[i])
		}
	}
	return data, nil
}

// handleStart serves GET /link/start?token=…&institution=…: see
// startConsent. It sets the browser-binding cookie and redirects to the
// institution.
func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), startTimeout)
	defer cancel()
	claims, err := s.pageClaims(r)
	if err == nil {
		var started startedConsent
		if started, err = s.startConsent(ctx, claims, r.URL.Query().Get("institution")); err == nil {
			s.setBindingCookie(w, started.StateHash, started.Binding, s.consentTTL)
			http.Redirect(w, r, started.AuthURL, http.StatusSeeOther)
			return
		}
	}
	s.renderRefusal(w, s.logRefusal(err))
}

// handleCallback serves GET /link/callback, the OAuth redirect URI: see
// completeConsent. A saved link redirects (303) to the app's return URL
// or to the success page.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), callbackTimeout)
	defer cancel()
	done, err := s.completeConsent(ctx, r.URL.Query(), func(stateHash []byte) string {
		return s.clearBindingCookie(w, r, stateHash)
	})
	if err != nil {
		s.renderRefusal(w, s.logRefusal(err))
		return
	}
	if done.ReturnURL != "" {
		http.Redirect(w, r, done.ReturnURL, http.StatusSeeOther)
		return
	}
	token, err := signToken(s.appKey, LinkClaims{Audience: audienceDone, AppUser: done.AppUser, LinkID: done.Link.ID,
		Expiry: s.now().Add(doneLifetime).Truncate(time.Second)})
	if err != nil {
		s.renderRefusal(w, s.logRefusal(err))
		return
	}
	http.Redirect(w, r, DonePath+"?"+url.Values{"r": {token}}.Encode(), http.StatusSeeOther)
}

// handleDone serves GET /link/done?r=…: the success page of a saved link.
func (s *Server) handleDone(w http.ResponseWriter, r *http.Request) {
	claims, err := verifyLinkToken(s.appKey, r.URL.Query().Get("r"), audienceDone, s.now())
	if err != nil {
		s.logger.Info("success page refused", "reason", err.Error())
		s.renderRefusal(w, tokenRefusal(err))
		return
	}
	link, err := s.userLink(r.Context(), claims.AppUser, claims.LinkID)
	if err != nil {
		s.renderRefusal(w, s.logRefusal(linkLookupError(err)))
		return
	}
	name := link.InstitutionSlug
	if in := s.bySlug[link.InstitutionSlug]; in != nil {
		name = in.Name
	}
	data := page{Title: "Bank connected", Kind: "linked", InstitutionName: name, LinkID: link.ID, DashboardURL: s.dashboard}
	for _, sc := range link.MissingScopes {
		data.Missing = append(data.Missing, scopeNote{Scope: sc, Meaning: scopeMeaning(sc)})
	}
	s.render(w, http.StatusOK, pageSuccess, data)
}

// pageClaims verifies the link token of a consent page and the optional
// user parameter. Refusals are *consentError.
func (s *Server) pageClaims(r *http.Request) (LinkClaims, error) {
	q := r.URL.Query()
	claims, err := verifyLinkToken(s.appKey, q.Get("token"), AudienceLink, s.now())
	if err != nil {
		s.logger.Info("link token refused", "path", r.URL.Path, "reason", err.Error())
		return LinkClaims{}, tokenRefusal(err)
	}
	if u := q.Get("user"); u != "" && u != claims.AppUser {
		s.logger.Info("link token refused", "path", r.URL.Path, "reason", "user parameter differs from the token's user")
		return LinkClaims{}, refuse(failOtherUser, nil)
	}
	return claims, nil
}

// tokenRefusal maps a token verification error to its refusal.
func tokenRefusal(err error) *consentError {
	switch err {
	case errTokenMissing:
		return refuse(failTokenMissing, err)
	case errTokenExpired:
		return refuse(failTokenExpired, err)
	case errTokenAudience:
		return refuse(failTokenAudience, err)
	default:
		return refuse(failTokenInvalid, err)
	}
}

// logRefusal logs an error that is not a refusal (a failure on our side)
// and returns err.
func (s *Server) logRefusal(err error) error {
	if ce := asConsentError(err); ce.reason == failInternal {
		s.logger.Error("consent step failed", "error", err)
	}
	return err
}
