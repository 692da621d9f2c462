package linkserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pfmsync/pfmsync/internal/consumerapi"
	"github.com/pfmsync/pfmsync/internal/events"
	"github.com/pfmsync/pfmsync/internal/jobs"
	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/pfm"
	"github.com/pfmsync/pfmsync/internal/store"
	"github.com/pfmsync/pfmsync/internal/userdata"
)

// apiTimeout bounds one API request (an unlink revokes at the institution).
const apiTimeout = 30 * time.Second

// maxAPIBody bounds a request body.
const maxAPIBody = 16 << 10

// apiHandler is an API handler that knows the authenticated app user.
type apiHandler func(w http.ResponseWriter, r *http.Request, appUser string)

// apiAuth authenticates an API request: Authorization: Bearer <token>, a
// link token with audience "api". The token's user is the only user the
// request can see.
func (s *Server) apiAuth(h apiHandler) http.Handler { return s.apiAuthWithin(apiTimeout, h) }

// apiAuthWithin is apiAuth with a request deadline of d.
func (s *Server) apiAuthWithin(d time.Duration, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			raw = ""
		}
		claims, err := verifyLinkToken(s.appKey, strings.TrimSpace(raw), AudienceAPI, s.now())
		if err != nil {
			s.logger.Info("API token refused", "path", r.URL.Path, "reason", err.Error())
			status, code := http.StatusUnauthorized, "invalid_token"
			if errors.Is(err, errTokenAudience) {
				status, code = http.StatusForbidden, "wrong_audience"
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="pfmsync", error="invalid_token"`)
			writeJSON(w, status, apiError{Error: code, Message: err.Error()})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h(w, r.WithContext(ctx), claims.AppUser)
	})
}

// apiError is the body of every API error.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// LinkView is a link as the API shows it.
type LinkView struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	Institution    InstitutionView `json:"institution"`
	GrantedScopes  []string        `json:"granted_scopes"`
	MissingScopes  []string        `json:"missing_scopes"`
	LastSyncAt     *time.Time      `json:"last_sync_at"`
	LastAttemptAt  *time.Time      `json:"last_attempt_at"`
	LastErrorClass pfm.ErrorClass  `json:"last_error_class,omitempty"`
	NextSyncAt     *time.Time      `json:"next_sync_at"`
	CreatedAt      time.Time       `json:"created_at"`
	ConsentedAt    time.Time       `json:"consented_at"`
}

// InstitutionView names a link's institution.
type InstitutionView struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func (s *Server) linkView(l pfm.Link) LinkView {
	name := l.InstitutionSlug
	if in := s.bySlug[l.InstitutionSlug]; in != nil {
		name = in.Name
	}
	return LinkView{
		ID:             l.ID,
		Status:         string(l.Status),
		Institution:    InstitutionView{Slug: l.InstitutionSlug, Name: name},
		GrantedScopes:  nonNil(l.GrantedScopes),
		MissingScopes:  nonNil(l.MissingScopes),
		LastSyncAt:     l.LastSuccessAt,
		LastAttemptAt:  l.LastAttemptAt,
		LastErrorClass: l.LastErrorClass,
		NextSyncAt:     l.NextSyncAt,
		CreatedAt:      l.CreatedAt,
		ConsentedAt:    l.ConsentedAt,
	}
}

// handleListLinks serves GET /api/links: the user's links.
func (s *Server) handleListLinks(w http.ResponseWriter, r *http.Request, appUser string) {
	links, err := s.store.LinksByAppUser(r.Context(), appUser)
	if err != nil {
		s.apiInternalError(w, "list links", err)
		return
	}
	out := struct {
		Links []LinkView `json:"links"`
	}{Links: []LinkView{}}
	for _, l := range links {
		out.Links = append(out.Links, s.linkView(l))
	}
	writeJSON(w, http.StatusOK, out)
}

// reconsentRequest is the optional body of POST /api/links/{id}/reconsent.
type reconsentRequest struct {
	ReturnURL string `json:"return_url"`
}

// ReconsentResponse tells the app where to send the user to renew a link.
type ReconsentResponse struct {
	LinkID    string    `json:"link_id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// handleReconsent serves POST /api/links/{id}/reconsent: a URL, valid for
// the consent TTL, that takes the user straight to the link's institution;
// a successful consent there updates and reactivates the same link.
func (s *Server) handleReconsent(w http.ResponseWriter, r *http.Request, appUser string) {
	link, ok := s.apiLink(w, r, appUser)
	if !ok {
		return
	}
	if link.Status == pfm.LinkDisabled {
		writeJSON(w, http.StatusConflict, apiError{Error: "link_disabled", Message: "the link was disabled by an operator"})
		return
	}
	var body reconsentRequest
	if err := readJSON(r, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_body", Message: err.Error()})
		return
	}
	if body.ReturnURL != "" && !s.returnURLAllowed(body.ReturnURL) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "return_url_not_allowed", Message: "return_url does not start with a configured return URL prefix"})
		return
	}
	exp := s.now().Add(min(s.consentTTL, MaxTokenLifetime)).Truncate(time.Second)
	token, err := SignLinkToken(s.appKey, LinkClaims{
		Audience: AudienceLink, AppUser: appUser, Institution: link.InstitutionSlug,
		LinkID: link.ID, ReturnURL: body.ReturnURL, Expiry: exp,
	})
	if err != nil {
		s.apiInternalError(w, "sign re-consent token", err)
		return
	}
	s.logger.Info("re-consent offered", "link_id", link.ID, "institution", link.InstitutionSlug, "app_user_hash", s.appUserHash(appUser))
	writeJSON(w, http.StatusOK, ReconsentResponse{
		LinkID:    link.ID,
		URL:       s.publicURL + "/link/start?" + url.Values{"token": {token}}.Encode(),
		ExpiresAt: exp,
	})
}

