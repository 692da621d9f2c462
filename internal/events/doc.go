// Package events tells the app what happened to its users' links: an
// outbox of events (link.created, link.status_changed, sync.completed,
// sync.failed, accounts.changed, transactions.removed) written in the
// transaction of the change, published on a Postgres NOTIFY channel, and
// delivered as signed webhooks by a River worker, at least once, in order
// per link, with backoff and a dead-letter status. docs/events.md is the
// consumer's guide.
package events
