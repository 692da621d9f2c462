package consumerapi

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInstitutionDefaults(t *testing.T) {
	t.Parallel()
	inst := Institution{
		Slug:     "garden-fi",
		BaseURL:  "https://digital.garden-fi.com/a/consumer/api/v0/",
		ClientID: "client",
	}.WithDefaults()
	require.NoError(t, inst.Validate())
	require.Equal(t, "https://digital.garden-fi.com/a/consumer/api/v0", inst.BaseURL)
	require.Equal(t, "https://digital.garden-fi.com/a/consumer/api/v0/oidc", inst.Issuer)
	require.Equal(t, DefaultScopes, inst.Scopes)
	require.Equal(t, []string{ClaimInstitutionID}, inst.IDTokenClaims)
	require.Equal(t, AuthClientSecretPost, inst.TokenAuth)
	require.Equal(t, int64(32<<20), inst.MaxBodyBytes)
	require.Equal(t, 4, inst.Retry.MaxAttempts)
	require.Equal(t, 30*time.Second, inst.HTTPTimeout)
	require.Greater(t, inst.ResponseHeaderTimeout, 7*time.Second, "longer than the task long-poll")
}

func TestInstitutionValidate(t *testing.T) {
	t.Parallel()
	valid := Institution{Slug: "s", BaseURL: "https://bank.example/a/consumer/api/v0", ClientID: "c"}
	tests := []struct {
		name   string
		modify func(*Institution)
		errMsg string
	}{
		{"valid", func(*Institution) {}, ""},
		{"loopback http allowed", func(i *Institution) { i.BaseURL = "http://127.0.0.1:9999/a/consumer/api/v0" }, ""},
		{"no slug", func(i *Institution) { i.Slug = "" }, "slug is required"},
		{"no client id", func(i *Institution) { i.ClientID = "" }, "client id is required"},
		{"no base URL", func(i *Institution) { i.BaseURL = "" }, "base URL is required"},
		{"plain http", func(i *Institution) { i.BaseURL = "http://bank.example/a/consumer/api/v0" }, "must use https"},
		{"plain http allowed", func(i *Institution) {
			i.BaseURL = "http://sandbox:8080/a/consumer/api/v0"
			i.AllowInsecureHTTP = true
		}, ""},
		{"relative redirect", func(i *Institution) { i.RedirectURL = "/callback" }, "redirect URL"},
		{"no openid", func(i *Institution) { i.Scopes = []string{ScopeAccounts} }, `must contain "openid"`},
		{"unknown auth", func(i *Institution) { i.TokenAuth = "private_key_jwt" }, "token auth"},
		{"negative burst", func(i *Institution) { i.Burst = -1 }, "burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inst := valid
			tt.modify(&inst)
			err := inst.WithDefaults().Validate()
			if tt.errMsg == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.errMsg)
			_, err = New(context.Background(), inst)
			require.ErrorContains(t, err, tt.errMsg)
		})
	}
}