// SyncResponse reports a manual sync request.
type SyncResponse struct {
	LinkID string `json:"link_id"`
	// Status is "queued", or "already_queued" when a sync of the link is
	// already waiting or running.
	Status string `json:"status"`
	JobID  int64  `json:"job_id"`
}

// handleSync serves POST /api/links/{id}/sync: it queues a manual sync of
// an active link unless one is already queued or running.
func (s *Server) handleSync(w http.ResponseWriter, r *http.Request, appUser string) {
	link, ok := s.apiLink(w, r, appUser)
	if !ok {
		return
	}
	if link.Status != pfm.LinkActive {
		writeJSON(w, http.StatusConflict, apiError{Error: "link_not_active", Message: "only an active link can be synced; this one is " + string(link.Status)})
		return
	}
	resp := SyncResponse{LinkID: link.ID, Status: "queued"}
	err := s.store.Transact(r.Context(), func(tx *store.Store) error {
		res, err := s.jobs.InsertTx(r.Context(), tx.Tx(), jobs.SyncArgs{LinkID: link.ID, Trigger: jobs.TriggerManual}, nil)
		if err != nil {
			return err
		}
		if res.UniqueSkippedAsDuplicate {
			resp.Status = "already_queued"
		}
		if res.Job != nil {
			resp.JobID = res.Job.ID
		}
		return nil
	})
	if err != nil {
		s.apiInternalError(w, "queue manual sync", err)
		return
	}
	s.logger.Info("manual sync requested", "link_id", link.ID, "institution", link.InstitutionSlug, "status", resp.Status)
	status := http.StatusAccepted
	if resp.Status == "already_queued" {
		status = http.StatusOK
	}
	writeJSON(w, status, resp)
}

