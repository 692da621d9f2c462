package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// apiError is the Consumer API's documented error body.
type apiError struct {
	ErrorCode int    `json:"errorCode"`
	Messages  string `json:"messages"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	writeBody(w, status, body)
}

// writeBody writes a JSON response body.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// bodyBuffers recycles the buffers transaction pages are encoded into; a
// 500-row page is about half a megabyte.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer kept for reuse; unpaginated reads of
// large accounts make bigger ones, which are left to the collector.
const maxPooledBody = 4 << 20

// writeAppended writes the JSON body appendBody appends to an empty
// buffer. When appendBody fails nothing is written and its error returned.
func writeAppended(w http.ResponseWriter, status int, appendBody func([]byte) ([]byte, error)) error {
	buf := bodyBuffers.Get().(*[]byte)
	body, err := appendBody((*buf)[:0])
	if err == nil {
		writeBody(w, status, body)
	}
	if cap(body) <= maxPooledBody {
		*buf = body[:0]
	}
	bodyBuffers.Put(buf)
	return err
}

func writeAPIError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, apiError{ErrorCode: status, Messages: fmt.Sprintf(format, args...)})
}

// apiRoute wraps a Consumer API handler: faults, bearer authentication,
// the per-client budget, the user check and the scope check.
func (s *Server) apiRoute(scope string, h http.HandlerFunc) http.Handler {
	return s.withFaults(true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || bearer == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="consumer-api"`)
			writeAPIError(w, http.StatusUnauthorized, "missing bearer access token")
			return
		}
		grant, err := s.auth.Verify(r.Context(), bearer)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="consumer-api", error="invalid_token"`)
			writeAPIError(w, http.StatusUnauthorized, "the access token is invalid, expired or revoked")
			return
		}
		now := s.wall()
		if wait, over := s.faults.spend(grant.ClientID, now); over {
			s.stats.budgetRejected()
			w.Header().Set("Retry-After", retryAfterValue(wait, false, now))
			writeAPIError(w, http.StatusTooManyRequests, "request budget exhausted for this client")
			return
		}
		s.stats.client(grant.ClientID, now)
		if user := r.PathValue("userId"); user != grant.Subject {
			writeAPIError(w, http.StatusForbidden, "the access token does not grant access to this user")
			return
		}
		if scope != "" && !slices.Contains(grant.Scopes, scope) {
			writeAPIError(w, http.StatusForbidden, "missing permission: scope %s was not granted", scope)
			return
		}
		h(w, r)
	}))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	p, ok := s.bank.Profile(r.PathValue("userId"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, "user not found")
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// accountsResponse is GET /users/{userId}/accounts.
type accountsResponse struct {
	Accounts              []bank.Account `json:"accounts"`
	InactivatedAccountIDs []string       `json:"inactivatedAccountIds"`
}

func (s *Server) getAccounts(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	accounts, inactive, ok := s.bank.Accounts(r.PathValue("userId"), now)
	if !ok {
		writeAPIError(w, http.StatusNotFound, "user not found")
		return
	}
	accounts = append(accounts, s.externalAccounts(r.PathValue("userId"), now, s.behaviour.get())...)
	if accounts == nil {
		accounts = []bank.Account{}
	}
	if inactive == nil {
		inactive = []string{}
	}
	writeJSON(w, http.StatusOK, accountsResponse{Accounts: accounts, InactivatedAccountIDs: inactive})
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	a, ok := s.bank.Account(r.PathValue("userId"), r.PathValue("accountId"), now)
	if !ok {
		a, ok = s.externalAccount(r.PathValue("userId"), r.PathValue("accountId"), now, s.behaviour.get())
	}
	if !ok {
		writeAPIError(w, http.StatusNotFound, "account not found")
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// maxLimit is the documented page size cap.
const maxLimit = 500

func (s *Server) getTransactions(w http.ResponseWriter, r *http.Request) {
	q, err := parseTransactionsQuery(r)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if bh := s.behaviour.get(); !bh.IsZero() {
		s.getTransactionsAs(w, r, q, bh)
		return
	}
	if m := s.opts.MaxPageLimit; m > 0 && q.Paginate && q.Limit > m {
		q.Limit = m
	}
	page, err := s.bank.Transactions(r.PathValue("userId"), r.PathValue("accountId"), s.clock.Now(), q)
	switch {
	case errors.Is(err, bank.ErrUnknownAccount):
		writeAPIError(w, http.StatusNotFound, "account not found")
		return
	case errors.Is(err, bank.ErrInvalidQuery):
		writeAPIError(w, http.StatusBadRequest, "%v", err)
		return
	case err != nil:
		writeAPIError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.stats.transactions(len(page.Transactions))
	// The page encodes itself (bank.Page.AppendJSON), absent lists as empty
	// arrays, without encoding/json's reflection and re-validation.
	if err := writeAppended(w, http.StatusOK, page.AppendJSON); err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
	}
}

// parseTransactionsQuery reads and checks the documented query parameters.
func parseTransactionsQuery(r *http.Request) (bank.Query, error) {
	var q bank.Query
	v := r.URL.Query()
	for name := range v {
		switch name {
		case "offset", "limit", "since", "until", "updatedSince":
		default:
			return q, fmt.Errorf("unknown query parameter %q", name)
		}
	}
	if raw := v.Get("offset"); v.Has("offset") {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return q, fmt.Errorf("offset must be a whole number >= 0, got %q", raw)
		}
		q.Offset, q.Paginate = n, true
	}
	q.Limit = maxLimit
	if raw := v.Get("limit"); v.Has("limit") {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxLimit {
			return q, fmt.Errorf("limit must be a whole number from 1 to %d, got %q", maxLimit, raw)
		}
		q.Limit, q.Paginate = n, true
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"since", &q.Since}, {"until", &q.Until}, {"updatedSince", &q.UpdatedSince}} {
		if !v.Has(p.name) {
			continue
		}
		t, err := parseInstant(v.Get(p.name))
		if err != nil {
			return q, fmt.Errorf("%s: %w", p.name, err)
		}
		*p.dst = &t
	}
	if q.Since != nil && q.UpdatedSince != nil {
		return q, errors.New("updatedSince cannot be combined with since")
	}
	if q.Since != nil && q.Until != nil && q.Since.After(*q.Until) {
		return q, errors.New("since must not be after until")
	}
	return q, nil
}

// parseInstant accepts ISO-8601 instants with a time and a zone.
func parseInstant(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("must be an ISO-8601 instant with time and zone such as 2022-06-30T00:00:00Z, got %q", s)
	}
	return t.UTC(), nil
}

// fetchResponse is PUT /users/{userId}/fetch.
type fetchResponse struct {
	TaskID string `json:"taskId"`
}

func (s *Server) putFetch(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("userId")
	now := s.clock.Now()
	accounts, _, ok := s.bank.Accounts(user, now)
	if !ok {
		writeAPIError(w, http.StatusNotFound, "user not found")
		return
	}
	t := s.tasks.start(user, now, accounts, s.faults.taskDelay())
	writeJSON(w, http.StatusOK, fetchResponse{TaskID: t.id})
}

// taskResponse is GET /users/{userId}/tasks/{taskId}.
type taskResponse struct {
	Version int         `json:"version"`
	Events  []TaskEvent `json:"events"`
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	t, ok := s.tasks.get(r.PathValue("userId"), r.PathValue("taskId"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, "task not found")
		return
	}
	since, wait := 0, false
	if raw := r.URL.Query().Get("sinceVersion"); r.URL.Query().Has("sinceVersion") {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			writeAPIError(w, http.StatusBadRequest, "sinceVersion must be a whole number >= 0, got %q", raw)
			return
		}
		if n > t.version(s.wall()) {
			writeAPIError(w, http.StatusBadRequest, "sinceVersion %d is ahead of the task's version", n)
			return
		}
		since, wait = n, true
	}
	v, events := s.tasks.poll(r.Context(), t, since, wait, s.longPollHold)
	if events == nil {
		events = []TaskEvent{}
	}
	writeJSON(w, http.StatusOK, taskResponse{Version: v, Events: events})
}
