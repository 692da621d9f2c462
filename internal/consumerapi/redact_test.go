package consumerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// echoBank answers every token, revocation and Consumer API request with an
// error whose description, messages and raw body repeat everything the
// request carried (form values and the Authorization header), as a careless
// provider does.
func echoBank(t *testing.T, status int, oauthCode string) *fakeBank {
	t.Helper()
	bank := newFakeBank(t)
	echo := func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		var parts []string
		for k, vs := range r.PostForm {
			for _, v := range vs {
				parts = append(parts, k+"="+v, k+"="+url.QueryEscape(v))
			}
		}
		parts = append(parts, "auth="+r.Header.Get("Authorization"))
		text := strings.Join(parts, " & ")
		body, err := json.Marshal(map[string]any{
			"error":             oauthCode,
			"error_description": "request was: " + text,
			"errorCode":         text,
			"messages":          []string{"raw " + text},
		})
		require.NoError(t, err)
		w.Header().Set("X-Request-Id", "req-"+strings.ReplaceAll(r.URL.Path, "/", "-"))
		writeJSON(w, status, body)
	}
	bank.handle(tokenRoute, echo)
	bank.handle(revocationRoute, echo)
	bank.handle(accountsRoute, echo)
	return bank
}

func TestProviderTextNeverRepeatsSecrets(t *testing.T) {
	t.Parallel()
	const (
		code     = Secret("authorization-code-must-never-leak")
		verifier = Secret("pkce-verifier-must-never-leak-0123456789012345")
		refresh  = Secret("refresh-token-must-never-leak")
	)
	secrets := []string{testSecret.Reveal(), code.Reveal(), verifier.Reveal(), refresh.Reveal(), testAccess.Reveal()}
	for _, style := range []TokenAuthStyle{AuthClientSecretPost, AuthClientSecretBasic} {
		t.Run(string(style), func(t *testing.T) {
			t.Parallel()
			bank := echoBank(t, http.StatusUnauthorized, "invalid_request")
			c := bank.newClient(t, func(i *Institution) { i.TokenAuth = style })
			ctx := context.Background()

			var errs []error
			_, err := c.Exchange(ctx, code.Reveal(), verifier, "nonce")
			errs = append(errs, err)
			_, err = c.Refresh(ctx, refresh)
			errs = append(errs, err)
			errs = append(errs, c.Revoke(ctx, refresh, HintRefreshToken))
			_, err = c.Session(testUserID, StaticToken(testAccess)).Accounts(ctx)
			errs = append(errs, err)

			for i, err := range errs {
				require.Error(t, err, "call %d", i)
				var ae *APIError
				require.True(t, errors.As(err, &ae), "call %d: %v", i, err)
				require.NotEmpty(t, ae.RequestID, "call %d keeps x-request-id", i)
				require.Contains(t, err.Error(), "x-request-id "+ae.RequestID)
				rendered := err.Error() + fmt.Sprintf(" %+v %#v", err, ae) + ae.OAuthDescription + ae.Messages + ae.ErrorCode
				require.Contains(t, rendered, redacted, "call %d: the echo was kept, redacted", i)
				for _, s := range secrets {
					require.NotContains(t, rendered, s, "call %d", i)
					require.NotContains(t, rendered, url.QueryEscape(s), "call %d", i)
				}
				require.LessOrEqual(t, len(ae.OAuthDescription), maxProviderText+3)
				require.LessOrEqual(t, len(ae.ErrorCode), maxErrorCode+3)
			}
			// The provider's error code stays as the structured field.
			require.Equal(t, "invalid_request", OAuthErrorOf(errs[1]))
			require.Equal(t, KindPermanent, Classify(errs[1]))
			for _, s := range secrets {
				require.NotContains(t, c.logs.String(), s)
			}
		})
	}
}

func TestProviderErrorCodeCarryingSecretIsRedacted(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		body, err := json.Marshal(map[string]string{"error": "bad " + r.PostForm.Get("refresh_token"),
			"error_description": strings.Repeat("é", 4000)})
		require.NoError(t, err)
		writeJSON(w, http.StatusBadRequest, body)
	})
	c := bank.newClient(t)
	_, err := c.Refresh(context.Background(), "refresh-token-in-error-code")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "refresh-token-in-error-code")
	require.Equal(t, "bad "+redacted, OAuthErrorOf(err))
	var ae *APIError
	require.True(t, errors.As(err, &ae))
	require.LessOrEqual(t, len(ae.OAuthDescription), maxProviderText+3)
	require.True(t, strings.HasSuffix(ae.OAuthDescription, "é..."), "cut on a rune boundary")
}

func TestCallbackErrorRedactsCode(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	c := bank.newClient(t)
	q := url.Values{"state": {"s"}, "iss": {bank.issuer}, "code": {"code-echoed-in-description"}, "error": {"server_error"},
		"error_description": {"failed for client_secret=" + testSecret.Reveal() + " code=code-echoed-in-description"}}
	_, err := c.ParseCallback(context.Background(), q, "s")
	require.Error(t, err)
	require.NotContains(t, err.Error(), testSecret.Reveal())
	require.NotContains(t, err.Error(), "code-echoed-in-description")
	require.Contains(t, err.Error(), "server_error")
}

func TestExchangeRevokesTokensWhenIDTokenFails(t *testing.T) {
	t.Parallel()
	bank := newFakeBank(t)
	bank.handle(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, tokenJSON(t, map[string]any{
			"id_token":      bank.sign(bank.claims("other-nonce")),
			"refresh_token": "unused-refresh-token",
		}))
	})
	var revoked []string
	bank.handle(revocationRoute, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		revoked = append(revoked, r.PostForm.Get("token_type_hint")+":"+r.PostForm.Get("token"))
		w.WriteHeader(http.StatusOK)
	})
	c := bank.newClient(t)
	_, err := c.Exchange(context.Background(), "code", "verifier", "nonce-123")
	require.ErrorIs(t, err, ErrInvalidIDToken)
	require.Equal(t, []string{"refresh_token:unused-refresh-token", "access_token:new-access-token"}, revoked)
	require.NotContains(t, err.Error(), "unused-refresh-token")
}
