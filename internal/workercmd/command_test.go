package workercmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()

	id := "6f1c2a9e-1111-4222-8333-444455556666"
	for name, tc := range map[string]struct {
		args []string
		want Command
	}{
		"serve":        {nil, Command{Name: Serve}},
		"migrate":      {[]string{"migrate"}, Command{Name: Migrate}},
		"links":        {[]string{"links"}, Command{Name: Links}},
		"links json":   {[]string{"links", "-json"}, Command{Name: Links, JSON: true}},
		"sync-now":     {[]string{"sync-now", id}, Command{Name: SyncNow, LinkID: id}},
		"canonical id": {[]string{"resync", "{6F1C2A9E-1111-4222-8333-444455556666}"}, Command{Name: Resync, LinkID: id}},
		"disable":      {[]string{"disable", id}, Command{Name: Disable, LinkID: id}},
		"enable":       {[]string{"enable", id}, Command{Name: Enable, LinkID: id}},
		"erase-user":   {[]string{"erase-user", "app-user-1"}, Command{Name: EraseUser, AppUserRef: "app-user-1"}},
		"erase json":   {[]string{"erase-user", "-json", "u 2"}, Command{Name: EraseUser, AppUserRef: "u 2", JSON: true}},
		"export-user":  {[]string{"export-user", "u"}, Command{Name: ExportUser, AppUserRef: "u", Format: "json"}},
		"export zip":   {[]string{"export-user", "-format", "zip", "u"}, Command{Name: ExportUser, AppUserRef: "u", Format: "zip"}},
		"probe":        {[]string{"probe-institution", id}, Command{Name: ProbeInstitution, LinkID: id}},
		"probe json":   {[]string{"probe-institution", "-json", id}, Command{Name: ProbeInstitution, LinkID: id, JSON: true}},
	} {
		got, err := Parse(tc.args)
		require.NoError(t, err, name)
		require.Equal(t, tc.want, got, name)
		require.Equal(t, tc.want.Name != Serve, got.OneShot(), name)
	}

	for _, args := range [][]string{{"erase-user"}, {"erase-user", "a", "b"}, {"erase-user", ""}, {"erase-user", strings.Repeat("x", 201)},
		{"export-user", "-format", "xml", "u"}, {"export-user"}, {"erase-user", "-format", "zip", "u"}} {
		_, err := Parse(args)
		require.ErrorIs(t, err, ErrUsage, args)
	}

	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}, {"links", "-h"}, {"sync-now", "--help"}} {
		_, err := Parse(args)
		require.ErrorIs(t, err, ErrHelp, args)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frob"}, `unknown command "frob" (run worker -h for the list)`},
		{[]string{"migrate", "now"}, `migrate takes no arguments, got ["now"]`},
		{[]string{"links", "-yaml"}, "links: flag provided but not defined: -yaml"},
		{[]string{"sync-now"}, "sync-now takes one LINK_ID"},
		{[]string{"enable", id, id}, "enable takes one LINK_ID"},
		{[]string{"disable", "42"}, `"42" is not a link id`},
		{[]string{"resync", "x\ny"}, `"x\ny" is not a link id`},
		{[]string{"probe-institution"}, "probe-institution takes one LINK_ID"},
		{[]string{"probe-institution", "-json", "nope"}, `"nope" is not a link id`},
	} {
		_, err := Parse(tc.args)
		require.EqualError(t, err, tc.want, tc.args)
		require.ErrorIs(t, err, ErrUsage, tc.args)
		require.False(t, errors.Is(err, ErrHelp), tc.args)
	}
}
