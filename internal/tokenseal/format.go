package tokenseal

import (
	"encoding/binary"
	"fmt"
)

// Sealed is a sealed value in the format described in the package
// documentation. It is safe to store and to log by key id ([KeyID]); it is
// opaque otherwise.
type Sealed []byte

// Layout constants of format version 1.
const (
	formatV1 = 0x01

	// dataKeySize is the size of a data key and of a key-ring key: AES-256.
	dataKeySize = 32
	nonceSize   = 12
	tagSize     = 16

	// maxKeyIDLen bounds a key id; it fits the one-byte length prefix.
	maxKeyIDLen = 64
	// maxWrappedLen bounds a wrapped data key; it fits the two-byte prefix.
	maxWrappedLen = 1<<16 - 1
)

// envelope is a parsed sealed value. Its slices alias the input.
type envelope struct {
	version byte
	keyID   string
	wrapped []byte
	// payload is the payload nonce followed by the ciphertext and tag.
	payload []byte
}

// parse splits s into its fields, checking every length; it never opens
// anything.
func parse(s Sealed) (envelope, error) {
	var e envelope
	if len(s) == 0 {
		return e, fmt.Errorf("%w: empty", ErrMalformed)
	}
	e.version = s[0]
	if e.version != formatV1 {
		return e, fmt.Errorf("%w: unknown format version %d", ErrMalformed, e.version)
	}
	rest := s[1:]
	if len(rest) < 1 {
		return e, fmt.Errorf("%w: truncated before the key id", ErrMalformed)
	}
	k := int(rest[0])
	rest = rest[1:]
	if k == 0 || k > maxKeyIDLen {
		return e, fmt.Errorf("%w: key id length %d out of range 1..%d", ErrMalformed, k, maxKeyIDLen)
	}
	if len(rest) < k {
		return e, fmt.Errorf("%w: truncated in the key id", ErrMalformed)
	}
	id := string(rest[:k])
	if !ValidKeyID(id) {
		return e, fmt.Errorf("%w: key id has characters outside [A-Za-z0-9._-]", ErrMalformed)
	}
	e.keyID = id
	rest = rest[k:]
	if len(rest) < 2 {
		return e, fmt.Errorf("%w: truncated before the wrapped data key", ErrMalformed)
	}
	w := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if w == 0 {
		return e, fmt.Errorf("%w: empty wrapped data key", ErrMalformed)
	}
	if len(rest) < w {
		return e, fmt.Errorf("%w: truncated in the wrapped data key", ErrMalformed)
	}
	e.wrapped = rest[:w:w]
	rest = rest[w:]
	if len(rest) < nonceSize+tagSize {
		return e, fmt.Errorf("%w: truncated in the payload", ErrMalformed)
	}
	e.payload = rest
	return e, nil
}

// KeyID returns the id of the key under which s was sealed, without opening
// it. It checks the layout of the whole value and returns an error matching
// [ErrMalformed] if it is not well formed.
func KeyID(s Sealed) (string, error) {
	e, err := parse(s)
	if err != nil {
		return "", err
	}
	return e.keyID, nil
}

// ValidKeyID reports whether id is a well-formed key id: 1 to 64 characters
// from A-Z, a-z, 0-9, '.', '_' and '-'.
func ValidKeyID(id string) bool {
	if len(id) == 0 || len(id) > maxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
