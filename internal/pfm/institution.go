package pfm

import "time"

// Institution is a Banno institution pfmsync is registered with as an OAuth
// client. Its client secret is never stored with it: it comes from the
// environment or a secret file.
type Institution struct {
	// ID is the datastore's id.
	ID int64
	// Slug is the short, stable name used in URLs and configuration.
	Slug string
	// DisplayName is shown to people choosing their bank.
	DisplayName string
	// IssuerURL is the institution's OpenID Connect issuer
	// ({base}/a/consumer/api/v0/oidc).
	IssuerURL string
	// APIBaseURL is the Consumer API base ({base}/a/consumer/api/v0).
	APIBaseURL string
	// ClientID is pfmsync's OAuth client id at this institution.
	ClientID string
	// CreatedAt and UpdatedAt are maintained by the datastore.
	CreatedAt time.Time
	UpdatedAt time.Time
}
