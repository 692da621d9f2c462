package logging

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewRedactsSecretNamedAttributes(t *testing.T) {
	t.Parallel()

	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		logger := New(&buf, format, slog.LevelDebug)
		logger.Info("refreshed",
			"refresh_token", "rt-SECRET-1",
			"access_token", "at-SECRET-2",
			"client_secret", "cs-SECRET-3",
			slog.Group("oauth", "code_verifier", "cv-SECRET-4"),
			"token_family_id", "fam-1",
			"link_id", "link-1",
		)
		out := buf.String()
		for _, secret := range []string{"rt-SECRET-1", "at-SECRET-2", "cs-SECRET-3", "cv-SECRET-4"} {
			require.NotContains(t, out, secret, format)
		}
		require.Contains(t, out, "fam-1", format)
		require.Contains(t, out, "link-1", format)
		require.Contains(t, out, Redacted, format)
	}
}

func TestNewHonoursLevel(t *testing.T) {
	t.Parallel()

	var buf bytes.Buffer
	logger := New(&buf, "json", slog.LevelWarn)
	logger.Info("quiet")
	require.Empty(t, buf.String())
	logger.Warn("loud")
	require.Contains(t, buf.String(), `"msg":"loud"`)
}

func TestIsSecretKey(t *testing.T) {
	t.Parallel()

	cases := map[string]bool{
		"refresh_token":   true,
		"Authorization":   true,
		"password":        true,
		"auth_code":       true,
		"token_family_id": false,
		"error_class":     false,
		"status_code":     false,
		"http_status":     false,
		"link_id":         false,
		"institution":     false,
	}
	for key, want := range cases {
		require.Equal(t, want, IsSecretKey(key), key)
	}
}
