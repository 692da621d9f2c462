package consumerapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const value = "super-secret-value"
	s := Secret(value)
	tok := &Tokens{AccessToken: s, RefreshToken: s, IDToken: s, Rotated: true}
	inst := Institution{Slug: "x", ClientID: "id", ClientSecret: s}

	var rendered []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%10s"} {
		rendered = append(rendered, fmt.Sprintf(format, s), fmt.Sprintf(format, tok), fmt.Sprintf(format, inst))
	}
	rendered = append(rendered, s.String(), fmt.Sprint(s), fmt.Sprintln(s))
	for _, v := range []any{s, tok, inst} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		rendered = append(rendered, string(b))
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("tokens", "secret", s, "tokens", tok, "institution", inst)
	}
	rendered = append(rendered, logs.String())

	for _, r := range rendered {
		require.NotContains(t, r, value)
	}
	require.Equal(t, "[REDACTED]", s.String())
	require.Equal(t, value, s.Reveal())
	require.Equal(t, "", Secret("").String(), "unset stays visible as empty")
	require.Contains(t, fmt.Sprintf("%+v", tok), "Rotated:true")
}
