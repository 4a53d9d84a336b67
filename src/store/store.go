// Package store is the only package that writes SQL. Each resource has one
// file of methods; every method takes a context first and returns perf
// errors: PostgreSQL errors are translated to perf kinds at this boundary.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Store holds the connection pool.
type Store struct {
	db  *sqlx.DB
	cat catalogCache

	stmtMu sync.Mutex
	stmts  map[string]*sqlx.Stmt // see prepared
}

// PoolOptions bound the connection pool.
type PoolOptions struct {
	MaxOpen     int
	MaxIdle     int
	MaxLifetime time.Duration
}

// Open opens a pool for the lib/pq connection string dsn. It does not
// connect; see WaitReady.
func Open(dsn string, opt PoolOptions) (*Store, error) {
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if opt.MaxOpen > 0 {
		db.SetMaxOpenConns(opt.MaxOpen)
	}
	if opt.MaxIdle > 0 {
		db.SetMaxIdleConns(opt.MaxIdle)
	}
	if opt.MaxLifetime > 0 {
		db.SetConnMaxLifetime(opt.MaxLifetime)
	}
	return &Store{db: db}, nil
}

// New wraps an existing pool.
func New(db *sqlx.DB) *Store { return &Store{db: db} }

// DB returns the underlying pool (for migrations and metrics).
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// WaitReady pings the database until it answers, ctx ends or timeout
// passes, backing off between attempts. PostgreSQL may come up after us
// (containers, systemd ordering); onRetry is told about each failure.
func (s *Store) WaitReady(ctx context.Context, timeout time.Duration, onRetry func(attempt int, err error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.db.PingContext(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		if onRetry != nil {
			onRetry(attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: database not reachable after %d attempts: %w", attempt, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// WithTx runs fn in a transaction, committing when fn returns nil.
func (s *Store) WithTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return mapError(err, "begin")
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapError(err, "commit")
	}
	return nil
}

// PostgreSQL error codes translated at this boundary.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
)

// uniqueViolation reports whether err is a unique-constraint violation.
func uniqueViolation(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == codeUniqueViolation
}

// mapError wraps a database error as an internal error with context, or as
// Unavailable when the database cannot be reached. Errors that already are
// perf errors pass through. Callers translate expected violations (unique,
// foreign key) into their resource-specific messages before calling this.
func mapError(err error, op string) error {
	if err == nil {
		return nil
	}
	var pe *perf.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &perf.Error{Kind: perf.Unavailable, Err: fmt.Errorf("store: %s: %w", op, err)}
	}
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		switch pqe.Code {
		case "22P05", "22021": // untranslatable character, character not in repertoire
			return &perf.Error{Kind: perf.Invalid, Err: err,
				Msg: "Unsupported character: text and JSON documents cannot contain \\u0000"}
		case "22003": // numeric value out of range
			return &perf.Error{Kind: perf.Invalid, Err: err, Msg: "Number out of range"}
		}
		return perf.Wrap(err, "store: %s", op)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return perf.Wrap(err, "store: %s", op)
	}
	// Anything else is a connection-level failure (refused, reset, closed pool).
	return &perf.Error{Kind: perf.Unavailable, Err: fmt.Errorf("store: %s: %w", op, err)}
}

// prepared returns the prepared statement of query, preparing it on first
// use (issue 11: the fixed hot queries — a result by id, the upload's two
// statements — are parsed and planned once per connection, not per call).
// database/sql prepares it again on each pooled connection as needed.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, mapError(err, "prepare")
	}
	if s.stmts == nil {
		s.stmts = map[string]*sqlx.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}
