// Package store is pfmsync's datastore: it owns every SQL statement, the
// connection pool and the schema migrations.
//
// A Store runs its queries on a DBTX, either the pool or one transaction, so
// the same methods serve single statements and multi-statement units of work
// (see Store.Transact). Methods return pfm domain types and translate Postgres
// errors into pfm sentinels (pfm.ErrNotFound, pfm.ErrConflict), wrapped with
// what was being done.
package store
