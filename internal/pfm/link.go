package pfm

import "time"

// LinkStatus is the lifecycle state of a link.
type LinkStatus string

// Link statuses.
const (
	// LinkActive links are synced on schedule.
	LinkActive LinkStatus = "active"
	// LinkReauthRequired links were refused by the bank (invalid_grant):
	// the user must consent again; nothing is synced until they do.
	LinkReauthRequired LinkStatus = "reauth_required"
	// LinkRevoked links were unlinked by the user or the app.
	LinkRevoked LinkStatus = "revoked"
	// LinkDisabled links were stopped by an operator.
	LinkDisabled LinkStatus = "disabled"
)

// Valid reports whether s is a known status.
func (s LinkStatus) Valid() bool {
	switch s {
	case LinkActive, LinkReauthRequired, LinkRevoked, LinkDisabled:
		return true
	}
	return false
}

// Link is one consent: a PFM app user connected to their Banno user at one
// institution.
type Link struct {
	ID                  string
	InstitutionID       int64
	InstitutionSlug     string
	AppUserRef          string
	BannoUserID         string
	Status              LinkStatus
	GrantedScopes       []string
	MissingScopes       []string
	SyncInterval        time.Duration
	NextSyncAt          *time.Time
	LastAttemptAt       *time.Time
	LastSuccessAt       *time.Time
	LastErrorClass      ErrorClass
	LastError           string
	ConsecutiveFailures int
	ConsentedAt         time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// SealedToken is a link's refresh token as stored: sealed, never plaintext.
type SealedToken struct {
	LinkID string
	// Sealed is the envelope-encrypted refresh token.
	Sealed []byte
	// KeyID names the key-encryption key that sealed it.
	KeyID string
	// Version increments on every write.
	Version   int64
	UpdatedAt time.Time
}

// ConsentRequest is a one-time authorization request, from the start of
// linking to its callback.
type ConsentRequest struct {
	ID string
	// StateHash is SHA-256 of the OAuth state; the state is never stored.
	StateHash []byte
	Nonce     string
	// SealedVerifier is the PKCE code verifier, sealed.
	SealedVerifier []byte
	// BrowserHash is SHA-256 of the value the starting browser holds in a
	// cookie; the callback must come from the same browser.
	BrowserHash   []byte
	InstitutionID int64
	AppUserRef    string
	// LinkID is set when the request re-consents an existing link.
	LinkID    string
	ReturnURL string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}
