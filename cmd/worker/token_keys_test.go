package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pfmsync/pfmsync/internal/linktoken"
	"github.com/pfmsync/pfmsync/internal/synctest"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// TestWorkerRefusesATokenKeyWhoseBytesChanged: the datastore knows key k1
// by its canary; a worker started with other bytes under k1 stops at
// start, naming the key id and the variable, never a key.
func TestWorkerRefusesATokenKeyWhoseBytesChanged(t *testing.T) {
	t.Parallel()
	env := synctest.New(t, synctest.Options{})
	ctx := context.Background()
	good, err := tokenseal.ParseKeyRing(env.KeyRing)
	require.NoError(t, err)
	_, err = linktoken.CheckKeys(ctx, env.Store, good)
	require.NoError(t, err)

	vars := envVars(env)
	id, _, _ := strings.Cut(env.KeyRing, ":")
	wrong := tokenseal.GenerateKey()
	vars["PFMSYNC_TOKEN_KEYS"] = id + ":" + wrong
	var stdout, stderr syncBuffer
	runCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = run(runCtx, nil, func(k string) string { return vars[k] }, &stdout, &stderr)
	require.Error(t, err)
	require.Contains(t, err.Error(), "PFMSYNC_TOKEN_KEYS")
	require.Contains(t, err.Error(), `token key "`+id+`"`)
	for _, secret := range []string{wrong, strings.TrimPrefix(env.KeyRing, id+":")} {
		require.NotContains(t, err.Error(), secret)
		require.NotContains(t, stderr.String(), secret)
	}
	require.NotContains(t, stderr.String(), "worker running")
}
