// Package linktoken is the life of a link's refresh token: sealed to the
// link id and saved at consent, opened to be revoked at unlink, refreshed
// and rotated under the token row's lock during a sync, and re-sealed under
// the current key after a key rotation.
//
// It is the only package that seals or opens refresh tokens. The SQL stays
// in package store; the cryptography in package tokenseal; the bank in
// package consumerapi.
package linktoken
