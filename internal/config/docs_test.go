package config

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOperationsDocListsEverySetting fails when docs/operations.md's
// settings table differs from the settings table in the code.
func TestOperationsDocListsEverySetting(t *testing.T) {
	t.Parallel()

	doc, err := os.ReadFile("../../docs/operations.md")
	require.NoError(t, err)
	want, err := ReplaceSettingsTable(string(doc))
	require.NoError(t, err)
	if want != string(doc) {
		t.Fatalf("docs/operations.md's settings table is out of date; run `go generate ./internal/config`. Expected table:\n%s", SettingsTable())
	}
	for _, name := range Variables() {
		require.Contains(t, SettingsTable(), "`"+name+"`")
	}
}

// TestSettingsTableIsComplete checks every setting is documented, has a
// loader, and appears in the dump unless it is folded into another.
func TestSettingsTableIsComplete(t *testing.T) {
	t.Parallel()

	seen := map[string]bool{}
	for _, s := range settings {
		require.False(t, seen[s.name], "%s appears twice", s.name)
		seen[s.name] = true
		require.True(t, strings.HasPrefix(s.name, "PFMSYNC_"), s.name)
		require.NotEmpty(t, s.doc, s.name)
		require.NotNil(t, s.load, s.name)
		require.Equal(t, s.key == "", s.show == nil, "%s: a dump key needs a show function and the reverse", s.name)
	}
}
