// Package bank holds the deterministic core-banking data of the sandbox
// institution: users, their deposit, credit-card and loan accounts, and every
// transaction those accounts ever carry.
//
// Data is a pure function of a [Config], a user and a clock instant. Each
// user's timeline is generated on first access from a PRNG seeded by
// (Config.Seed, user number) and then cached; the view at an instant `now`
// (which transactions exist, which are pending, which were dropped or
// replaced, balances, lastUpdated stamps) is derived from that timeline, so
// two calls with the same `now` give identical results and advancing `now`
// reveals new transactions, posts or drops pending ones and closes accounts.
// Instants are truncated to milliseconds.
//
// The exported types marshal to the Banno Consumer API wire format: money as
// decimal strings ([Money]), instants as UTC ISO-8601 with milliseconds
// ([Instant]) and calendar dates as yyyy-MM-dd ([Date]).
//
// # Timeline
//
// A transaction appears at an instant and is then either posted
// (pendingStatus NoReconciliation) or pending (InstitutionPending, no
// runningBalance, datePosted = when it appeared). One to four days later a
// pending transaction resolves: about 60% post under the same id (Reconciled,
// datePosted = the resolution instant, amount possibly changed by a tip or a
// fuel pre-authorisation); about 30% are replaced by a new posted id and the
// pending id is inactivated; about 10% are dropped and the id inactivated.
// Some posted transactions are modified later (re-categorised, renamed,
// tagged, annotated). lastUpdated is the latest of these events at or before
// now, and a transaction's served form changes only when lastUpdated moves.
//
// sequence numbers a transaction within its UTC posted date per account; it
// never changes once served, and gaps can appear where a pending
// authorisation later resolved. runningBalance, once served, never changes.
//
// Accounts that close disappear from [Bank.Accounts] and are listed as
// inactivated from their closing instant; their history stays readable
// through [Bank.Transactions] and in [Truth]. Accounts that open while the
// clock runs are unknown before they open.
//
// The package has no HTTP, no clock and no global mutable state; a [Bank] is
// safe for concurrent use.
package bank