// UnlinkResponse reports an unlink.
type UnlinkResponse struct {
	LinkID string `json:"link_id"`
	// Status is "revoked" (the link is kept, with its synced data) or
	// "deleted" (purged with everything synced for it).
	Status string `json:"status"`
	// Revocation says what happened at the institution: "revoked",
	// "failed" (the institution could not be reached or refused; the link
	// is unlinked anyway) or "no_token" (nothing to revoke).
	Revocation string `json:"revocation"`
	// RevocationError classifies a failed revocation.
	RevocationError string `json:"revocation_error,omitempty"`
}

// handleUnlink serves DELETE /api/links/{id}?purge=true|false. The refresh
// token is revoked at the institution (a failure is logged and reported but
// does not stop the unlink) and deleted; then the link is either marked
// revoked, keeping its synced data (purge=false), or deleted with
// everything synced for it (purge=true). Without the parameter the
// deployment's setting decides (PFMSYNC_UNLINK_DATA, keep by default). The
// token's row is locked first, so a sync refreshing it finishes before the
// revocation.
func (s *Server) handleUnlink(w http.ResponseWriter, r *http.Request, appUser string) {
	purge := s.purge
	switch v := r.URL.Query().Get("purge"); v {
	case "":
	case "false":
		purge = false
	case "true":
		purge = true
	default:
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_purge", Message: "purge must be true or false"})
		return
	}
	link, ok := s.apiLink(w, r, appUser)
	if !ok {
		return
	}
	ctx := r.Context()
	log := s.logger.With("link_id", link.ID, "institution", link.InstitutionSlug, "app_user_hash", s.appUserHash(appUser))
	resp := UnlinkResponse{LinkID: link.ID, Status: string(pfm.LinkRevoked), Revocation: "no_token"}
	if purge {
		resp.Status = "deleted"
	}
	err := s.store.Transact(ctx, func(tx *store.Store) error {
		t, err := tx.LockLinkToken(ctx, link.ID)
		switch {
		case errors.Is(err, pfm.ErrNotFound):
		case err != nil:
			return err
		default:
			resp.Revocation, resp.RevocationError = s.revokeLinkToken(ctx, log, link, t)
			if err := tx.DeleteLinkToken(ctx, link.ID); err != nil {
				return err
			}
		}
		ev := events.Event{Type: events.LinkStatusChanged, AppUserRef: link.AppUserRef, LinkID: link.ID,
			Data: events.LinkStatusChangedData{OldStatus: string(link.Status), NewStatus: resp.Status}}
		if purge {
			if err := tx.DeleteLink(ctx, link.ID); err != nil {
				return err
			}
			return s.events.Emit(ctx, tx, ev)
		}
		if err := tx.SetLinkStatus(ctx, link.ID, pfm.LinkRevoked, "", ""); err != nil {
			return err
		}
		if link.Status == pfm.LinkRevoked {
			return nil
		}
		return s.events.Emit(ctx, tx, ev)
	})
	if err != nil {
		s.apiInternalError(w, "unlink", err)
		return
	}
	log.Info("link unlinked", "purged", purge, "revocation", resp.Revocation)
	writeJSON(w, http.StatusOK, resp)
}

// exportTimeout bounds one export: a large history streams for a while.
const exportTimeout = 10 * time.Minute

// EraseResponse reports an erased app user.
type EraseResponse struct {
	// Status is "erased".
	Status string `json:"status"`
	userdata.Erasure
}

// handleEraseUser serves DELETE /api/users/me: every grant of the token's
// app user is revoked at its bank (best effort, reported per link), then
// every row pfmsync holds about the user is deleted in one transaction.
// The answer counts the rows deleted per table. Erasing a user pfmsync does
// not know succeeds and deletes nothing.
func (s *Server) handleEraseUser(w http.ResponseWriter, r *http.Request, appUser string) {
	er, err := s.eraser.Erase(r.Context(), appUser)
	if err != nil {
		s.apiInternalError(w, "erase app user", err)
		return
	}
	failed := 0
	for _, rev := range er.Revocations {
		if rev.Outcome == userdata.RevocationFailed {
			failed++
		}
	}
	s.logger.Info("app user erased", "app_user_hash", s.appUserHash(appUser), "links", er.Links,
		"revocations_failed", failed, "rows", er.Rows())
	writeJSON(w, http.StatusOK, EraseResponse{Status: "erased", Erasure: er})
}

