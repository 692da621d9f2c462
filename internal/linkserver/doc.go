// Package linkserver is the web server a personal-finance app sends its
// users to when they connect their bank: the consent flow, ending with a
// link, its sealed refresh token and its first sync queued, in one
// transaction; and a small JSON API the app's backend uses to manage its
// users' links.
//
// # Routes
//
//	GET    /link?token=…                       connect page: the institutions, each with a Connect button
//	GET    /link/start?token=…&institution=…   stores a one-time consent request, redirects to the institution
//	GET    /link/callback                      the OAuth redirect URI
//	GET    /api/links                          the app user's links (Authorization: Bearer <api token>)
//	POST   /api/links/{id}/reconsent           a URL that renews a link's consent
//	POST   /api/links/{id}/sync                queues a manual sync
//	DELETE /api/links/{id}?purge=true|false    revokes and unlinks
//	GET    /healthz, /readyz                   liveness; readiness (database ping)
//
// # Authentication
//
// The PFM app authenticates its user's requests with link tokens: a
// compact payload (audience, app user, optional institution, link and
// return URL, expiry) and its HMAC-SHA256 under the shared app key, made
// with [SignLinkToken] or by hand as docs/linkserver.md shows. Pages take
// tokens with audience "link" in the token query parameter; the API takes
// tokens with audience "api" as bearer tokens. A link of another app user
// does not exist as far as a token is concerned.
//
// # Secrets
//
// The OAuth state is stored only as its SHA-256, the PKCE verifier sealed
// to its consent request, the refresh token sealed to its link (package
// tokenseal). Logs name links, institutions and a keyed hash of the app
// user, never a token, code, state, verifier or key.
package linkserver
