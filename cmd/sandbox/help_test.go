package main

import (
	"testing"

	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// TestHelpPrintsUsageOnStdout checks -h, --help and help print the flags
// on stdout and succeed (the admin token variable is a flag's default).
func TestHelpPrintsUsageOnStdout(t *testing.T) {
	t.Parallel()
	testsupport.RequireHelp(t, run, "-addr", "PFMSYNC_SANDBOX_ADMIN_TOKEN")
}
