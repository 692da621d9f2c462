// Package reporting reads the `reporting` schema: the views a dashboard is
// allowed to see (docs/sql.md), connected as a login role that is a member
// of pfm_reader. It is the read side of pfmsync and the worked example for
// PFM teams of how to query those views: every query filters on the app
// user first (so it reaches the tables' indexes) and reads money as exact
// decimals, never floats.
//
// The store package owns the SQL that writes and the operator's reads; this
// package holds only SELECTs on reporting views, so that a dashboard built
// on it runs with the reader role's privileges and nothing more.
package reporting
