package authserver_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/sandbox/authserver"
)

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, idt := b.login(t, &authorization{})
	g, err := b.p.Verify(b.ctx, tok.AccessToken)
	require.NoError(t, err)

	parts := strings.Split(tok.AccessToken, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	tampered := strings.Replace(string(payload), aliceSub, bobSub, 1)
	require.NotEqual(t, string(payload), tampered)
	tamperedToken := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2]

	wrongIssuer, err := authserver.SignAccessTokenForTest(b.p, "http://127.0.0.1:1/oidc", aliceSub, clientID, g.FamilyID, time.Now().Add(time.Minute))
	require.NoError(t, err)
	unknownFamily, err := authserver.SignAccessTokenForTest(b.p, b.issuer, aliceSub, clientID, "no-such-family", time.Now().Add(time.Minute))
	require.NoError(t, err)
	otherUser, err := authserver.SignAccessTokenForTest(b.p, b.issuer, bobSub, clientID, g.FamilyID, time.Now().Add(time.Minute))
	require.NoError(t, err)

	// A token of another provider (another key) with the same issuer.
	other, err := authserver.New(authserver.Config{
		Issuer: b.issuer, InstitutionID: institutionID, Directory: directory{},
		Clients: []authserver.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURL}}},
	})
	require.NoError(t, err)
	foreign, err := authserver.SignAccessTokenForTest(other, b.issuer, aliceSub, clientID, g.FamilyID, time.Now().Add(time.Minute))
	require.NoError(t, err)

	rawIDToken := tok.Extra("id_token").(string)
	for name, bad := range map[string]string{
		"empty":          "",
		"garbage":        "abc",
		"tampered":       tamperedToken,
		"no signature":   parts[0] + "." + parts[1] + ".",
		"wrong issuer":   wrongIssuer,
		"unknown family": unknownFamily,
		"other user":     otherUser,
		"other key":      foreign,
		"ID token":       rawIDToken,
		"refresh token":  tok.RefreshToken,
	} {
		_, err := b.p.Verify(b.ctx, bad)
		require.ErrorIs(t, err, authserver.ErrInvalidToken, name)
	}
	require.NotEmpty(t, idt.Subject)

	// Expiry, by the injected clock.
	b.clock.Advance(599 * time.Second)
	_, err = b.p.Verify(b.ctx, tok.AccessToken)
	require.NoError(t, err)
	b.clock.Advance(time.Second)
	_, err = b.p.Verify(b.ctx, tok.AccessToken)
	require.ErrorIs(t, err, authserver.ErrInvalidToken)
}
