// Package authserver is the OpenID Provider and OAuth 2.0 authorization
// server of the sandbox Banno institution.
//
// It serves, under the issuer's path, the routes a Banno institution
// publishes (see banno-consumer-api.md §2):
//
//	GET       {issuer}/.well-known/openid-configuration   discovery
//	GET       {issuer}/jwks                               ES256 public key
//	GET       {issuer}/auth                               login and consent page
//	POST      {issuer}/auth                               page submission and automation path
//	POST      {issuer}/token                              authorization_code and refresh_token grants
//	GET, POST {issuer}/me                                 userinfo
//	POST      {issuer}/token/revocation                   RFC 7009 revocation
//
// A production client built on golang.org/x/oauth2 and go-oidc works against
// it unchanged. The provider is deliberately strict, because it exists to
// catch client mistakes: PKCE S256 is mandatory, redirect URIs match exactly,
// parameters may not be repeated, authorization codes work once and a replayed
// code revokes what it produced, refresh tokens rotate on every use and
// presenting a retired refresh token revokes the whole grant (its token family).
//
// # Automation path
//
// Tests and demos that run without a browser obtain a code by posting the
// consent form directly: POST {issuer}/auth with the original authorization
// parameters (response_type, client_id, redirect_uri, scope, state, nonce,
// code_challenge, code_challenge_method, claims, prompt) plus username,
// password, action ("allow" or "deny") and one granted_scope field per scope
// the user grants. Scopes that were not requested are ignored, openid is always
// granted, and a request without any granted_scope field grants openid alone,
// exactly as an HTML form with every box unticked would. The answer is a
// 303 See Other to the redirect URI carrying code, state and iss (or
// error=access_denied).
//
// The HTML page uses no JavaScript. For browser automation its elements have
// stable ids: inputs #username and #password, one checkbox per requested scope
// (name granted_scope, value the scope; openid is shown ticked and disabled),
// and the submit buttons #allow and #deny (name action). A wrong password
// re-renders the page with status 401 and an element #error.
//
// # Token families
//
// Every successful code exchange starts a token family (its id is the sid
// claim of the tokens). A family holds at most one current refresh token and
// any number of access tokens. Revoking a family (reuse detection, code replay,
// revocation of its refresh token, Disconnect) makes every token of it stop
// working at once, access tokens included.
//
// A client must never refresh one grant concurrently: with rotation and reuse
// detection on (the defaults) two simultaneous refreshes with the same refresh
// token leave exactly one winner, and the loser's request is indistinguishable
// from a replay by an attacker, so the whole family is revoked and the user has
// to consent again. For the same reason the token request must never be
// retried automatically after a lost response. Clients built on x/oauth2
// should set Endpoint.AuthStyle explicitly: with auto-detection a failed token
// request is sent a second time with the other client authentication method,
// which presents the same refresh token twice.
//
// # State
//
// All state lives in memory behind one mutex. Codes and refresh tokens are
// indexed by the SHA-256 of their value, never by the value itself; access
// tokens are self-contained ES256 JWTs and only their revocation is recorded.
// Expired entries are removed lazily. A restart forgets every grant and
// generates a new signing key.
package authserver
