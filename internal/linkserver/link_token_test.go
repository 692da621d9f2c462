package linkserver

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLinkToken(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0).UTC()
	claims := LinkClaims{
		Audience: AudienceLink, AppUser: "user-42", Institution: "garden-fi",
		LinkID: "6f1c2a9e-3b5d-4c1e-9a7f-0d2e4b6c8a10", ReturnURL: "https://app.example.com/done",
		Expiry: now.Add(10 * time.Minute),
	}

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		tok, err := SignLinkToken(testAppKey, claims)
		require.NoError(t, err)
		got, err := verifyLinkToken(testAppKey, tok, AudienceLink, now)
		require.NoError(t, err)
		require.Equal(t, claims, got)
	})

	t.Run("DocumentedFormat", func(t *testing.T) {
		t.Parallel()
		// What docs/linkserver.md tells a non-Go app to do.
		payload := `{"aud":"api","sub":"user-7","exp":1800000300}`
		body := base64.RawURLEncoding.EncodeToString([]byte(payload))
		tok := body + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(testAppKey, body))
		got, err := verifyLinkToken(testAppKey, tok, AudienceAPI, now)
		require.NoError(t, err)
		require.Equal(t, "user-7", got.AppUser)

		signed, err := SignLinkToken(testAppKey, LinkClaims{Audience: AudienceAPI, AppUser: "user-7", Expiry: time.Unix(1800000300, 0)})
		require.NoError(t, err)
		require.Equal(t, tok, signed)
	})

	t.Run("Refusals", func(t *testing.T) {
		t.Parallel()
		good, err := SignLinkToken(testAppKey, claims)
		require.NoError(t, err)
		body, sig, _ := strings.Cut(good, ".")
		resign := func(p map[string]any) string {
			raw, err := json.Marshal(p)
			require.NoError(t, err)
			b := base64.RawURLEncoding.EncodeToString(raw)
			return b + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(testAppKey, b))
		}
		flipped := []byte(sig)
		flipped[3] ^= 1
		if flipped[3] == sig[3] {
			flipped[3] = 'A'
		}
		otherKey := []byte(strings.Repeat("k", 40))
		otherSigned, err := SignLinkToken(otherKey, claims)
		require.NoError(t, err)
		tampered := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(mustDecode(t, body), "user-42", "user-43", 1))) + "." + sig

		for name, tc := range map[string]struct {
			token    string
			audience string
			now      time.Time
			want     error
		}{
			"Missing":          {"", AudienceLink, now, errTokenMissing},
			"NoDot":            {body, AudienceLink, now, errTokenMalformed},
			"ThreeParts":       {good + ".x", AudienceLink, now, errTokenMalformed},
			"BadBase64Sig":     {body + ".!!!", AudienceLink, now, errTokenMalformed},
			"FlippedSignature": {body + "." + string(flipped), AudienceLink, now, errTokenSignature},
			"OtherKey":         {otherSigned, AudienceLink, now, errTokenSignature},
			"TamperedPayload":  {tampered, AudienceLink, now, errTokenSignature},
			"Expired":          {good, AudienceLink, now.Add(10 * time.Minute), errTokenExpired},
			"WrongAudience":    {good, AudienceAPI, now, errTokenAudience},
			"TooLong":          {strings.Repeat("a", maxTokenLen+1), AudienceLink, now, errTokenMalformed},
			"TooFarAhead":      {resign(map[string]any{"aud": "link", "sub": "u", "exp": now.Add(2 * time.Hour).Unix()}), AudienceLink, now, errTokenLifetime},
			"UnknownField":     {resign(map[string]any{"aud": "link", "sub": "u", "exp": now.Add(time.Minute).Unix(), "admin": true}), AudienceLink, now, errTokenMalformed},
			"NoUser":           {resign(map[string]any{"aud": "link", "exp": now.Add(time.Minute).Unix()}), AudienceLink, now, errTokenMalformed},
			"NoExpiry":         {resign(map[string]any{"aud": "link", "sub": "u"}), AudienceLink, now, errTokenMalformed},
			"NotJSON":          {"bm90IGpzb24." + base64.RawURLEncoding.EncodeToString(tokenMAC(testAppKey, "bm90IGpzb24")), AudienceLink, now, errTokenMalformed},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				_, err := verifyLinkToken(testAppKey, tc.token, tc.audience, tc.now)
				require.ErrorIs(t, err, tc.want)
			})
		}
	})

	t.Run("SignValidates", func(t *testing.T) {
		t.Parallel()
		_, err := SignLinkToken([]byte("short"), claims)
		require.ErrorContains(t, err, "at least 32")
		_, err = SignLinkToken(testAppKey, LinkClaims{Audience: "admin", AppUser: "u", Expiry: now})
		require.ErrorContains(t, err, "audience")
		_, err = SignLinkToken(testAppKey, LinkClaims{Audience: AudienceAPI, Expiry: now})
		require.ErrorContains(t, err, "app user")
		_, err = SignLinkToken(testAppKey, LinkClaims{Audience: AudienceAPI, AppUser: strings.Repeat("u", 201), Expiry: now})
		require.ErrorContains(t, err, "app user")
		_, err = SignLinkToken(testAppKey, LinkClaims{Audience: AudienceAPI, AppUser: "u"})
		require.ErrorContains(t, err, "expiry")
	})
}

func mustDecode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return string(b)
}

func TestReturnURLAllowed(t *testing.T) {
	t.Parallel()
	s := &Server{returnURLs: []string{"https://app.example.com/linked", "https://other.example.com/", "http://127.0.0.1:3000"}}
	for raw, want := range map[string]bool{
		"https://app.example.com/linked":               true,
		"https://app.example.com/linked/done?x=1":      true,
		"https://app.example.com/linked?x=1":           true,
		"https://app.example.com/linked#frag":          true,
		"https://app.example.com/linkedin":             false,
		"https://app.example.com/":                     false,
		"https://app.example.com.evil.net/linked":      false,
		"http://app.example.com/linked":                false,
		"https://evil.net/https://app.example.com/":    false,
		"https://other.example.com/anything":           true,
		"https://other.example.com":                    false,
		"http://127.0.0.1:3000/cb":                     true,
		"http://127.0.0.1:30001/cb":                    false,
		"http://127.0.0.1:3000@evil.net/":              false,
		"https://app.example.com/linked\\@evil.net":    false,
		"javascript:alert(1)//https://app.example.com": false,
		"": false,
	} {
		require.Equal(t, want, s.returnURLAllowed(raw), raw)
	}
	require.False(t, (&Server{}).returnURLAllowed("https://app.example.com/linked"), "no prefixes allow nothing")
}
