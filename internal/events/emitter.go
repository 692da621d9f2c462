package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pfmsync/pfmsync/internal/store"
)

// Inserter queues River jobs in a transaction (a River client; an
// insert-only one serves).
type Inserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Emitter writes events to the outbox and queues their webhook deliveries,
// in the caller's transaction. A nil *Emitter emits nothing.
type Emitter struct {
	inserter    Inserter
	deliver     bool
	maxAttempts int
}

// NewEmitter returns an Emitter queueing deliveries with inserter when
// webhooks are configured (deliver); maxAttempts bounds the attempts of
// one delivery (0: DefaultMaxAttempts).
func NewEmitter(inserter Inserter, deliver bool, maxAttempts int) *Emitter {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	return &Emitter{inserter: inserter, deliver: deliver && inserter != nil, maxAttempts: maxAttempts}
}

// Emit records e in tx, which must be the transaction of the change e
// reports: the event, its NOTIFY and its delivery job commit or roll back
// with the change.
func (m *Emitter) Emit(ctx context.Context, tx *store.Store, e Event) error {
	if m == nil {
		return nil
	}
	data, err := json.Marshal(e.Data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", e.Type, err)
	}
	if e.Data == nil {
		data = []byte(`{}`)
	}
	ev, err := tx.InsertEvent(ctx, store.EventInput{AppUserRef: e.AppUserRef, LinkID: e.LinkID, Type: string(e.Type), Payload: data, Deliver: m.deliver})
	if err != nil {
		return err
	}
	if !m.deliver {
		return nil
	}
	if _, err := m.inserter.InsertTx(ctx, tx.Tx(), DeliverArgs{Seq: ev.Seq}, &river.InsertOpts{Queue: Queue, MaxAttempts: m.maxAttempts}); err != nil {
		return fmt.Errorf("queue delivery of %s event %d: %w", e.Type, ev.Seq, err)
	}
	return nil
}
