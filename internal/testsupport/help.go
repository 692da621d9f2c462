package testsupport

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"
)

// RunFunc is a command's run(ctx, args, getenv, stdout, stderr).
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// RequireHelp checks that -h, -help, --help and help make run print a
// usage containing want on stdout, nothing on stderr, and succeed without
// reading any environment variable but the allowed ones.
func RequireHelp(t *testing.T, run RunFunc, want string, allowed ...string) {
	t.Helper()
	for _, arg := range []string{"-h", "-help", "--help", "help"} {
		var stdout, stderr bytes.Buffer
		getenv := func(k string) string {
			if !slices.Contains(allowed, k) {
				t.Errorf("%s read %s: help must not read the configuration", arg, k)
			}
			return ""
		}
		if err := run(context.Background(), []string{arg}, getenv, &stdout, &stderr); err != nil {
			t.Errorf("%s: %v", arg, err)
		}
		if !bytes.Contains(stdout.Bytes(), []byte(want)) {
			t.Errorf("%s printed no %q on stdout:\n%s", arg, want, stdout.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("%s wrote to stderr:\n%s", arg, stderr.String())
		}
	}
}
