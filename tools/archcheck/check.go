package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// A pkg is one pfmsync package as the go command sees it; pfmsync packages
// are named as in the rules table.
type pkg struct {
	Name string
	// Imports are the pfmsync packages its non-test files import.
	Imports []string
	// Standard reports whether every dependency is in the standard library.
	Standard bool
	// FirstNonStd is one dependency outside the standard library, if any.
	FirstNonStd string
	// TestImports are the pfmsync packages its test files import.
	TestImports []string
}

// check returns every broken rule, one sentence each, sorted.
func check(rs []rule, graph map[string]pkg) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	byName := map[string]rule{}
	for _, r := range rs {
		if _, dup := byName[r.Pkg]; dup {
			add("%s has two rules in tools/archcheck/rules.go: keep one", r.Pkg)
		}
		byName[r.Pkg] = r
	}

	names := make([]string, 0, len(graph))
	for n := range graph {
		names = append(names, n)
	}
	sort.Strings(names)

	for _, r := range rs {
		if _, ok := graph[r.Pkg]; !ok {
			add("the rule for %s names no package in the module: rename or remove it in tools/archcheck/rules.go", r.Pkg)
		}
	}

	for _, n := range names {
		p := graph[n]
		r, ok := byName[n]
		if !ok {
			add("package %s is not in the import rules: add it to the rules in tools/archcheck/rules.go (it imports: %s)", n, listOrNone(p.Imports))
			continue
		}
		allowed := map[string]bool{}
		for _, e := range r.Imports {
			allowed[e.To] = true
		}
		for _, imp := range p.Imports {
			if !allowed[imp] {
				add("%s imports %s, which its rule does not allow (allowed: %s): change the code, or the rule in tools/archcheck/rules.go", n, imp, listOrNone(edgeNames(r.Imports)))
			}
		}
		for _, e := range r.Imports {
			if !slices.Contains(p.Imports, e.To) {
				add("the rule for %s allows %s, which it does not import: remove it from tools/archcheck/rules.go so the documented graph stays true", n, e.To)
			}
		}
		if r.Leaf && !p.Standard {
			add("%s is a leaf (standard library only) but depends on %s", n, p.FirstNonStd)
		}
	}

	// Class rules over transitive non-test dependencies.
	groupOf := func(n string) (group, bool) {
		r, ok := byName[n]
		return r.Group, ok
	}
	for _, n := range names {
		from, ok := groupOf(n)
		if !ok {
			continue
		}
		for _, d := range closure(graph, []string{n}) {
			if d == n {
				continue
			}
			to, ok := groupOf(d)
			if !ok {
				continue
			}
			chain := strings.Join(path(graph, n, d), " → ")
			switch {
			case from == production && to == sandbox:
				add("production code never imports the sandbox: %s depends on %s (%s)", n, d, chain)
			case from != testOnly && to == testOnly:
				add("only tests and test-only packages import test-only packages: %s depends on %s (%s)", n, d, chain)
			}
		}
	}

	for _, f := range forbidden {
		for _, from := range f.From {
			deps := closure(graph, []string{from})
			for _, to := range f.To {
				if slices.Contains(deps, to) {
					add("%s: %s depends on %s (%s)", f.Name, from, to, strings.Join(path(graph, from, to), " → "))
				}
			}
		}
	}

	// The sandbox shares no code with consumerapi, in its tests either, so
	// tests catch the client's mistakes instead of repeating them.
	client := closure(graph, []string{"consumerapi"})
	for _, n := range names {
		if g, ok := groupOf(n); !ok || g != sandbox {
			continue
		}
		own := closure(graph, []string{n})
		for _, d := range own {
			if slices.Contains(client, d) {
				add("the sandbox shares nothing with consumerapi: %s and consumerapi both depend on %s", n, d)
			}
		}
		tests := closure(graph, graph[n].TestImports)
		if slices.Contains(tests, "consumerapi") {
			add("the sandbox shares nothing with consumerapi: the tests of %s depend on consumerapi", n)
		}
	}

	sort.Strings(problems)
	return slices.Compact(problems)
}

// closure returns the given packages and every pfmsync package they depend
// on through non-test imports, sorted.
func closure(graph map[string]pkg, start []string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, imp := range graph[n].Imports {
			visit(imp)
		}
	}
	for _, s := range start {
		visit(s)
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// path returns a shortest import chain from one package to another.
func path(graph map[string]pkg, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == to {
			var chain []string
			for ; n != ""; n = prev[n] {
				chain = append([]string{n}, chain...)
			}
			return chain
		}
		imps := slices.Clone(graph[n].Imports)
		sort.Strings(imps)
		for _, imp := range imps {
			if _, seen := prev[imp]; !seen {
				prev[imp] = n
				queue = append(queue, imp)
			}
		}
	}
	return []string{from, "…", to}
}

func edgeNames(es []edge) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.To
	}
	return out
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "no pfmsync package"
	}
	return strings.Join(s, ", ")
}
