package config

import (
	"errors"
	"fmt"
	"strings"
)

//go:generate go run ./internal/gendocs ../../docs/operations.md

// Markers around the generated settings table in docs/operations.md.
const (
	docsBegin = "<!-- BEGIN SETTINGS: generated from internal/config/settings.go by `go generate ./internal/config`; do not edit -->"
	docsEnd   = "<!-- END SETTINGS -->"
)

// SettingsTable renders the settings table as Markdown: one row per
// environment variable, with its default and whether it is secret.
func SettingsTable() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Meaning |\n|---|---|---|\n")
	for _, s := range settings {
		name := "`" + s.name + "`"
		for _, a := range s.aliases {
			name += " (or `" + a + "`)"
		}
		def := "none"
		if s.def != "" {
			def = "`" + s.def + "`"
		}
		doc := s.doc
		if s.secret {
			doc = "**Secret** (logged only as set or unset): " + doc
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, def, strings.ReplaceAll(doc, "|", `\|`))
	}
	return b.String()
}

// ReplaceSettingsTable returns doc with the text between its settings
// markers replaced by SettingsTable.
func ReplaceSettingsTable(doc string) (string, error) {
	before, rest, ok := strings.Cut(doc, docsBegin)
	if !ok {
		return "", errors.New("no settings table marker " + docsBegin)
	}
	_, after, ok := strings.Cut(rest, docsEnd)
	if !ok {
		return "", errors.New("no end marker " + docsEnd)
	}
	return before + docsBegin + "\n" + SettingsTable() + docsEnd + after, nil
}
