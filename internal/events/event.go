package events

import (
	"encoding/json"
	"time"

	"github.com/pfmsync/pfmsync/internal/store"
)

// Type names an event.
type Type string

// The events pfmsync emits.
const (
	LinkCreated         Type = "link.created"
	LinkStatusChanged   Type = "link.status_changed"
	SyncCompleted       Type = "sync.completed"
	SyncFailed          Type = "sync.failed"
	AccountsChanged     Type = "accounts.changed"
	TransactionsRemoved Type = "transactions.removed"
)

// Event is a new event: who it concerns and its data (marshalled to the
// body's "data" object).
type Event struct {
	Type       Type
	AppUserRef string
	LinkID     string
	Data       any
}

// LinkCreatedData is the data of link.created.
type LinkCreatedData struct {
	Institution   string   `json:"institution"`
	Status        string   `json:"status"`
	GrantedScopes []string `json:"granted_scopes"`
	MissingScopes []string `json:"missing_scopes"`
}

// LinkStatusChangedData is the data of link.status_changed.
type LinkStatusChangedData struct {
	OldStatus  string `json:"old_status"`
	NewStatus  string `json:"new_status"`
	ErrorClass string `json:"error_class,omitempty"`
}

// SyncCompletedData is the data of sync.completed.
type SyncCompletedData struct {
	SyncRunID     int64    `json:"sync_run_id"`
	Trigger       string   `json:"trigger"`
	Outcome       string   `json:"outcome"`
	Accounts      int      `json:"accounts"`
	Added         int      `json:"added"`
	Modified      int      `json:"modified"`
	Removed       int      `json:"removed"`
	MissingScopes []string `json:"missing_scopes,omitempty"`
}

// SyncFailedData is the data of sync.failed.
type SyncFailedData struct {
	SyncRunID  int64  `json:"sync_run_id,omitempty"`
	Trigger    string `json:"trigger"`
	ErrorClass string `json:"error_class"`
	// WillRetry says whether the sync is retried on its own.
	WillRetry bool `json:"will_retry"`
}

// AccountsChangedData is the data of accounts.changed.
type AccountsChangedData struct {
	// Added are the ids (reporting account_id) of accounts new to the link.
	Added []string `json:"added"`
	// Inactivated are the ids of accounts the bank closed or hid.
	Inactivated []string `json:"inactivated"`
	Accounts    int      `json:"accounts"`
}

// TransactionsRemovedData is the data of transactions.removed.
type TransactionsRemovedData struct {
	AccountID string `json:"account_id"`
	Removed   int    `json:"removed"`
}

// Body is the JSON body of a webhook (and of events_since's rows, and of a
// NOTIFY payload): the same event in every channel.
type Body struct {
	// ID is the idempotency id: the same on every delivery attempt.
	ID         string          `json:"id"`
	Seq        int64           `json:"seq"`
	Type       Type            `json:"type"`
	CreatedAt  time.Time       `json:"created_at"`
	AppUserRef string          `json:"app_user_ref"`
	LinkID     string          `json:"link_id,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// BodyOf is the webhook body of a stored event.
func BodyOf(e store.Event) Body {
	return Body{ID: e.ID, Seq: e.Seq, Type: Type(e.Type), CreatedAt: e.CreatedAt.UTC(), AppUserRef: e.AppUserRef, LinkID: e.LinkID, Data: e.Payload}
}
