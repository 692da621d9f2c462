// Package jobs holds pfmsync's River jobs: the per-link sync that refreshes
// a link's token and pulls its accounts, balances and transactions into the
// datastore, and the scheduler that queues syncs for links that are due.
//
// It is the translator between the Banno client (consumerapi) and the
// datastore (store): neither imports the other.
package jobs
