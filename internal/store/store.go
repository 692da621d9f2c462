package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DBTX is what a Store runs its queries on: a *pgxpool.Pool or a pgx.Tx.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Store runs pfmsync's queries. The zero value is not usable; call New.
type Store struct {
	db     DBTX
	pool   *pgxpool.Pool // nil inside a transaction
	tx     pgx.Tx        // nil outside a transaction
	logger *slog.Logger
}

// New returns a Store that runs queries on pool.
func New(pool *pgxpool.Pool, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{db: pool, pool: pool, logger: logger}
}

// Pool returns the pool the Store was made from, or nil inside a transaction.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Tx returns the transaction a Store passed to a Transact callback runs on, so
// that other libraries (River's InsertTx) can join the same unit of work. It
// is nil outside Transact.
func (s *Store) Tx() pgx.Tx { return s.tx }

// InTx reports whether the Store runs inside a transaction.
func (s *Store) InTx() bool { return s.tx != nil }

// Transact runs fn in one transaction: committed if fn returns nil, rolled
// back otherwise (and on panic, which is then re-raised). The Store passed to fn runs every query on
// that transaction. Called on a Store that is already in a transaction, fn
// runs in a savepoint of it.
func (s *Store) Transact(ctx context.Context, fn func(tx *Store) error) (err error) {
	var tx pgx.Tx
	if s.tx != nil {
		tx, err = s.tx.Begin(ctx)
	} else {
		tx, err = s.pool.Begin(ctx)
	}
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	rollback := func() {
		// Rolling back must happen even when ctx was cancelled.
		if rbErr := tx.Rollback(context.WithoutCancel(ctx)); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			s.logger.Warn("roll back transaction", "error", rbErr)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			rollback()
			panic(p)
		}
		if err != nil {
			rollback()
		}
	}()
	if err := fn(&Store{db: tx, tx: tx, logger: s.logger}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}
