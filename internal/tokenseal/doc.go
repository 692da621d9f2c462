// Package tokenseal encrypts pfmsync's secrets at rest: each link's OAuth
// refresh token and, for the few minutes a consent takes, each consent
// request's PKCE code verifier.
//
// # Envelope encryption
//
// [Sealer.Seal] draws a fresh random 256-bit data key for every value,
// encrypts the value with it (AES-256-GCM, random 96-bit nonce), and has a
// [KeyWrapper] wrap the data key under a key-encryption key. The local
// wrapper is a [KeyRing]: a set of named 256-bit keys, one of which is
// current. The current key seals; every key in the ring opens. A cloud KMS can
// stand in for the ring by implementing [KeyWrapper].
//
// # Context
//
// Every value is sealed for a [Context]: a purpose ("refresh_token",
// "pkce_verifier") and a subject (the link id, the consent request id). Both
// the data-key wrapping and the payload encryption authenticate the purpose,
// the subject, the key id and the format version as associated data, so a
// sealed value copied to another row, opened for another purpose, or altered
// in any byte fails to open with an error matching [ErrOpen],
// [ErrUnknownKey] or [ErrMalformed].
//
// # Format (version 1)
//
// A [Sealed] value is a self-describing byte string:
//
//	offset      size  field
//	0           1     format version, 0x01
//	1           1     key id length k, 1..64
//	2           k     key id, ASCII [A-Za-z0-9._-]
//	2+k         2     wrapped data key length w, big-endian, 1..65535
//	4+k         w     wrapped data key (for a KeyRing: 12-byte nonce,
//	                  32-byte encrypted data key, 16-byte GCM tag; w = 60)
//	4+k+w       12    payload nonce
//	16+k+w      n+16  payload ciphertext and 16-byte GCM tag (n = plaintext length)
//
// A version-1 value sealed by a KeyRing is therefore 92 + k + n bytes.
//
// The associated data of the two encryptions is
//
//	label || 0x01 || k (1 byte) || key id
//	      || len(purpose) (4 bytes, big-endian) || purpose
//	      || len(subject) (4 bytes, big-endian) || subject
//
// where label is "pfmsync/tokenseal data-key\x00" for the data key and
// "pfmsync/tokenseal payload\x00" for the payload.
//
// [KeyID] reads which key sealed a value without opening it, for the re-seal
// command and for metrics; [Sealer.NeedsReseal] and [Sealer.Reseal] move
// values to the current key after a rotation.
//
// # Configuration
//
// [ParseKeyRing] reads the PFMSYNC_TOKEN_KEYS form, "v2:<base64>,v1:<base64>"
// (the first key is current), and [LoadKeyRingFile] reads the same entries
// from the file named by PFMSYNC_TOKEN_KEYS_FILE, one or more per line, with
// "#" comments. [LoadKeyRing] picks between the two. [GenerateKey] makes a new
// key.
//
// # Secrets
//
// No error, panic or String method of this package contains a plaintext, a
// data key or key material; errors name key ids, which are not secret. The
// data key is zeroed after use (best effort: the expanded AES key schedule
// held by crypto/aes cannot be reached). Purposes, subjects and key ids are
// not secret and may appear in errors.
//
// See docs/tokenseal.md for the threat model, key generation and rotation.
package tokenseal
