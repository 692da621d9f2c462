package deploycheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/pfmsync/pfmsync/internal/bootstrap"
	"github.com/pfmsync/pfmsync/internal/config"
	"github.com/pfmsync/pfmsync/internal/linkserver"
	"github.com/pfmsync/pfmsync/internal/sandbox"
	"github.com/pfmsync/pfmsync/internal/tokenseal"
)

// Files under test, relative to the repository root.
const (
	repoRoot          = "../.."
	composeFileName   = "docker-compose.yml"
	dockerfileName    = "Dockerfile"
	envExampleName    = "deploy/env.example"
	imageBinDir       = "/usr/local/bin"
	versionLinkerFlag = "-X github.com/pfmsync/pfmsync/internal/bootstrap.Version="
)

// requiredServices are the services the deployment must have, each with the
// pfmsync binary it runs ("" for services of other images).
var requiredServices = map[string]string{
	"postgres":       "",
	"migrations":     "worker",
	"sandbox":        "sandbox",
	"linkserver":     "linkserver",
	"worker":         "worker",
	"riverui":        "",
	"otel-collector": "",
}

// oneShot are the services that run to completion instead of serving; they
// have no healthcheck, and services after them wait for
// service_completed_successfully.
var oneShot = map[string]bool{"migrations": true}

// sandboxAdminTokenEnv is the one environment variable the sandbox binary
// reads (cmd/sandbox: the default of -admin-token).
const sandboxAdminTokenEnv = "PFMSYNC_SANDBOX_ADMIN_TOKEN"

// secretVariables are interpolated variables whose compose default must be
// marked as a development value. The sandbox's own credentials are demo
// values by design and are not listed.
var secretVariables = []string{"POSTGRES_PASSWORD", "PFMSYNC_TOKEN_KEYS", config.EnvAppKey}

func repoPath(p string) string { return filepath.Join(repoRoot, filepath.FromSlash(p)) }

// ---------------------------------------------------------------------------
// The compose file model: the subset of the Compose specification used here.

type composeFile struct {
	Name     string             `yaml:"name"`
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image           string       `yaml:"image"`
	Build           *buildSpec   `yaml:"build"`
	Entrypoint      words        `yaml:"entrypoint"`
	Command         words        `yaml:"command"`
	Environment     environment  `yaml:"environment"`
	Ports           []string     `yaml:"ports"`
	Volumes         []string     `yaml:"volumes"`
	DependsOn       dependencies `yaml:"depends_on"`
	Healthcheck     *healthcheck `yaml:"healthcheck"`
	Restart         string       `yaml:"restart"`
	ContainerName   string       `yaml:"container_name"`
	StopGracePeriod string       `yaml:"stop_grace_period"`
}

// buildSpec is a service's build section (short or long form).
type buildSpec struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

func (b *buildSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain buildSpec
	return n.Decode((*plain)(b))
}

// dockerfilePath is the Dockerfile the build uses, relative to the repository.
func (b *buildSpec) dockerfilePath() string {
	name := b.Dockerfile
	if name == "" {
		name = dockerfileName
	}
	return path.Join(b.Context, name)
}

// words is a command or entrypoint: a list, or a string split on spaces.
type words []string

func (w *words) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*w = strings.Fields(n.Value)
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*w = list
	return nil
}

// environment is a service's environment, from the mapping or list form.
type environment map[string]string

func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	out := environment{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, item := range list {
			k, v, _ := strings.Cut(item, "=")
			out[k] = v
		}
		*e = out
		return nil
	}
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		if v != nil {
			out[k] = fmt.Sprint(v)
		} else {
			out[k] = ""
		}
	}
	*e = out
	return nil
}

// dependencies maps each service depended on to its condition.
type dependencies map[string]string

func (d *dependencies) UnmarshalYAML(n *yaml.Node) error {
	out := dependencies{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, s := range list {
			out[s] = "service_started"
		}
		*d = out
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	for s, dep := range m {
		if dep.Condition == "" {
			dep.Condition = "service_started"
		}
		out[s] = dep.Condition
	}
	*d = out
	return nil
}

type healthcheck struct {
	Test        healthTest `yaml:"test"`
	Disable     bool       `yaml:"disable"`
	Interval    string     `yaml:"interval"`
	Timeout     string     `yaml:"timeout"`
	Retries     int        `yaml:"retries"`
	StartPeriod string     `yaml:"start_period"`
}

// healthTest is a healthcheck test in list form; the string form is
// normalised to ["CMD-SHELL", text].
type healthTest []string

func (h *healthTest) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*h = healthTest{"CMD-SHELL", n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*h = list
	return nil
}

// url returns the one http URL the test probes.
func (h healthTest) url() (*url.URL, error) {
	var found []string
	for _, arg := range h {
		for _, f := range strings.Fields(arg) {
			if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") {
				found = append(found, f)
			}
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("healthcheck %q probes %d URLs, want exactly one", []string(h), len(found))
	}
	return url.Parse(found[0])
}

// ---------------------------------------------------------------------------
// Loading, with Compose's variable interpolation.

type loadedCompose struct {
	composeFile
	// defaults maps every interpolated variable to the default the file
	// gives it ("" when none).
	defaults map[string]string
}

// loadCompose reads docker-compose.yml as "docker compose up" sees it with
// no .env file and no variables set: every ${VAR:-default} at its default.
var loadCompose = sync.OnceValues(func() (*loadedCompose, error) {
	raw, err := os.ReadFile(repoPath(composeFileName))
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", composeFileName, err)
	}
	lc := &loadedCompose{defaults: map[string]string{}}
	unset := func(string) (string, bool) { return "", false }
	if err := interpolateNode(&doc, map[*yaml.Node]bool{}, func(s string) (string, error) {
		return interpolate(s, unset, lc.defaults)
	}); err != nil {
		return nil, fmt.Errorf("interpolate %s: %w", composeFileName, err)
	}
	if err := doc.Decode(&lc.composeFile); err != nil {
		return nil, fmt.Errorf("decode %s: %w", composeFileName, err)
	}
	return lc, nil
})

func compose(t *testing.T) *loadedCompose {
	t.Helper()
	c, err := loadCompose()
	require.NoError(t, err)
	return c
}

// interpolateNode interpolates every scalar value (not mapping keys) once;
// aliases share their anchor's node, interpolated where it is defined.
func interpolateNode(n *yaml.Node, seen map[*yaml.Node]bool, fn func(string) (string, error)) error {
	if n == nil || seen[n] {
		return nil
	}
	seen[n] = true
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := interpolateNode(c, seen, fn); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err := interpolateNode(n.Content[i], seen, fn); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "$") {
			v, err := fn(n.Value)
			if err != nil {
				return fmt.Errorf("line %d: %w", n.Line, err)
			}
			n.Value = v
		}
	}
	return nil
}

