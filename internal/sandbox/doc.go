// Package sandbox is pfmsync's sandbox institution: a faithful local stand-in
// for a Banno institution, serving the documented OpenID Connect provider and
// Consumer API under /a/consumer/api/v0 on a real HTTP listener, so that
// pointing pfmsync at it or at a real institution differs only in
// configuration.
//
// Its data comes from package bank (deterministic from a seed, evolving with
// a controllable clock) and its OpenID provider from package authserver. On
// top it adds what a test or a demo needs and a bank does not offer: faults
// injectable at start and at run time (latency, 429 with Retry-After, 5xx,
// connection resets, truncated or malformed bodies, slow fetch tasks, a
// per-client request budget, revoked consent), counters of what it served and
// injected, and an admin API under /sandbox/ that moves the clock and returns
// the ground truth a perfect sync must have stored.
//
// The sandbox shares no code with the production client (internal/consumerapi)
// on purpose: it follows the API documentation independently, so that tests
// catch the client's mistakes. Production code never imports it.
package sandbox
