package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
)

// listed is the part of `go list -json` output the check reads.
type listed struct {
	ImportPath   string
	Standard     bool
	DepOnly      bool
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// load runs `go list -deps -test=false -json ./...` in dir (the module root)
// and returns the module's packages.
func load(ctx context.Context, dir string) (map[string]pkg, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-json", "./...")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parse(&stdout)
}

// parse reads the JSON stream of `go list -deps -json`.
func parse(r io.Reader) (map[string]pkg, error) {
	all := map[string]listed{}
	dec := json.NewDecoder(r)
	for {
		var l listed
		if err := dec.Decode(&l); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		if l.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", l.ImportPath, l.Error.Err)
		}
		all[l.ImportPath] = l
	}
	graph := map[string]pkg{}
	for path, l := range all {
		name, ok := shortName(path)
		if !ok || l.DepOnly {
			continue
		}
		p := pkg{Name: name, Standard: true, Imports: ours(l.Imports)}
		for _, d := range l.Deps {
			if dep, known := all[d]; !known || !dep.Standard {
				p.Standard = false
				if p.FirstNonStd == "" || d < p.FirstNonStd {
					p.FirstNonStd = d
				}
			}
		}
		p.TestImports = ours(append(append([]string(nil), l.TestImports...), l.XTestImports...))
		graph[name] = p
	}
	return graph, nil
}

// ours keeps the pfmsync packages of paths, as rule names, sorted and unique.
func ours(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		if n, ok := shortName(p); ok && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// shortName turns an import path of the module into its rule name
// ("github.com/pfmsync/pfmsync/internal/store" → "store").
func shortName(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, Module+"/")
	if !ok {
		return "", false
	}
	return strings.TrimPrefix(rest, "internal/"), true
}
