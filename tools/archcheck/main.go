// Command archcheck enforces pfmsync's import rules and keeps the package
// graph in docs/architecture.md true.
//
// The rules live in one table (rules.go): for every package, the pfmsync
// packages it may import, plus class rules (leaves use the standard library
// only, production code never imports the sandbox or test-only packages,
// consumerapi never imports store or pfm, the sandbox shares nothing with
// consumerapi). The module's real graph comes from `go list -deps -json ./...`.
// A package missing from the table is an error, so new packages get a rule.
// The doc's graph block is rendered from the same table.
//
//	go run ./tools/archcheck          # check the rules and the doc's graph
//	go run ./tools/archcheck -write   # rewrite the doc's graph, then check
//
// `go test ./tools/archcheck` runs the same checks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "archcheck:", err)
		os.Exit(1)
	}
}

// run is main without the exit, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("archcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "module root")
	doc := fs.String("doc", "docs/architecture.md", "document holding the generated graph, relative to -root")
	write := fs.Bool("write", false, "rewrite the graph in -doc from the rules")
	if err := fs.Parse(args); err != nil {
		return err
	}
	docPath := filepath.Join(*root, *doc)

	var problems []error
	if err := checkDoc(docPath, *write, stdout); err != nil {
		problems = append(problems, err)
	}
	graph, err := load(ctx, *root)
	if err != nil {
		return err
	}
	for _, p := range check(rules, graph) {
		problems = append(problems, errors.New(p))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s):\n%w", len(problems), errors.Join(problems...))
	}
	fmt.Fprintf(stdout, "archcheck: %d packages follow the import rules; %s is current\n", len(graph), docPath)
	return nil
}

// checkDoc compares the doc's graph with the rules, rewriting it when write is set.
func checkDoc(path string, write bool, stdout io.Writer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	want := render(rules)
	updated, changed, err := replaceGraph(string(raw), want)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !changed {
		return nil
	}
	if !write {
		return fmt.Errorf("the package graph in %s differs from tools/archcheck/rules.go; run `go run ./tools/archcheck -write` (or make generate). The block should read:\n%s", path, want)
	}
	if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintln(stdout, "wrote the package graph into", path)
	return nil
}
