package tokenseal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Purposes of the values pfmsync seals. A [Context] may use any other
// non-empty purpose; these name the ones the product uses.
const (
	// PurposeRefreshToken is the purpose of a link's OAuth refresh token; the
	// subject is the link id.
	PurposeRefreshToken = "refresh_token"

	// PurposePKCEVerifier is the purpose of a consent request's PKCE code
	// verifier; the subject is the consent request id.
	PurposePKCEVerifier = "pkce_verifier"
)

// Context binds a sealed value to what it is and to whom it belongs. The same
// Context must be given to [Sealer.Open] as was given to [Sealer.Seal].
//
// Neither field is secret: both may appear in error messages.
type Context struct {
	// Purpose says what the value is, e.g. [PurposeRefreshToken].
	Purpose string
	// Subject says which record the value belongs to, e.g. the link id.
	Subject string
}

// String returns "purpose/subject".
func (c Context) String() string { return c.Purpose + "/" + c.Subject }

// validate reports an empty or oversized field.
func (c Context) validate() error {
	if c.Purpose == "" {
		return errors.New("tokenseal: context has an empty purpose")
	}
	if c.Subject == "" {
		return fmt.Errorf("tokenseal: context for purpose %q has an empty subject", c.Purpose)
	}
	if uint64(len(c.Purpose)) > math.MaxUint32 || uint64(len(c.Subject)) > math.MaxUint32 {
		return errors.New("tokenseal: context purpose or subject is too long")
	}
	return nil
}

// Labels that keep the associated data of the two encryptions apart.
const (
	labelDataKey = "pfmsync/tokenseal data-key\x00"
	labelPayload = "pfmsync/tokenseal payload\x00"
)

// associatedData encodes label, format version, key id, purpose and subject
// unambiguously (every variable-length field is length-prefixed). The caller
// has validated c and keyID.
func associatedData(label string, version byte, keyID string, c Context) []byte {
	b := make([]byte, 0, len(label)+1+1+len(keyID)+4+len(c.Purpose)+4+len(c.Subject))
	b = append(b, label...)
	b = append(b, version, byte(len(keyID)))
	b = append(b, keyID...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Purpose)))
	b = append(b, c.Purpose...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.Subject)))
	b = append(b, c.Subject...)
	return b
}
