// Command gendocs rewrites the settings table of a Markdown file (between
// the markers of config.ReplaceSettingsTable) from the settings table in
// internal/config. Run it with `go generate ./internal/config`.
package main

import (
	"fmt"
	"os"

	"github.com/pfmsync/pfmsync/internal/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: gendocs FILE.md")
	}
	doc, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	out, err := config.ReplaceSettingsTable(string(doc))
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return os.WriteFile(args[0], []byte(out), 0o644)
}