var (
	varRef  = regexp.MustCompile(`\$\$|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)
	varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)
)

// interpolate expands Compose's $$, $VAR, ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt} and ${VAR+alt},
// recording each variable's default in defaults.
func interpolate(s string, lookup func(string) (string, bool), defaults map[string]string) (string, error) {
	var errs []error
	out := varRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		expr := strings.TrimPrefix(m, "$")
		if strings.HasPrefix(expr, "{") {
			expr = expr[1 : len(expr)-1]
		}
		name := varName.FindString(expr)
		if name == "" {
			errs = append(errs, fmt.Errorf("bad variable reference %q", m))
			return ""
		}
		op, arg := "", ""
		if rest := expr[len(name):]; rest != "" {
			for _, o := range []string{":-", ":?", ":+", "-", "?", "+"} {
				if strings.HasPrefix(rest, o) {
					op, arg = o, rest[len(o):]
					break
				}
			}
			if op == "" {
				errs = append(errs, fmt.Errorf("bad variable reference %q", m))
				return ""
			}
		}
		if op == ":-" || op == "-" {
			defaults[name] = arg
		} else if _, ok := defaults[name]; !ok {
			defaults[name] = ""
		}
		val, set := lookup(name)
		switch op {
		case ":-":
			if !set || val == "" {
				return arg
			}
		case "-":
			if !set {
				return arg
			}
		case ":?", "?":
			if !set || (op == ":?" && val == "") {
				errs = append(errs, fmt.Errorf("variable %s is required: %s", name, arg))
			}
		case ":+":
			if set && val != "" {
				return arg
			}
			return ""
		case "+":
			if set {
				return arg
			}
			return ""
		}
		return val
	})
	return out, errors.Join(errs...)
}

func TestInterpolate(t *testing.T) {
	t.Parallel()

	env := map[string]string{"SET": "v", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"a$$b":              "a$b",
		"${SET}":            "v",
		"$SET/x":            "v/x",
		"${UNSET:-d}":       "d",
		"${EMPTY:-d}":       "d",
		"${EMPTY-d}":        "",
		"${UNSET-d:e}":      "d:e",
		"${SET:+alt}":       "alt",
		"${UNSET:+alt}":     "",
		"x${UNSET}y":        "xy",
		"${SET:-a}${SET}$$": "vv$",
	} {
		got, err := interpolate(in, lookup, map[string]string{})
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := interpolate("${UNSET:?needed}", lookup, map[string]string{})
	require.ErrorContains(t, err, "UNSET is required")
	for _, bad := range []string{"${1BAD}", "${SET!}", "${}"} {
		_, err = interpolate(bad, lookup, map[string]string{})
		require.Error(t, err, bad)
	}
}

// ---------------------------------------------------------------------------
// Problems: every check reports all it finds, each naming its service.

type problems []string

// add reports a problem of a service.
func (p *problems) add(svc, format string, args ...any) {
	p.addIn("service "+svc, format, args...)
}

// addIn reports a problem of a file, or of the compose file as a whole.
func (p *problems) addIn(where, format string, args ...any) {
	*p = append(*p, where+": "+fmt.Sprintf(format, args...))
}

// require fails the test with every problem found, sorted.
func (p problems) require(t *testing.T) {
	t.Helper()
	sort.Strings(p)
	require.Empty(t, p, "\n%s", strings.Join(p, "\n"))
}

// ---------------------------------------------------------------------------
// Helpers over the loaded file.

func (c *loadedCompose) service(t *testing.T, name string) service {
	t.Helper()
	s, ok := c.Services[name]
	require.True(t, ok, "service %s is missing from %s", name, composeFileName)
	return s
}

// usesPfmsyncImage reports whether the service runs the image the
// repository's Dockerfile builds.
func usesPfmsyncImage(s service) bool {
	return s.Build != nil && path.Clean(s.Build.dockerfilePath()) == dockerfileName
}

// configServices are the services whose binary reads internal/config.
func configServices() []string {
	var out []string
	for name, bin := range requiredServices {
		if bin == "worker" || bin == "linkserver" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func loadConfig(env environment) (config.Config, error) {
	return config.Load(func(k string) string { return env[k] })
}

// commandArgs splits a command into flag names and their values, as the Go
// flag package parses it; takesValue says which flags take a value. Values
// of flags that are not known are taken from "-flag=value" only.
func commandArgs(args []string, takesValue map[string]bool) (map[string][]string, []string, error) {
	flags := map[string][]string{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
			return flags, args[i:], nil
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !hasValue && takesValue[name] {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			value = args[i]
		}
		flags[name] = append(flags[name], value)
	}
	return flags, nil, nil
}

// publishedPort is one entry of a service's ports.
type publishedPort struct {
	hostIP, hostPort, containerPort string
}

func parsePort(spec string) (publishedPort, error) {
	spec, _, _ = strings.Cut(spec, "/")
	parts := strings.Split(spec, ":")
	var p publishedPort
	switch len(parts) {
	case 1:
		p.containerPort = parts[0]
	case 2:
		p.hostPort, p.containerPort = parts[0], parts[1]
	case 3:
		p.hostIP, p.hostPort, p.containerPort = parts[0], parts[1], parts[2]
	default:
		return p, fmt.Errorf("port %q: want [ip:]host:container", spec)
	}
	if p.containerPort == "" || strings.Contains(p.containerPort, "-") || strings.Contains(p.hostPort, "-") {
		return p, fmt.Errorf("port %q: want single ports", spec)
	}
	return p, nil
}

// allInterfaces reports whether a listen host accepts connections from
// outside the container (published ports and other containers).
func allInterfaces(host string) bool {
	return host == "" || host == "0.0.0.0" || host == "::"
}

// urlPort is u's port, or the scheme's default.
func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// ---------------------------------------------------------------------------
// The binaries, built once for the tests that ask them for their usage.

var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// commandPackages lists ./cmd/<name> for every main package under cmd/.
func commandPackages() ([]string, error) {
	entries, err := os.ReadDir(repoPath("cmd"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(repoPath("cmd"), e.Name(), "*.go"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
			if err != nil {
				return nil, err
			}
			if pf.Name.Name == "main" {
				out = append(out, "./cmd/"+e.Name())
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// buildBinaries builds the binaries the services run, once.
var buildBinaries = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the binaries: %w", err)
	}
	var pkgs []string
	for _, bin := range requiredServices {
		if pkg := "./cmd/" + bin; bin != "" && !slices.Contains(pkgs, pkg) {
			pkgs = append(pkgs, pkg)
		}
	}
	sort.Strings(pkgs)
	dir, err := os.MkdirTemp("", "deploycheck-")
	if err != nil {
		return "", err
	}
	binDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %v: %w\n%s", pkgs, err, out)
	}
	return dir, nil
})

// usage runs a built binary with args and env and returns what it printed;
// asking for usage may exit non-zero, so the exit status is not checked.
func usage(t *testing.T, binary string, env []string, args ...string) string {
	t.Helper()
	dir, err := buildBinaries()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, binary), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		require.NoError(t, err, "run %s %v", binary, args)
	}
	return string(out)
}

// flagLine matches a flag in the flag package's usage: "  -name type" or,
// for a boolean flag, "  -name".
var flagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9._-]*)(?: ([A-Za-z0-9_.]+))?\s*$`)

// sandboxFlags asks the sandbox binary for its flags: name → takes a value.
func sandboxFlags(t *testing.T) map[string]bool {
	t.Helper()
	out := usage(t, "sandbox", nil, "-h")
	flags := map[string]bool{}
	for _, m := range flagLine.FindAllStringSubmatch(out, -1) {
		flags[m[1]] = m[2] != ""
	}
	require.Contains(t, flags, "addr", "sandbox -h printed no flags:\n%s", out)
	return flags
}

// subcommand is one form of a command in its usage text.
type subcommand struct {
	name     string // "" for the bare command
	required int    // positional arguments it needs
	more     bool   // it takes [optional] arguments besides
	optional bool   // the name itself is optional ("[serve]")
}

// subcommands parses the forms of a command from its usage text: lines
// "[usage:] BINARY [SUB] [ARG...]  description", where the arguments are
// upper-case placeholders or [optional] groups.
func subcommands(usageText, binary string) map[string]subcommand {
	line := regexp.MustCompile(`(?m)^(?:usage:)?[ \t]*` + regexp.QuoteMeta(binary) + `(?:[ \t]|$)(.*)$`)
	placeholder := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	out := map[string]subcommand{}
	for _, m := range line.FindAllStringSubmatch(usageText, -1) {
		// The synopsis ends where the description starts, after two
		// spaces (right after the binary's name for the bare command).
		synopsis, _, _ := strings.Cut(" "+m[1], "  ")
		fields := strings.Fields(synopsis)
		if len(fields) == 0 {
			out[""] = subcommand{}
			continue
		}
		sub := subcommand{name: strings.Trim(fields[0], "[]"), optional: strings.HasPrefix(fields[0], "[")}
		depth := 0
		for _, f := range fields[1:] {
			if depth > 0 || strings.HasPrefix(f, "[") {
				depth += strings.Count(f, "[") - strings.Count(f, "]")
				sub.more = true
				continue
			}
			if !placeholder.MatchString(f) {
				break // a one-space description
			}
			sub.required++
		}
		out[sub.name] = sub
		if sub.optional {
			out[""] = subcommand{}
		}
	}
	return out
}

// formNames lists a command's forms for a message.
func formNames(subs map[string]subcommand) []string {
	names := sortedKeys(subs)
	for i, n := range names {
		if n == "" {
			names[i] = "(no arguments)"
		}
	}
	return names
}

func TestSubcommands(t *testing.T) {
	t.Parallel()

	text := `usage: tool                     run it
       tool migrate              migrate and exit
       tool sync-now LINK_ID     sync one link
usage:
  other [serve]                  serve
  other reseal-tokens [-batch N] re-seal every token
Configuration: see docs/tool.md and other.md.`
	require.Equal(t, map[string]subcommand{
		"":         {},
		"migrate":  {name: "migrate"},
		"sync-now": {name: "sync-now", required: 1},
	}, subcommands(text, "tool"))
	require.Equal(t, map[string]subcommand{
		"":              {},
		"serve":         {name: "serve", optional: true},
		"reseal-tokens": {name: "reseal-tokens", more: true},
	}, subcommands(text, "other"))
}

// ---------------------------------------------------------------------------
// Dockerfiles.

type dockerStage struct {
	image, name  string
	instructions [][2]string // instruction (upper case), arguments
}

// parseDockerfile splits a Dockerfile into stages, with continuation lines
// joined and comments dropped.
func parseDockerfile(p string) ([]dockerStage, error) {
	raw, err := os.ReadFile(repoPath(p))
	if err != nil {
		return nil, err
	}
	var logical []string
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	var stages []dockerStage
	for _, l := range logical {
		instr, args, _ := strings.Cut(l, " ")
		instr = strings.ToUpper(instr)
		args = strings.TrimSpace(args)
		if instr == "FROM" {
			f := strings.Fields(args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			if len(f) == 0 {
				return nil, fmt.Errorf("%s: FROM without an image", p)
			}
			st := dockerStage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if instr == "ARG" {
				continue
			}
			return nil, fmt.Errorf("%s: %s before FROM", p, instr)
		}
		last := &stages[len(stages)-1]
		last.instructions = append(last.instructions, [2]string{instr, args})
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s has no FROM", p)
	}
	return stages, nil
}

// builtStage is the stage a build produces: its target, or the last one.
func builtStage(b *buildSpec) (dockerStage, error) {
	stages, err := parseDockerfile(b.dockerfilePath())
	if err != nil {
		return dockerStage{}, err
	}
	if b.Target == "" {
		return stages[len(stages)-1], nil
	}
	for _, st := range stages {
		if st.name == b.Target {
			return st, nil
		}
	}
	return dockerStage{}, fmt.Errorf("%s has no stage %q", b.dockerfilePath(), b.Target)
}

// installedFiles lists the files a stage's COPY instructions create.
func installedFiles(st dockerStage) []string {
	var out []string
	for _, in := range st.instructions {
		if in[0] != "COPY" && in[0] != "ADD" {
			continue
		}
		f := slices.DeleteFunc(strings.Fields(in[1]), func(s string) bool { return strings.HasPrefix(s, "--") })
		if len(f) < 2 {
			continue
		}
		srcs, dest := f[:len(f)-1], f[len(f)-1]
		if strings.HasSuffix(dest, "/") || len(srcs) > 1 {
			for _, s := range srcs {
				out = append(out, path.Join(dest, path.Base(s)))
			}
			continue
		}
		out = append(out, dest)
	}
	return out
}

// pinnedImage checks that an image reference names a tag other than latest
// or a digest.
func pinnedImage(ref string) error {
	if ref == "" {
		return errors.New("no image")
	}
	if strings.Contains(ref, "$") {
		return fmt.Errorf("image %q is not resolved", ref)
	}
	if strings.Contains(ref, "@sha256:") {
		return nil
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon < slash+1 {
		return fmt.Errorf("image %q has no tag (it would pull latest)", ref)
	}
	if tag := ref[colon+1:]; tag == "" || tag == "latest" {
		return fmt.Errorf("image %q is not pinned", ref)
	}
	return nil
}

func imageTag(ref string) string {
	if colon := strings.LastIndex(ref, ":"); colon > strings.LastIndex(ref, "/") {
		return ref[colon+1:]
	}
	return ""
}

// ===========================================================================
// The checks.

func TestComposeHasTheServices(t *testing.T) {
	t.Parallel()

	c := compose(t)
	require.NotEmpty(t, c.Name, "the compose file names its project (name:)")
	var p problems
	for name := range requiredServices {
		if _, ok := c.Services[name]; !ok {
			p.add(name, "missing")
		}
	}
	p.require(t)
}

func TestImagesArePinned(t *testing.T) {
	t.Parallel()

	c := compose(t)
	var p problems
	var pfmsyncImages []string
	for name, s := range c.Services {
		// With a build section, image is the tag the build gets; without
		// one Compose would tag it latest.
		if err := pinnedImage(s.Image); err != nil {
			p.add(name, "%v", err)
		}
		if s.Build == nil {
			continue
		}
		if usesPfmsyncImage(s) && !slices.Contains(pfmsyncImages, s.Image) {
			pfmsyncImages = append(pfmsyncImages, s.Image)
		}
		stages, err := parseDockerfile(s.Build.dockerfilePath())
		if err != nil {
			p.add(name, "%v", err)
			continue
		}
		var names []string
		for _, st := range stages {
			if st.image != "scratch" && !slices.Contains(names, st.image) {
				if err := pinnedImage(st.image); err != nil {
					p.add(name, "%s: FROM: %v", s.Build.dockerfilePath(), err)
				}
			}
			names = append(names, st.name)
		}
	}
	if len(pfmsyncImages) != 1 {
		p.addIn(composeFileName, "the services built from %s use %d image names %v, want one image for every binary", dockerfileName, len(pfmsyncImages), pfmsyncImages)
	}
	for name, bin := range requiredServices {
		if s, ok := c.Services[name]; ok && bin != "" && !usesPfmsyncImage(s) {
			p.add(name, "runs %s, so it must be built from %s", bin, dockerfileName)
		}
	}
	p.require(t)
}

func TestEveryServiceHasAHealthcheck(t *testing.T) {
	t.Parallel()

	c := compose(t)
	var p problems
	for name, s := range c.Services {
		if oneShot[name] {
			if s.Healthcheck != nil {
				p.add(name, "a one-shot service has no healthcheck (services wait for service_completed_successfully)")
			}
			if s.Restart != "no" {
				p.add(name, `a one-shot service must have restart: "no", not %q`, s.Restart)
			}
			continue
		}
		h := s.Healthcheck
		if h == nil || h.Disable || len(h.Test) == 0 || h.Test[0] == "NONE" {
			p.add(name, "has no healthcheck")
			continue
		}
		if h.Test[0] != "CMD" && h.Test[0] != "CMD-SHELL" {
			p.add(name, "healthcheck test must start with CMD or CMD-SHELL, not %q", h.Test[0])
		}
		if len(h.Test) < 2 {
			p.add(name, "healthcheck test runs nothing")
		}
		for field, d := range map[string]string{"interval": h.Interval, "timeout": h.Timeout, "start_period": h.StartPeriod} {
			if d == "" {
				continue
			}
			if _, err := time.ParseDuration(d); err != nil {
				p.add(name, "healthcheck %s %q: %v", field, d, err)
			}
		}
	}
	p.require(t)
}

// TestHealthcheckProbesExistInTheImages checks that healthchecks of images
// built here (distroless and scratch: no shell) run a file the image has.
func TestHealthcheckProbesExistInTheImages(t *testing.T) {
	t.Parallel()

	c := compose(t)
	var p problems
	for name, s := range c.Services {
		if s.Build == nil || s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 {
			continue
		}
		final, err := builtStage(s.Build)
		if err != nil {
			p.add(name, "%v", err)
			continue
		}
		if s.Healthcheck.Test[0] != "CMD" {
			p.add(name, "the images built here have no shell: the healthcheck must use the CMD form, not %s", s.Healthcheck.Test[0])
			continue
		}
		if probe := s.Healthcheck.Test[1]; !slices.Contains(installedFiles(final), probe) {
			p.add(name, "healthcheck runs %s, which %s does not install in the image's stage (it installs %v)", probe, s.Build.dockerfilePath(), installedFiles(final))
		}
	}
	p.require(t)
}

func TestDependencies(t *testing.T) {
	t.Parallel()

	c := compose(t)
	var p problems
	conditions := []string{"service_started", "service_healthy", "service_completed_successfully"}
	for name, s := range c.Services {
		for dep, cond := range s.DependsOn {
			target, ok := c.Services[dep]
			switch {
			case !ok:
				p.add(name, "depends on %s, which does not exist", dep)
			case !slices.Contains(conditions, cond):
				p.add(name, "depends on %s with unknown condition %q", dep, cond)
			case oneShot[dep] && cond != "service_completed_successfully":
				p.add(name, "must wait for the one-shot %s with service_completed_successfully, not %s", dep, cond)
			case cond == "service_healthy" && target.Healthcheck == nil:
				p.add(name, "waits for %s to be healthy, but it has no healthcheck", dep)
			}
		}
	}
	want := map[string]map[string]string{
		"migrations": {"postgres": "service_healthy"},
		"linkserver": {"migrations": "service_completed_successfully", "sandbox": "service_healthy"},
		"worker":     {"migrations": "service_completed_successfully", "sandbox": "service_healthy"},
		"riverui":    {"migrations": "service_completed_successfully"},
	}
	for name, deps := range want {
		s, ok := c.Services[name]
		if !ok {
			continue
		}
		for dep, cond := range deps {
			if s.DependsOn[dep] != cond {
				p.add(name, "must depend on %s with condition %s (has %q)", dep, cond, s.DependsOn[dep])
			}
		}
	}
	p.require(t)
}

// TestEnvironmentIsReadByTheBinaries checks every variable set on a pfmsync
// service against the variables its binary reads.
func TestEnvironmentIsReadByTheBinaries(t *testing.T) {
	t.Parallel()

	c := compose(t)
	known := config.Variables()
	var p problems
	for _, name := range configServices() {
		s := c.service(t, name)
		secrets := clientSecretVariables(s.Environment)
		for _, v := range sortedKeys(s.Environment) {
			if !slices.Contains(known, v) && !slices.Contains(secrets, v) {
				p.add(name, "sets %s, which %s does not read (not in config.Variables() nor a client_secret_env of %s)", v, requiredServices[name], config.EnvInstitutions)
			}
		}
	}
	if s, ok := c.Services["sandbox"]; ok {
		for _, v := range sortedKeys(s.Environment) {
			if v != sandboxAdminTokenEnv {
				p.add("sandbox", "sets %s, which the sandbox does not read (it reads only %s)", v, sandboxAdminTokenEnv)
			}
		}
	}
	p.require(t)
}

// clientSecretVariables are the client_secret_env names of the institutions
// a service's environment configures (none when the list does not parse;
// TestConfigurationLoads reports that).
func clientSecretVariables(env environment) []string {
	var list []config.Institution
	if text := env[config.EnvInstitutions]; text != "" {
		if err := json.Unmarshal([]byte(text), &list); err != nil {
			return nil
		}
	}
	var out []string
	for _, in := range list {
		if in.ClientSecretEnv != "" {
			out = append(out, in.ClientSecretEnv)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestConfigurationLoads loads each pfmsync service's environment with the
// real loader and checks what the binaries check before they serve.
func TestConfigurationLoads(t *testing.T) {
	t.Parallel()

	c := compose(t)
	var p problems
	cfgs := map[string]config.Config{}
	for _, name := range configServices() {
		env := c.service(t, name).Environment
		cfg, err := loadConfig(env)
		if err != nil {
			p.add(name, "config.Load: %v", err)
			continue
		}
		cfgs[name] = cfg
		if name == "migrations" {
			continue
		}
		if len(cfg.Institutions) == 0 {
			p.add(name, "configures no institution (%s)", config.EnvInstitutions)
		}
		if cfg.TokenKeysFile == "" {
			if _, err := tokenseal.ParseKeyRing(cfg.TokenKeys); err != nil {
				p.add(name, "%s: %v", config.EnvTokenKeys, err)
			}
		}
		if requiredServices[name] == "linkserver" && len(cfg.Link.AppKey) < linkserver.MinAppKeyLen {
			p.add(name, "%s must be at least %d characters", config.EnvAppKey, linkserver.MinAppKeyLen)
		}
	}
	// The link server seals refresh tokens the workers open, and both talk
	// to the same banks and database.
	if ls, ok := cfgs["linkserver"]; ok {
		if w, ok := cfgs["worker"]; ok {
			if ls.TokenKeys != w.TokenKeys || ls.TokenKeysFile != w.TokenKeysFile {
				p.add("worker", "has a different token key ring from linkserver: it could not open the tokens linkserver seals")
			}
			if fmt.Sprint(ls.Institutions) != fmt.Sprint(w.Institutions) {
				p.add("worker", "configures different institutions from linkserver")
			}
		}
	}
	var dbURLs []string
	for _, cfg := range cfgs {
		if !slices.Contains(dbURLs, cfg.Database.URL) {
			dbURLs = append(dbURLs, cfg.Database.URL)
		}
	}
	if len(dbURLs) > 1 {
		p.addIn(composeFileName, "%v use %d different database URLs", configServices(), len(dbURLs))
	}
	p.require(t)
}

func TestDevelopmentSecretsAreMarked(t *testing.T) {
	t.Parallel()

	c := compose(t)
	var p problems
	for _, v := range secretVariables {
		def, ok := c.defaults[v]
		if !ok {
			continue // set some other way; nothing to mark
		}
		if !strings.Contains(def, "dev-only") {
			p.addIn(composeFileName, "the default of ${%s} must say dev-only, so that it is never mistaken for a real secret", v)
		}
	}
	p.require(t)
}

func TestEnvExampleListsEveryVariable(t *testing.T) {
	t.Parallel()

	c := compose(t)
	raw, err := os.ReadFile(repoPath(envExampleName))
	require.NoError(t, err)
	var missing []string
	for _, v := range sortedKeys(c.defaults) {
		if !regexp.MustCompile(`(?m)^#?` + regexp.QuoteMeta(v) + `=`).Match(raw) {
			missing = append(missing, v)
		}
	}
	require.Empty(t, missing, "%s does not document these variables %s interpolates", envExampleName, composeFileName)
}

// TestSandboxCommand checks the sandbox's command against the flags the
// built binary accepts, and the URLs it implies against the other services.
func TestSandboxCommand(t *testing.T) {
	t.Parallel()

	c := compose(t)
	s := c.service(t, "sandbox")
	known := sandboxFlags(t)
	var p problems
	flags, rest, err := commandArgs(s.Command, known)
	require.NoError(t, err, "service sandbox: command %q", []string(s.Command))
	if len(rest) > 0 {
		p.add("sandbox", "command has arguments the sandbox refuses: %q", rest)
	}
	for _, name := range sortedKeys(flags) {
		if _, ok := known[name]; !ok {
			p.add("sandbox", "command uses -%s, which the sandbox binary does not have (it has %v)", name, sortedKeys(known))
		}
	}
	for _, name := range []string{"addr", "base-url", "client-id", "client-secret", "redirect-uri"} {
		if len(flags[name]) == 0 {
			p.add("sandbox", "command must set -%s (the other services depend on it)", name)
		}
	}
	p.require(t)

	addr := last(flags["addr"])
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err, "service sandbox: -addr %q", addr)
	if !allInterfaces(host) {
		p.add("sandbox", "-addr %s listens on %s only: other containers cannot reach it", addr, host)
	}
	base, err := url.Parse(last(flags["base-url"]))
	require.NoError(t, err, "service sandbox: -base-url")
	if base.Hostname() != "sandbox" || urlPort(base) != port {
		p.add("sandbox", "-base-url %s must be http://sandbox:%s: the service name and the -addr port, how the other containers reach it", base, port)
	}
	// The browser follows the issuer's authorization endpoint, on the same
	// base URL: the published host port must be the base URL's port.
	if hp, ok := hostPortFor(s, port); !ok || hp != urlPort(base) {
		p.add("sandbox", "must publish container port %s on host port %s (the -base-url port, which browsers are sent to)", port, urlPort(base))
	}

	apiBase := base.String() + sandbox.APIPrefix
	for _, name := range []string{"linkserver", "worker"} {
		env := c.service(t, name).Environment
		cfg, err := loadConfig(env)
		if err != nil {
			continue // reported by TestConfigurationLoads
		}
		for _, in := range cfg.Institutions {
			u, err := url.Parse(in.BaseURL)
			if err != nil || u.Hostname() != "sandbox" {
				continue
			}
			if in.BaseURL != apiBase {
				p.add(name, "institution %s: base_url %s, but the sandbox serves its API at %s", in.Slug, in.BaseURL, apiBase)
			}
			if u.Scheme == "http" && !in.AllowInsecureHTTP {
				p.add(name, "institution %s: http on a non-loopback host needs \"allow_insecure_http\": true", in.Slug)
			}
			if in.ClientID != last(flags["client-id"]) {
				p.add(name, "institution %s: client_id %q, but the sandbox registers %q", in.Slug, in.ClientID, last(flags["client-id"]))
			}
			if in.ClientSecret != last(flags["client-secret"]) {
				p.add(name, "institution %s: the client secret in %s differs from the sandbox's -client-secret", in.Slug, in.ClientSecretEnv)
			}
		}
		if name == "linkserver" {
			callback := cfg.Link.PublicURL + bootstrap.CallbackPath
			if !slices.Contains(flags["redirect-uri"], callback) {
				p.add("sandbox", "must register linkserver's redirect URI %s with -redirect-uri (has %v)", callback, flags["redirect-uri"])
			}
		}
	}
	p.require(t)
}

func last(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[len(values)-1]
}

// hostPortFor returns the host port a service publishes containerPort on.
func hostPortFor(s service, containerPort string) (string, bool) {
	for _, spec := range s.Ports {
		pp, err := parsePort(spec)
		if err == nil && pp.containerPort == containerPort {
			return pp.hostPort, pp.hostPort != ""
		}
	}
	return "", false
}

// TestWorkerAndLinkserverCommands checks each pfmsync service's entrypoint
// and subcommand against the built binaries' usage.
func TestWorkerAndLinkserverCommands(t *testing.T) {
	t.Parallel()

	c := compose(t)
	pkgs, err := commandPackages()
	require.NoError(t, err)
	// The worker reads its configuration before its arguments: a dummy
	// database URL lets it reach the usage text (it does not connect).
	usages := map[string]map[string]subcommand{
		"worker":     subcommands(usage(t, "worker", []string{config.EnvDatabaseURL + "=postgres://deploycheck@127.0.0.1:1/deploycheck"}, "help"), "worker"),
		"linkserver": subcommands(usage(t, "linkserver", nil, "help"), "linkserver"),
	}
	require.Contains(t, usages["worker"], "migrate", "worker's usage names no migrate subcommand")
	require.Contains(t, usages["linkserver"], "serve", "linkserver's usage names no serve subcommand")

	var p problems
	for name, bin := range requiredServices {
		s, ok := c.Services[name]
		if !ok || bin == "" {
			continue
		}
		want := path.Join(imageBinDir, bin)
		if len(s.Entrypoint) != 1 || s.Entrypoint[0] != want {
			p.add(name, "entrypoint must be [%q], not %q", want, []string(s.Entrypoint))
		}
		if !slices.Contains(pkgs, "./cmd/"+bin) {
			p.add(name, "runs %s, but there is no ./cmd/%s", bin, bin)
		}
		subs, ok := usages[bin]
		if !ok {
			continue // the sandbox: flags, checked by TestSandboxCommand
		}
		args := []string(s.Command)
		sub := ""
		if len(args) > 0 {
			sub = args[0]
		}
		form, ok := subs[sub]
		switch {
		case !ok:
			p.add(name, "%s has no subcommand %q (it has %v)", bin, sub, formNames(subs))
		case sub != "" && (len(args)-1 < form.required || (!form.more && len(args)-1 > form.required)):
			p.add(name, "%s %s takes %d arguments, the command gives %d", bin, sub, form.required, len(args)-1)
		}
	}
	if s, ok := c.Services["migrations"]; ok && (len(s.Command) != 1 || s.Command[0] != "migrate") {
		p.add("migrations", "must run worker migrate, not %q", []string(s.Command))
	}
	if s, ok := c.Services["worker"]; ok && len(s.Command) != 0 {
		p.add("worker", "must run the worker (no arguments), not %q", []string(s.Command))
	}
	p.require(t)
}

// TestAddressesAgree checks healthcheck URLs, listen addresses and
// published ports of every service against each other.
func TestAddressesAgree(t *testing.T) {
	t.Parallel()

	c := compose(t)
	var p problems
	// listen: the addresses each service listens on, keyed by what sets them.
	listen := map[string]map[string]string{}
	health := map[string]string{} // service → the setting its healthcheck must probe

	if s, ok := c.Services["sandbox"]; ok {
		flags, _, _ := commandArgs(s.Command, sandboxFlags(t))
		listen["sandbox"] = map[string]string{"-addr": last(flags["addr"])}
		health["sandbox"] = "-addr"
	}
	for _, name := range []string{"linkserver", "worker"} {
		s, ok := c.Services[name]
		if !ok {
			continue
		}
		cfg, err := loadConfig(s.Environment)
		if err != nil {
			continue // reported by TestConfigurationLoads
		}
		switch name {
		case "linkserver":
			listen[name] = map[string]string{config.EnvLinkAddr: cfg.Link.Addr}
			if cfg.Telemetry.AdminAddr != "" {
				listen[name][config.EnvAdminAddr] = cfg.Telemetry.AdminAddr
			}
			health[name] = config.EnvLinkAddr
			// Browsers come back to the public URL: it must be the
			// published link address.
			pub, err := url.Parse(cfg.Link.PublicURL)
			if err == nil {
				_, lp, _ := net.SplitHostPort(cfg.Link.Addr)
				if hp, ok := hostPortFor(s, lp); !ok || hp != urlPort(pub) {
					p.add(name, "%s %s: its port must be the host port %s (%s) is published on", config.EnvPublicURL, cfg.Link.PublicURL, lp, config.EnvLinkAddr)
				}
				if h := pub.Hostname(); h != "localhost" && h != "127.0.0.1" {
					p.add(name, "%s %s: ports are published on 127.0.0.1, so browsers reach it at localhost", config.EnvPublicURL, cfg.Link.PublicURL)
				}
			}
		case "worker":
			// The worker serves nothing else: its healthcheck is /metrics.
			listen[name] = map[string]string{config.EnvMetricsAddr: cfg.Telemetry.MetricsAddr}
			health[name] = config.EnvMetricsAddr
		}
	}
	if s, ok := c.Services["riverui"]; ok {
		port := s.Environment["PORT"]
		if port == "" {
			port = "8080"
		}
		listen["riverui"] = map[string]string{"PORT": ":" + port}
		health["riverui"] = "PORT"
	}
	if _, ok := c.Services["otel-collector"]; ok {
		col, err := collectorConfig(t, c)
		if err != nil {
			p.add("otel-collector", "%v", err)
		} else {
			addrs := map[string]string{
				"extensions.health_check.endpoint":       col.Extensions["health_check"].Endpoint,
				"receivers.otlp.protocols.http.endpoint": col.otlpHTTP(),
			}
			if _, ok := col.Exporters["prometheus"]; ok {
				addrs["exporters.prometheus.endpoint"] = col.Exporters["prometheus"].Endpoint
			}
			if g := col.otlpGRPC(); g != "" {
				addrs["receivers.otlp.protocols.grpc.endpoint"] = g
			}
			listen["otel-collector"] = addrs
			health["otel-collector"] = "extensions.health_check.endpoint"
		}
	}
	if _, ok := c.Services["postgres"]; ok {
		listen["postgres"] = map[string]string{"the postgres image": ":5432"}
	}

	for name, addrs := range listen {
		s := c.Services[name]
		// Every address is a valid host:port.
		ports := map[string]string{} // port → setting
		for setting, addr := range addrs {
			if addr == "" {
				p.add(name, "%s is off or not set", setting)
				continue
			}
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				p.add(name, "%s %q: %v", setting, addr, err)
				continue
			}
			if host != "" && net.ParseIP(host) == nil && host != "localhost" {
				p.add(name, "%s %q: listen on an IP address", setting, addr)
			}
			ports[port] = setting
		}
		// The healthcheck probes the address it should, from inside the
		// container.
		if setting, ok := health[name]; ok && s.Healthcheck != nil {
			u, err := s.Healthcheck.Test.url()
			if err != nil {
				p.add(name, "%v", err)
			} else if addr := addrs[setting]; addr != "" {
				host, port, _ := net.SplitHostPort(addr)
				if urlPort(u) != port {
					p.add(name, "healthcheck probes port %s, but %s is %s", urlPort(u), setting, addr)
				}
				if uh := u.Hostname(); uh != "127.0.0.1" && uh != "localhost" {
					p.add(name, "healthcheck probes %s; it runs inside the container, probe 127.0.0.1", uh)
				} else if !allInterfaces(host) && host != "127.0.0.1" && host != "localhost" {
					p.add(name, "healthcheck probes 127.0.0.1, but %s listens on %s", setting, host)
				}
			}
		}
		// Published ports are ports the service listens on, on every
		// interface inside the container, published on loopback only.
		for _, spec := range s.Ports {
			pp, err := parsePort(spec)
			if err != nil {
				p.add(name, "%v", err)
				continue
			}
			setting, ok := ports[pp.containerPort]
			if !ok {
				p.add(name, "publishes container port %s, which it does not listen on (%v)", pp.containerPort, addrs)
				continue
			}
			if host, _, _ := net.SplitHostPort(addrs[setting]); !allInterfaces(host) {
				p.add(name, "publishes port %s, but %s listens on %s only, unreachable from outside the container", pp.containerPort, setting, host)
			}
			if pp.hostIP != "127.0.0.1" {
				p.add(name, "publishes port %s on %q; publish on 127.0.0.1 only", pp.containerPort, pp.hostIP)
			}
		}
	}
	p.require(t)
}

// TestServicesReachEachOther checks the URLs services are given for each
// other: the database, the collector.
func TestServicesReachEachOther(t *testing.T) {
	t.Parallel()

	c := compose(t)
	var p problems
	pg := c.service(t, "postgres")
	user, db := pg.Environment["POSTGRES_USER"], pg.Environment["POSTGRES_DB"]
	if user == "" {
		user = "postgres"
	}
	if db == "" {
		db = user
	}
	checkDB := func(name, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			p.add(name, "database URL does not parse")
			return
		}
		pw, _ := u.User.Password()
		switch {
		case u.Hostname() != "postgres" || urlPortOr(u, "5432") != "5432":
			p.add(name, "database URL must point at postgres:5432, not %s", u.Host)
		case u.User.Username() != user || strings.TrimPrefix(u.Path, "/") != db:
			p.add(name, "database URL must name user %s and database %s (postgres's POSTGRES_USER and POSTGRES_DB)", user, db)
		case pw != pg.Environment["POSTGRES_PASSWORD"]:
			p.add(name, "database URL password differs from postgres's POSTGRES_PASSWORD")
		}
	}
	for _, name := range configServices() {
		cfg, err := loadConfig(c.service(t, name).Environment)
		if err == nil {
			checkDB(name, cfg.Database.URL)
		}
	}
	if s, ok := c.Services["riverui"]; ok {
		checkDB("riverui", s.Environment["DATABASE_URL"])
	}
	if pg.Healthcheck != nil {
		test := strings.Join(pg.Healthcheck.Test, " ")
		if !strings.Contains(test, "pg_isready") || !strings.Contains(test, "-U "+user) || !strings.Contains(test, "-d "+db) {
			p.add("postgres", "healthcheck must run pg_isready -U %s -d %s", user, db)
		}
		if i := slices.Index(pg.Healthcheck.Test, "-p"); i >= 0 && (i+1 >= len(pg.Healthcheck.Test) || pg.Healthcheck.Test[i+1] != "5432") {
			p.add("postgres", "pg_isready must probe port 5432, where the server listens")
		}
	}
	hasVolume := false
	for _, v := range pg.Volumes {
		src, dst, _ := strings.Cut(v, ":")
		if strings.HasPrefix(dst, "/var/lib/postgresql") {
			hasVolume = true
			if _, ok := c.Volumes[src]; !ok {
				p.add("postgres", "volume %s is not declared under volumes:", src)
			}
		}
	}
	if !hasVolume {
		p.add("postgres", "keeps its data in no volume")
	}

	col, colErr := collectorConfig(t, c)
	for _, name := range []string{"linkserver", "worker"} {
		s, ok := c.Services[name]
		if !ok {
			continue
		}
		cfg, err := loadConfig(s.Environment)
		if err != nil {
			continue // reported by TestConfigurationLoads
		}
		raw := cfg.Telemetry.OTLPEndpoint
		if raw == "" {
			p.add(name, "%s is not set: traces and metrics would go nowhere", config.EnvOTLPEndpoint)
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" {
			p.add(name, "%s %q must be an http URL", config.EnvOTLPEndpoint, raw)
			continue
		}
		if _, ok := c.Services[u.Hostname()]; !ok || u.Hostname() != "otel-collector" {
			p.add(name, "%s %s must name the otel-collector service", config.EnvOTLPEndpoint, raw)
		}
		if colErr == nil {
			_, port, _ := net.SplitHostPort(col.otlpHTTP())
			if port == "" || urlPort(u) != port {
				p.add(name, "%s %s: the collector receives OTLP/HTTP on %q", config.EnvOTLPEndpoint, raw, col.otlpHTTP())
			}
		}
		if s.DependsOn["otel-collector"] == "" {
			p.add(name, "sends telemetry to otel-collector, so it must depend on it")
		}
	}
	p.require(t)
}

func urlPortOr(u *url.URL, def string) string {
	if p := u.Port(); p != "" {
		return p
	}
	return def
}

// TestWorkerScales checks that "docker compose up --scale worker=N" works
// and that Docker waits for a graceful stop.
func TestWorkerScales(t *testing.T) {
	t.Parallel()

	c := compose(t)
	s := c.service(t, "worker")
	var p problems
	if s.ContainerName != "" {
		p.add("worker", "has container_name %q: replicas would collide", s.ContainerName)
	}
	for _, spec := range s.Ports {
		if pp, err := parsePort(spec); err != nil || pp.hostPort != "" {
			p.add("worker", "publishes %q on a fixed host port: replicas would collide", spec)
		}
	}
	cfg, err := loadConfig(s.Environment)
	if err == nil {
		// cmd/worker: the soft stop lasts PFMSYNC_SHUTDOWN_TIMEOUT, then
		// running syncs are cancelled for up to 10s more.
		need := cfg.Worker.ShutdownTimeout + 10*time.Second
		grace, perr := time.ParseDuration(s.StopGracePeriod)
		if s.StopGracePeriod == "" || perr != nil || grace < need {
			p.add("worker", "stop_grace_period %q must be at least %s (%s plus the 10s hard stop), or Docker kills running syncs", s.StopGracePeriod, need, config.EnvShutdownTimeout)
		}
	}
	p.require(t)
}

// TestDockerfile checks the pfmsync image: what it builds and who it runs
// as. It carries the binaries the services run; commands for a developer's
// machine (such as the demo, which the compose file replaces) may stay out.
func TestDockerfile(t *testing.T) {
	t.Parallel()

	_ = bootstrap.Version // the variable the linker flag sets
	build := &buildSpec{Context: "."}
	for _, name := range sortedKeys(compose(t).Services) {
		if s := compose(t).Services[name]; usesPfmsyncImage(s) {
			build = s.Build
			break
		}
	}
	stages, err := parseDockerfile(build.dockerfilePath())
	require.NoError(t, err)
	final, err := builtStage(build)
	require.NoError(t, err)
	pkgs, err := commandPackages()
	require.NoError(t, err)
	require.NotEmpty(t, pkgs)

	var p problems
	user := ""
	for _, in := range final.instructions {
		if in[0] == "USER" {
			user = in[1]
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		p.addIn(dockerfileName, "the final stage must switch to a non-root USER (has %q)", user)
	}
	if len(stages) < 2 {
		p.addIn(dockerfileName, "must be multi-stage: build in one stage, run from a small one")
	}

	var built []string
	builds := 0
	for _, st := range stages {
		cgoOff := false
		for _, in := range st.instructions {
			if (in[0] == "ENV" || in[0] == "RUN" || in[0] == "ARG") && strings.Contains(in[1], "CGO_ENABLED=0") {
				cgoOff = true
			}
			if in[0] != "RUN" || !strings.Contains(in[1], "go build") {
				continue
			}
			builds++
			for _, f := range strings.Fields(in[1]) {
				if strings.HasPrefix(f, "./cmd/") {
					built = append(built, strings.TrimSuffix(f, "/"))
				}
			}
			if !cgoOff {
				p.addIn(dockerfileName, "go build must run with CGO_ENABLED=0 (the runtime image has no libc)")
			}
			if !strings.Contains(in[1], "-trimpath") {
				p.addIn(dockerfileName, "go build must use -trimpath")
			}
			if !strings.Contains(in[1], versionLinkerFlag) {
				p.addIn(dockerfileName, "go build must set the version with %s$VERSION", versionLinkerFlag)
			}
		}
	}
	if builds == 0 {
		p.addIn(dockerfileName, "runs no go build")
	}
	for _, pkg := range built {
		if !slices.Contains(pkgs, pkg) {
			p.addIn(dockerfileName, "builds %s, which is not a command (the commands are %v)", pkg, pkgs)
		}
	}
	// Every binary a service runs is built and installed in the image.
	installed := installedFiles(final)
	for _, name := range sortedKeys(requiredServices) {
		bin := requiredServices[name]
		if bin == "" {
			continue
		}
		if !slices.Contains(built, "./cmd/"+bin) {
			p.addIn(dockerfileName, "does not build ./cmd/%s, which service %s runs", bin, name)
		}
		if file := path.Join(imageBinDir, bin); !slices.Contains(installed, file) {
			p.addIn(dockerfileName, "the final stage does not install %s, which service %s runs (it installs %v)", file, name, installed)
		}
	}
	// The build context keeps what the build needs.
	if raw, err := os.ReadFile(repoPath(".dockerignore")); err == nil {
		needed := []string{"go.mod", "go.sum", "migrations/migrations.go", "internal/config/config.go"}
		for _, pkg := range built {
			needed = append(needed, strings.TrimPrefix(pkg, "./")+"/main.go")
		}
		for _, line := range strings.Split(string(raw), "\n") {
			pattern := strings.TrimPrefix(strings.TrimSpace(line), "/")
			if pattern == "" || strings.HasPrefix(pattern, "#") || strings.HasPrefix(pattern, "!") {
				continue
			}
			for _, file := range needed {
				for dir := file; dir != "."; dir = path.Dir(dir) {
					if ok, _ := path.Match(pattern, dir); ok {
						p.addIn(".dockerignore", "pattern %q leaves %s out of the build context", pattern, file)
					}
				}
			}
		}
	}
	p.require(t)
}

// ---------------------------------------------------------------------------
// The collector.

type collectorFile struct {
	Extensions map[string]struct {
		Endpoint string `yaml:"endpoint"`
	} `yaml:"extensions"`
	Receivers map[string]struct {
		Protocols map[string]struct {
			Endpoint string `yaml:"endpoint"`
		} `yaml:"protocols"`
	} `yaml:"receivers"`
	Processors map[string]any `yaml:"processors"`
	Exporters  map[string]struct {
		Endpoint string `yaml:"endpoint"`
	} `yaml:"exporters"`
	Service struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

func (f *collectorFile) otlpHTTP() string { return f.Receivers["otlp"].Protocols["http"].Endpoint }
func (f *collectorFile) otlpGRPC() string { return f.Receivers["otlp"].Protocols["grpc"].Endpoint }

// collectorConfig reads the file mounted as the collector's --config.
func collectorConfig(t *testing.T, c *loadedCompose) (*collectorFile, error) {
	t.Helper()
	s, ok := c.Services["otel-collector"]
	if !ok {
		return nil, errors.New("no otel-collector service")
	}
	var configPath string
	for i, arg := range s.Command {
		if v, ok := strings.CutPrefix(arg, "--config="); ok {
			configPath = v
		} else if arg == "--config" && i+1 < len(s.Command) {
			configPath = s.Command[i+1]
		}
	}
	if configPath == "" {
		return nil, errors.New("command must name its configuration with --config=<file>")
	}
	var hostFile string
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == configPath {
			hostFile = parts[0]
		}
	}
	if hostFile == "" {
		return nil, fmt.Errorf("--config=%s is not mounted from a file in the repository", configPath)
	}
	raw, err := os.ReadFile(repoPath(hostFile))
	if err != nil {
		return nil, err
	}
	var f collectorFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", hostFile, err)
	}
	return &f, nil
}

// TestCollectorConfig checks the collector's pipelines: every component
// they use is defined, and health checking and OTLP/HTTP are on.
func TestCollectorConfig(t *testing.T) {
	t.Parallel()

	c := compose(t)
	f, err := collectorConfig(t, c)
	require.NoError(t, err, "service otel-collector")
	var p problems
	if !slices.Contains(f.Service.Extensions, "health_check") {
		p.add("otel-collector", "service.extensions must enable health_check (the healthcheck probes it)")
	}
	if f.otlpHTTP() == "" {
		p.add("otel-collector", "receivers.otlp.protocols.http must be configured with an endpoint")
	} else if host, _, err := net.SplitHostPort(f.otlpHTTP()); err != nil || !allInterfaces(host) {
		p.add("otel-collector", "the OTLP/HTTP receiver %q must listen on 0.0.0.0 for the other containers", f.otlpHTTP())
	}
	if len(f.Service.Pipelines) == 0 {
		p.add("otel-collector", "defines no pipeline")
	}
	for _, name := range sortedKeys(f.Service.Pipelines) {
		pl := f.Service.Pipelines[name]
		if len(pl.Receivers) == 0 || len(pl.Exporters) == 0 {
			p.add("otel-collector", "pipeline %s needs receivers and exporters", name)
		}
		for _, r := range pl.Receivers {
			if _, ok := f.Receivers[r]; !ok {
				p.add("otel-collector", "pipeline %s uses receiver %s, which is not defined", name, r)
			}
		}
		for _, pr := range pl.Processors {
			if _, ok := f.Processors[pr]; !ok {
				p.add("otel-collector", "pipeline %s uses processor %s, which is not defined", name, pr)
			}
		}
		for _, e := range pl.Exporters {
			if _, ok := f.Exporters[e]; !ok {
				p.add("otel-collector", "pipeline %s uses exporter %s, which is not defined", name, e)
			}
			if e == "prometheus" && name != "metrics" && !strings.HasPrefix(name, "metrics/") {
				p.add("otel-collector", "pipeline %s: the prometheus exporter exports metrics only", name)
			}
		}
	}
	// The derived image pins the same collector release as its name says.
	s := c.service(t, "otel-collector")
	if s.Build != nil {
		if st, err := builtStage(s.Build); err == nil {
			upstream := st.image
			if imageTag(upstream) != imageTag(s.Image) {
				p.add("otel-collector", "image %s is built from %s: keep the tags equal", s.Image, upstream)
			}
		}
	}
	p.require(t)
}
