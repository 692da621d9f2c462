package store

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pfmsync/pfmsync/internal/pfm"
)

// Postgres SQLSTATE codes the store translates.
const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
	sqlstateCheckViolation      = "23514"
)

// translate maps a pgx error to a pfm sentinel where one applies and wraps it
// with what was being done. A nil err stays nil.
func translate(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, pfm.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case sqlstateUniqueViolation:
			return fmt.Errorf("%s: %w (%s)", what, pfm.ErrConflict, pgErr.ConstraintName)
		case sqlstateForeignKeyViolation:
			return fmt.Errorf("%s: %w (%s)", what, pfm.ErrNotFound, pgErr.ConstraintName)
		case sqlstateCheckViolation:
			return fmt.Errorf("%s: %w: violates %s", what, pfm.ErrInvalid, pgErr.ConstraintName)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
