// Package reportbench measures the reporting views at scale: it builds a
// dedicated datastore of thousands of app users with COPY (institutions,
// links, accounts of every type, balance snapshots, transactions with
// categories, merchants, pending rows, tombstones, own-account transfers
// and the change feed; each account's holding institution and the bank's
// running balance on recent deposit transactions), and times every
// per-user view, a cross-user query and the change-feed page as a reader
// role would run them.
//
// It belongs to the store layer because it owns SQL; tools/benchreporting
// is its command line.
package reportbench
