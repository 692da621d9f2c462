package main

import (
	"testing"

	"github.com/pfmsync/pfmsync/internal/testsupport"
)

// TestHelpPrintsUsageOnStdout checks -h, --help and help print the usage
// on stdout and succeed without reading the configuration.
func TestHelpPrintsUsageOnStdout(t *testing.T) {
	t.Parallel()
	testsupport.RequireHelp(t, run, "reseal-tokens")
}
