package main

// Module is pfmsync's module path; rules name packages relative to it.
const Module = "github.com/pfmsync/pfmsync"

// A group says where a package's code runs, which decides what it may depend on.
type group int

const (
	// production code ships in the deployed binaries (cmd/linkserver, cmd/worker).
	production group = iota
	// sandbox is the sandbox institution and its binary.
	sandbox
	// testOnly packages exist for tests: only test code and other test-only
	// packages import them.
	testOnly
	// devTool packages are developer commands (the demo, code generators,
	// checks); they may use anything except test-only packages.
	devTool
)

var groupTitles = map[group]string{
	production: "production (the deployed binaries)",
	sandbox:    "the sandbox institution",
	testOnly:   "tests only",
	devTool:    "developer commands",
}

// An edge is one allowed pfmsync import, with an optional note on what it is for.
type edge struct {
	To   string
	Note string
}

// A rule lists what one package may import from pfmsync. Packages are named
// relative to the module with "internal/" dropped (store, sandbox/bank,
// cmd/worker, tools/archcheck, migrations).
type rule struct {
	Pkg   string
	Group group
	// Leaf packages import the standard library only.
	Leaf bool
	// Imports are the pfmsync packages its non-test code may import directly.
	Imports []edge
	// Note is shown after the package in the generated graph.
	Note string
}

// e is shorthand for an edge without a note.
func e(names ...string) []edge {
	out := make([]edge, len(names))
	for i, n := range names {
		out[i] = edge{To: n}
	}
	return out
}

// rules is the import graph pfmsync allows. Every package of the module must
// appear here: a new package fails the check until it is added. The graph in
// docs/architecture.md is generated from this table (go run ./tools/archcheck -write).
var rules = []rule{
	{Pkg: "cmd/linkserver", Group: production, Imports: append(e("bootstrap", "linkserver", "statuspage", "telemetry", "config", "logging", "store", "consumerapi", "tokenseal"), edge{To: "linktoken", Note: "reseal-tokens"})},
	{Pkg: "cmd/worker", Group: production, Imports: append(e("workercmd", "bootstrap", "jobs", "events", "telemetry", "config", "logging", "consumerapi", "store"), edge{To: "userdata", Note: "erase-user"}, edge{To: "probe", Note: "probe-institution"})},
	{Pkg: "probe", Group: production, Imports: e("linktoken", "store", "consumerapi", "tokenseal", "pfm"), Note: "measure an institution's behaviour in the documented gaps"},
	{Pkg: "workercmd", Group: production, Imports: e("jobs", "store", "pfm", "userdata", "probe"), Note: "the worker's command line and operator commands"},
	{Pkg: "userdata", Group: production, Imports: append(e("linktoken", "store", "consumerapi", "tokenseal", "pfm"), edge{To: "jobs", Note: "ErrorClassOf"}), Note: "erase and export one app user"},
	{Pkg: "bootstrap", Group: production, Imports: e("config", "store", "consumerapi", "linktoken", "tokenseal", "pfm"), Note: "shared start-up steps"},
	{Pkg: "linkserver", Group: production, Imports: append(e("linktoken", "events", "store", "consumerapi", "tokenseal", "httpsec", "pfm", "userdata"), edge{To: "jobs", Note: "SyncArgs"})},
	{Pkg: "events", Group: production, Imports: append(e("store", "pfm"), edge{To: "config", Note: "delivery settings"}), Note: "outbox, NOTIFY, signed webhooks"},
	{Pkg: "jobs", Group: production, Imports: append(e("linktoken", "events", "store", "consumerapi", "tokenseal", "pfm"), edge{To: "config", Note: "shared defaults"})},
	{Pkg: "linktoken", Group: production, Imports: e("store", "consumerapi", "tokenseal", "pfm"), Note: "the refresh token's whole life"},
	{Pkg: "statuspage", Group: production, Imports: e("store", "httpsec", "pfm")},
	{Pkg: "telemetry", Group: production, Imports: e("config", "store", "pfm")},
	{Pkg: "store", Group: production, Imports: e("pfm", "config", "migrations"), Note: "all SQL"},
	{Pkg: "migrations", Group: production, Note: "embedded SQL files"},
	{Pkg: "consumerapi", Group: production, Note: "the only code that speaks Banno's wire format"},
	{Pkg: "cmd/dashboard", Group: production, Imports: append(e("dashboard", "reporting", "logging"), edge{To: "linkserver", Note: "MinAppKeyLen"})},
	{Pkg: "dashboard", Group: production, Imports: append(e("reporting", "httpsec"), edge{To: "linkserver", Note: "link tokens for Reconnect"}), Note: "the reference dashboard"},
	{Pkg: "reporting", Group: production, Note: "SELECTs on the reporting views only, as a pfm_reader member"},
	{Pkg: "pfm", Group: production, Leaf: true},
	{Pkg: "config", Group: production, Leaf: true},
	{Pkg: "logging", Group: production, Leaf: true},
	{Pkg: "tokenseal", Group: production, Leaf: true},
	{Pkg: "httpsec", Group: production, Leaf: true},

	{Pkg: "cmd/sandbox", Group: sandbox, Imports: e("sandbox", "sandbox/authserver", "logging")},
	{Pkg: "sandbox", Group: sandbox, Imports: e("sandbox/authserver", "sandbox/bank"), Note: "shares nothing with consumerapi"},
	{Pkg: "sandbox/authserver", Group: sandbox},
	{Pkg: "sandbox/bank", Group: sandbox},

	{Pkg: "testdb", Group: testOnly, Imports: e("store", "config", "migrations")},
	{Pkg: "synctest", Group: testOnly, Imports: e("sandbox", "sandbox/authserver", "sandbox/bank", "consumerapi", "linktoken", "store", "tokenseal", "pfm", "testdb")},
	{Pkg: "reporting/reportingtest", Group: testOnly, Imports: e("testdb"), Note: "a pfm_reader login role per test"},
	{Pkg: "testsupport", Group: testOnly, Note: "log buffer, headless Chromium"},
	{Pkg: "telemetry/telemetrytest", Group: testOnly},
	{Pkg: "deploycheck", Group: testOnly, Note: "compose file check"},

	{Pkg: "cmd/demo", Group: devTool, Imports: append(e("store", "tokenseal", "sandbox", "reporting"), edge{To: "linkserver", Note: "link tokens"}), Note: "runs the three binaries"},
	{Pkg: "tools/rivermigrations", Group: devTool, Note: "go generate: River's migrations"},
	{Pkg: "tools/archcheck", Group: devTool, Note: "this check"},
	{Pkg: "config/internal/gendocs", Group: devTool, Imports: e("config"), Note: "go generate: the settings table in docs/operations.md"},
	{Pkg: "store/reportbench", Group: devTool, Imports: e("migrations"), Note: "the 5,000-user reporting benchmark's data and queries"},
	{Pkg: "tools/benchreporting", Group: devTool, Imports: e("store/reportbench"), Note: "make bench-reporting"},
	{Pkg: "tools/schemadump", Group: devTool, Imports: e("store", "config"), Note: "writes docs/schema.sql"},
}

// forbidden are the class rules: no package of From may depend, directly or
// through other packages, on any package of To (non-test code).
var forbidden = []struct {
	Name     string
	From, To []string
}{
	{Name: "consumerapi never imports store or pfm", From: []string{"consumerapi"}, To: []string{"store", "pfm"}},
	{Name: "store and consumerapi never import each other", From: []string{"store"}, To: []string{"consumerapi"}},
	{Name: "store and consumerapi never import each other", From: []string{"consumerapi"}, To: []string{"store"}},
}