// handleExportUser serves GET /api/users/me/export?format=json|zip: every
// row pfmsync holds about the token's app user, streamed from one snapshot
// (see userdata.Export). No secret is included.
func (s *Server) handleExportUser(w http.ResponseWriter, r *http.Request, appUser string) {
	format, err := userdata.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_format", Message: err.Error()})
		return
	}
	// The server's write timeout suits ordinary requests; an export may
	// stream for longer (a wrapper that cannot extend it is left as is).
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(exportTimeout))
	now := s.now().UTC()
	name := "pfmsync-export-" + now.Format("20060102T150405Z") + "." + string(format)
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := userdata.Export(r.Context(), s.store, appUser, format, now, w); err != nil {
		// The status is sent: the body stays truncated (invalid JSON or
		// zip), which the client detects.
		s.logger.Error("export failed mid-way", "app_user_hash", s.appUserHash(appUser), "error", err)
		return
	}
	s.logger.Info("app user exported", "app_user_hash", s.appUserHash(appUser), "format", string(format))
}

// revokeLinkToken opens a link's sealed token and revokes it at the
// institution. It reports the outcome; it never fails the unlink.
func (s *Server) revokeLinkToken(ctx context.Context, log *slog.Logger, link pfm.Link, t pfm.SealedToken) (outcome, class string) {
	in := s.bySlug[link.InstitutionSlug]
	if in == nil {
		log.Warn("cannot revoke: the institution is no longer configured")
		return "failed", string(pfm.ClassInstitutionNotConfigured)
	}
	secret, err := linktoken.Open(ctx, s.sealer, t)
	if err != nil {
		log.Error("cannot revoke: the sealed token does not open", "key_id", t.KeyID, "error", err)
		return "failed", string(pfm.ClassTokenUnreadable)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	if err := in.Client.Revoke(rctx, secret, consumerapi.HintRefreshToken); err != nil {
		class := string(jobs.ErrorClassOf(err))
		log.Warn("revocation at the institution failed; unlinking anyway", "error_class", class, "error", err)
		return "failed", class
	}
	return "revoked", ""
}

// apiLink loads the link named by the path for appUser; another user's
// link is reported exactly like an unknown one (404).
func (s *Server) apiLink(w http.ResponseWriter, r *http.Request, appUser string) (pfm.Link, bool) {
	link, err := s.userLink(r.Context(), appUser, r.PathValue("id"))
	switch {
	case errors.Is(err, pfm.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "not_found", Message: "no such link"})
		return pfm.Link{}, false
	case err != nil:
		s.apiInternalError(w, "look up link", err)
		return pfm.Link{}, false
	}
	return link, true
}

func (s *Server) apiInternalError(w http.ResponseWriter, what string, err error) {
	s.logger.Error("API request failed", "operation", what, "error", err)
	writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal", Message: "internal error"})
}

// readJSON decodes an optional JSON body (empty is allowed).
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		return errors.New("the body could not be read")
	}
	if len(b) > maxAPIBody {
		return errors.New("the body is too large")
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("the body must be a JSON object with known fields")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the body must hold one JSON object and nothing after it")
	}
	return nil
}

// methodNotAllowed answers a known API path with another method: 405, as
// JSON like every API error.
func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, apiError{Error: "method_not_allowed", Message: r.Method + " is not allowed here; use " + allow})
	})
}

// apiNotFound answers an unknown API path: 404, as JSON.
func apiNotFound(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, apiError{Error: "not_found", Message: "no such API endpoint"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
