package authserver_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

// manyUsers is a directory where every username "uN" is a user.
type manyUsers struct{}

func (manyUsers) Authenticate(username, password string) (string, bool) {
	return "sub-" + username, password == "pw"
}

func (manyUsers) Claims(sub string) (authserver.UserClaims, bool) {
	return authserver.UserClaims{Name: sub}, true
}

// BenchmarkRefresh measures refresh_token grants (with rotation) spread over
// 10,000 users' grants, served by the handler without a network in between.
func BenchmarkRefresh(b *testing.B) {
	const issuer = "http://127.0.0.1:1/a/consumer/api/v0/oidc"
	p, err := authserver.New(authserver.Config{
		Issuer: issuer, InstitutionID: institutionID, Directory: manyUsers{},
		Clients: []authserver.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	h := p.Handler()
	do := func(path string, form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, issuer+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const verifier = "bench-verifier-0123456789-0123456789-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])

	const users = 10000
	refresh := make([]string, users)
	for i := range users {
		w := do("/auth", url.Values{
			"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURL},
			"scope": {"openid " + authserver.ScopeOfflineAccess}, "code_challenge": {challenge},
			"code_challenge_method": {"S256"}, "username": {fmt.Sprintf("u%d", i)}, "password": {"pw"},
			"action": {"allow"}, "granted_scope": {authserver.ScopeOfflineAccess},
		})
		loc, _ := url.Parse(w.Header().Get("Location"))
		w = do("/token", url.Values{
			"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirectURL},
			"code_verifier": {verifier}, "client_id": {clientID}, "client_secret": {clientSecret},
		})
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.RefreshToken == "" {
			b.Fatalf("exchange %d: %d %s", i, w.Code, w.Body)
		}
		refresh[i] = body.RefreshToken
	}

	for i := 0; b.Loop(); i++ {
		k := i % users
		w := do("/token", url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {refresh[k]},
			"client_id": {clientID}, "client_secret": {clientSecret},
		})
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.RefreshToken == "" {
			b.Fatalf("refresh %d: %d %s", i, w.Code, w.Body)
		}
		refresh[k] = body.RefreshToken
	}
	b.ReportMetric(float64(p.Stats().LiveFamilies), "families")
}
