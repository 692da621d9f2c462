// Package probe measures, with one linked user's consent, how a Banno
// institution behaves where the Consumer API documentation is silent:
// refresh token rotation and access token lifetime, the page cap, whether
// offset is honoured, how updatedSince compares, whether the order is
// stable across pages, on which pages inactivatedTransactionIds arrives,
// and (against the previous run) whether changes move lastUpdated.
//
// A probe is read-only and gentle: a small request budget with a pause
// between requests, every request through the institution's client (its
// shared rate limit and Retry-After handling). A rotated refresh token is
// persisted through package linktoken exactly as a sync does. Findings are
// stored per institution by package store, matched against the sandbox's
// behaviour profiles, and turned into the sync settings that fit.
package probe
