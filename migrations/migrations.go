// Package migrations embeds pfmsync's database schema: golang-migrate SQL
// files, applied in order under golang-migrate's advisory lock by the
// binaries at start and by the test harness.
//
// Files named NNNNNN_river_VVV_* are River's job-queue schema, one file pair
// per River migration version, written by tools/rivermigrations (go generate);
// the rest are pfmsync's own. golang-migrate alone owns the schema: River's
// own migrator is never run against the same database.
package migrations

import "embed"

//go:generate go run ../tools/rivermigrations -dir .

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
