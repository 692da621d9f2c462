// Package statuspage is the operator status page of the link server's
// admin port: server-rendered HTML that needs no JavaScript, showing links
// by status, recent sync runs, the River queues' depth and lag, and each
// institution's error rates.
//
// # Routes
//
// Relative to where the handler is mounted (at "/"):
//
//	GET /                        overview: links by status, data freshness, queues, institutions, the last 20 sync runs
//	GET /links?status=…&page=…   links, 100 a page, the most recently attempted first
//	GET /links/{id}              one link and its 50 most recent sync runs
//	GET /runs                    the 100 most recent sync runs across all links
//	GET /assets/statuspage.css   the only stylesheet
//	GET /assets/favicon.svg      the pages' icon
//
// Other paths answer 404 and other methods 405: the pages only read.
//
// # Security
//
// With an admin token configured every route requires HTTP Basic
// authentication with that token as the password (any user name). Every
// response carries a Content Security Policy allowing the page's own
// stylesheet and nothing else, no framing, no referrer and no caching.
// The page reads links, sync runs, institutions and River's job table
// only: never a sealed token or a consent request. Sync error messages
// (written by pfmsync, never holding a token) are shown cut to 200
// characters.
package statuspage
