package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHelpPrintsUsageOnStdout checks -h, --help and help print the usage
// on stdout and succeed, without reading the configuration.
func TestHelpPrintsUsageOnStdout(t *testing.T) {
	t.Parallel()

	for _, arg := range []string{"-h", "-help", "--help", "help"} {
		var stdout, stderr bytes.Buffer
		getenv := func(k string) string {
			t.Errorf("%s: read %s", arg, k)
			return ""
		}
		require.NoError(t, run(context.Background(), []string{arg}, getenv, &stdout, &stderr), arg)
		require.Contains(t, stdout.String(), "reseal-tokens", arg)
		require.Empty(t, stderr.String(), arg)
	}
}
