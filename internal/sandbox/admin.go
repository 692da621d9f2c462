package sandbox

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pfmsync/pfmsync/internal/sandbox/bank"
)

// AdminPrefix is where the sandbox's own admin API lives, off Banno's paths.
const AdminPrefix = "/sandbox"

func (s *Server) adminRoutes(mux *http.ServeMux) {
	admin := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+AdminPrefix+path, s.adminAuth(h))
	}
	admin("GET /{$}", s.adminInfo)
	admin("GET /clock", s.adminGetClock)
	admin("POST /clock", s.adminMoveClock)
	admin("GET /faults", s.adminGetFaults)
	admin("PUT /faults", s.adminPutFaults)
	admin("GET /behaviour", s.adminGetBehaviour)
	admin("PUT /behaviour", s.adminPutBehaviour)
	admin("GET /profiles", s.adminProfiles)
	admin("GET /stats", s.adminStats)
	admin("DELETE /stats", s.adminResetStats)
	admin("GET /users", s.adminUsers)
	admin("GET /users/{userId}/truth", s.adminTruth)
	admin("POST /users/{userId}/disconnect", s.adminDisconnect)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, AdminPrefix+"/", http.StatusFound)
	})
}

func (s *Server) adminAuth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.AdminToken != "" {
			got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.AdminToken)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sandbox-admin"`)
				writeAPIError(w, http.StatusUnauthorized, "admin token required")
				return
			}
		}
		h(w, r)
	})
}

// Info describes a running sandbox institution.
type Info struct {
	Institution   string   `json:"institution"`
	InstitutionID string   `json:"institutionId"`
	Issuer        string   `json:"issuer"`
	APIBaseURL    string   `json:"apiBaseUrl"`
	Users         int      `json:"users"`
	DemoUsers     string   `json:"demoUsers"`
	DemoPassword  string   `json:"demoPassword"`
	Clients       []string `json:"clients"`
	Clock         string   `json:"clock"`
	Seed          int64    `json:"seed"`
}

// Info returns what the sandbox offers.
func (s *Server) Info() Info {
	cfg := s.bank.Config()
	clients := make([]string, 0, len(s.opts.Clients))
	for _, c := range s.opts.Clients {
		clients = append(clients, c.ID)
	}
	return Info{
		Institution:   cfg.InstitutionName,
		InstitutionID: cfg.InstitutionID,
		Issuer:        s.Issuer(),
		APIBaseURL:    s.APIBaseURL(),
		Users:         cfg.Users,
		DemoUsers:     Username(1) + " … " + Username(cfg.Users),
		DemoPassword:  DemoPassword,
		Clients:       clients,
		Clock:         s.clock.Now().Format(time.RFC3339Nano),
		Seed:          cfg.Seed,
	}
}

func (s *Server) adminInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Info())
}

// clockBody is the clock's admin representation and its update request.
type clockBody struct {
	Now     *time.Time `json:"now,omitempty"`
	Advance *Duration  `json:"advance,omitempty"`
}

func (s *Server) adminGetClock(w http.ResponseWriter, _ *http.Request) {
	now := s.clock.Now()
	writeJSON(w, http.StatusOK, clockBody{Now: &now})
}

func (s *Server) adminMoveClock(w http.ResponseWriter, r *http.Request) {
	var body clockBody
	if err := decodeAdmin(r, &body); err != nil {
		writeAPIError(w, http.StatusBadRequest, "%v", err)
		return
	}
	var (
		now time.Time
		err error
	)
	switch {
	case body.Now != nil && body.Advance != nil:
		err = errors.New("give either now or advance, not both")
	case body.Now != nil:
		now, err = s.clock.Set(*body.Now)
	case body.Advance != nil:
		now, err = s.clock.Advance(body.Advance.Std())
	default:
		err = errors.New(`give {"advance": "24h"} or {"now": "2026-02-01T00:00:00Z"}`)
	}
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.logger.Info("sandbox clock moved", "now", now)
	writeJSON(w, http.StatusOK, clockBody{Now: &now})
}

func (s *Server) adminGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.faults.get())
}

func (s *Server) adminPutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := decodeAdmin(r, &f); err != nil {
		writeAPIError(w, http.StatusBadRequest, "%v", err)
		return
	}
	for i := range f.Rules {
		f.Rules[i].Fired = 0
	}
	if err := s.faults.set(f); err != nil {
		writeAPIError(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.logger.Info("sandbox faults replaced", "rules", len(f.Rules))
	writeJSON(w, http.StatusOK, s.faults.get())
}

func (s *Server) adminStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) adminResetStats(w http.ResponseWriter, _ *http.Request) {
	s.stats.reset()
	w.WriteHeader(http.StatusNoContent)
}

// UserInfo names one demo user.
type UserInfo struct {
	Number   int    `json:"number"`
	Username string `json:"username"`
	ID       string `json:"id"`
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 100
	}
	users := []UserInfo{}
	for n := max(offset, 0) + 1; n <= s.bank.UserCount() && len(users) < limit; n++ {
		users = append(users, UserInfo{Number: n, Username: Username(n), ID: s.bank.UserID(n)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "total": s.bank.UserCount()})
}

// Truth is the admin API's ground truth for one user.
type Truth struct {
	Clock time.Time `json:"clock"`
	bank.Truth
}

func (s *Server) adminTruth(w http.ResponseWriter, r *http.Request) {
	t, ok := s.Truth(r.PathValue("userId"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, "user not found")
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) adminDisconnect(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("userId")
	if _, ok := s.bank.UserNumber(user); !ok {
		writeAPIError(w, http.StatusNotFound, "user not found")
		return
	}
	n := s.Disconnect(user)
	s.logger.Info("sandbox user disconnected the app", "user_id", user, "grants_revoked", n)
	writeJSON(w, http.StatusOK, map[string]int{"grantsRevoked": n})
}

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("invalid JSON body: " + err.Error())
	}
	return nil
}

// behaviourBody is the admin representation of the behaviour: its options
// plus the list of those that depart from the default.
type behaviourBody struct {
	Behaviour
	Active []ActiveOption `json:"active"`
}

func (s *Server) adminGetBehaviour(w http.ResponseWriter, _ *http.Request) {
	b := s.behaviour.get()
	writeJSON(w, http.StatusOK, behaviourBody{Behaviour: b, Active: b.Active()})
}

// adminPutBehaviour replaces the behaviour. A "profile" field starts from
// that profile's bundle; the other fields given override it.
func (s *Server) adminPutBehaviour(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	var named struct {
		Profile string `json:"profile"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid JSON body: %v", err)
		return
	}
	var b Behaviour
	if named.Profile != "" {
		if b, err = Profile(named.Profile); err != nil {
			writeAPIError(w, http.StatusBadRequest, "%v", err)
			return
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid JSON body: %v", err)
		return
	}
	if err := s.behaviour.set(b); err != nil {
		writeAPIError(w, http.StatusBadRequest, "%v", err)
		return
	}
	b = s.behaviour.get()
	s.logger.Info("sandbox behaviour replaced", "profile", b.Profile, "active", len(b.Active()))
	writeJSON(w, http.StatusOK, behaviourBody{Behaviour: b, Active: b.Active()})
}

func (s *Server) adminProfiles(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"profiles": Profiles()})
}
