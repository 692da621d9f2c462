// Package consumerapi is pfmsync's client for the Banno Consumer API (v0)
// and the OpenID Connect provider of each Banno institution. It is the only
// package that speaks Banno's wire format; it imports no store and no domain
// package.
//
// # Institutions
//
// Every financial institution is its own OIDC issuer with its own client
// credentials. Configure one [Institution] per institution and build one
// [Client] with [New]; the client owns one http.Client with the
// institution's timeouts, request budget (rate limiter), User-Agent and
// OpenTelemetry instrumentation.
//
// # OAuth and OpenID Connect
//
// [Client.AuthorizationRequest] prepares a consent request (PKCE S256, state,
// nonce, claims parameter); [Client.ParseCallback] checks the redirect
// (state, RFC 9207 iss, error); [Client.Exchange] trades the code and
// verifies the ID token, nonce included; [Client.Refresh] uses a refresh
// token and reports a rotated one in [Tokens] so that it is persisted
// before anything else; [Client.Revoke] revokes a token (RFC 7009). Token
// calls are never retried automatically, and invalid_grant is reported as
// [ErrConsentRevoked].
//
// # Consumer API
//
// A [Session] makes calls for one user with a [TokenSource] (a 401 renews
// the access token and retries once): [Session.Profile], [Session.Accounts],
// [Session.Account], [Session.Transactions] (one page; the caller moves
// the offset), [Session.Fetch] and [Session.WaitForTask].
// Idempotent GETs are retried on transient failures with jittered
// exponential backoff, honouring Retry-After up to a cap.
//
// # Values
//
// Money, balances and rates are exact [Decimal] values (never float64);
// instants are [Instant] and calendar dates [Date]; enumerations are string
// types with constants for the documented values and keep unknown values.
// Every record keeps its raw JSON (Raw) for storage. Tokens and the client
// secret are [Secret] values that never print.
//
// Failures are *[APIError] values classified by [ErrorKind]; see
// docs/consumerapi.md for the classification table, the retry policy and
// the assumptions made where Banno's documentation is silent.
package consumerapi
