package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const moduleRoot = "../.."

// TestModuleFollowsImportRules checks the real module against the rules table.
func TestModuleFollowsImportRules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	graph, err := load(ctx, moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"store", "consumerapi", "cmd/worker", "sandbox/bank", "tools/archcheck"} {
		if _, ok := graph[must]; !ok {
			t.Fatalf("go list found no package %s; the loader is broken (found %d packages)", must, len(graph))
		}
	}
	if !slices.Contains(graph["store"].Imports, "pfm") || graph["consumerapi"].Standard || !graph["pfm"].Standard {
		t.Fatalf("the loaded graph does not match the code: store=%+v consumerapi=%+v", graph["store"], graph["consumerapi"])
	}
	for _, p := range check(rules, graph) {
		t.Error(p)
	}
}

// TestDocGraphIsCurrent fails when docs/architecture.md's graph block
// differs from the one rendered from the rules.
func TestDocGraphIsCurrent(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(moduleRoot, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := currentGraph(string(raw))
	if err != nil {
		t.Fatalf("docs/architecture.md: %v", err)
	}
	if want := render(rules); got != want {
		t.Errorf("the package graph in docs/architecture.md is stale; run `go run ./tools/archcheck -write`. Expected block:\n%s", want)
	}
}

// ideal returns a graph that follows rs exactly.
func ideal(rs []rule) map[string]pkg {
	g := map[string]pkg{}
	for _, r := range rs {
		g[r.Pkg] = pkg{Name: r.Pkg, Imports: edgeNames(r.Imports), Standard: r.Leaf}
	}
	return g
}

func TestCheckReportsEachBrokenRule(t *testing.T) {
	if p := check(rules, ideal(rules)); len(p) != 0 {
		t.Fatalf("a graph that follows the rules was refused:\n%s", strings.Join(p, "\n"))
	}
	cases := []struct {
		name   string
		change func(g map[string]pkg)
		want   []string
	}{
		{
			name:   "consumerapi imports store",
			change: func(g map[string]pkg) { add(g, "consumerapi", "store") },
			want: []string{
				"consumerapi imports store, which its rule does not allow (allowed: no pfmsync package)",
				"consumerapi never imports store or pfm: consumerapi depends on store (consumerapi → store)",
				"store and consumerapi never import each other: consumerapi depends on store",
			},
		},
		{
			name:   "consumerapi reaches pfm through another package",
			change: func(g map[string]pkg) { add(g, "consumerapi", "tokenseal"); add(g, "tokenseal", "pfm") },
			want:   []string{"consumerapi never imports store or pfm: consumerapi depends on pfm (consumerapi → tokenseal → pfm)"},
		},
		{
			name:   "store imports consumerapi",
			change: func(g map[string]pkg) { add(g, "store", "consumerapi") },
			want:   []string{"store and consumerapi never import each other: store depends on consumerapi (store → consumerapi)"},
		},
		{
			name:   "a new package without a rule",
			change: func(g map[string]pkg) { g["newthing"] = pkg{Name: "newthing", Imports: []string{"pfm"}} },
			want:   []string{"package newthing is not in the import rules: add it to the rules in tools/archcheck/rules.go (it imports: pfm)"},
		},
		{
			name:   "a rule for a package that moved away",
			change: func(g map[string]pkg) { delete(g, "statuspage") },
			want:   []string{"the rule for statuspage names no package in the module"},
		},
		{
			name:   "production code imports a test-only package",
			change: func(g map[string]pkg) { add(g, "jobs", "synctest") },
			want: []string{
				"jobs imports synctest, which its rule does not allow",
				"only tests and test-only packages import test-only packages: jobs depends on synctest (jobs → synctest)",
				"production code never imports the sandbox: jobs depends on sandbox (jobs → synctest → sandbox)",
				"production code never imports the sandbox: cmd/worker depends on sandbox (cmd/worker → jobs → synctest → sandbox)",
			},
		},
		{
			name:   "a command imports a package its rule does not list",
			change: func(g map[string]pkg) { add(g, "cmd/sandbox", "store") },
			want:   []string{"cmd/sandbox imports store, which its rule does not allow (allowed: sandbox, sandbox/authserver, logging)"},
		},
		{
			name: "a leaf depends on a module",
			change: func(g map[string]pkg) {
				p := g["pfm"]
				p.Standard, p.FirstNonStd = false, "github.com/shopspring/decimal"
				g["pfm"] = p
			},
			want: []string{"pfm is a leaf (standard library only) but depends on github.com/shopspring/decimal"},
		},
		{
			name:   "the sandbox shares a package with the client",
			change: func(g map[string]pkg) { add(g, "sandbox/bank", "httpsec"); add(g, "consumerapi", "httpsec") },
			want:   []string{"the sandbox shares nothing with consumerapi: sandbox/bank and consumerapi both depend on httpsec"},
		},
		{
			name:   "the sandbox's tests use the client",
			change: func(g map[string]pkg) { p := g["sandbox"]; p.TestImports = []string{"synctest"}; g["sandbox"] = p },
			want:   []string{"the sandbox shares nothing with consumerapi: the tests of sandbox depend on consumerapi"},
		},
		{
			name:   "a rule allows an import the code dropped",
			change: func(g map[string]pkg) { p := g["telemetry"]; p.Imports = []string{"config"}; g["telemetry"] = p },
			want:   []string{"the rule for telemetry allows store, which it does not import"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := ideal(rules)
			c.change(g)
			got := check(rules, g)
			joined := strings.Join(got, "\n")
			for _, w := range c.want {
				if !strings.Contains(joined, w) {
					t.Errorf("missing problem %q; got:\n%s", w, joined)
				}
			}
		})
	}
}

func add(g map[string]pkg, from, to string) {
	p := g[from]
	p.Imports = append(slices.Clone(p.Imports), to)
	g[from] = p
}

func TestCheckDocRewritesAStaleGraph(t *testing.T) {
	path := filepath.Join(t.TempDir(), "architecture.md")
	stale := "# Title\n\n" + beginMarker + "\n```\nstore ─► everything\n```\n" + endMarker + "\n\nMore text.\n"
	if err := os.WriteFile(path, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := checkDoc(path, false, &out)
	if err == nil || !strings.Contains(err.Error(), "go run ./tools/archcheck -write") || !strings.Contains(err.Error(), render(rules)) {
		t.Fatalf("a stale graph should fail with the command and the expected block, got %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != stale {
		t.Fatal("the check alone rewrote the file")
	}
	if err := checkDoc(path, true, &out); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "# Title\n\n" + render(rules) + "\n\nMore text.\n"; string(got) != want {
		t.Fatalf("rewritten file:\n%s\nwant:\n%s", got, want)
	}
	if err := checkDoc(path, false, &out); err != nil {
		t.Fatalf("the rewritten file still fails: %v", err)
	}
}

func TestCheckDocWithoutMarkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "architecture.md")
	if err := os.WriteFile(path, []byte("# No graph here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := checkDoc(path, true, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "markers are missing") {
		t.Fatalf("want a missing-markers error, got %v", err)
	}
}
