// Package store is the only package that writes SQL. Each resource has one
// file of methods; every method takes a context first and returns perf
// errors: PostgreSQL errors are translated to perf kinds at this boundary.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Store holds the connection pool.
type Store struct {
	db  *sqlx.DB
	dsn string // for the fresh connection of Ready
	// maxPageBytes bounds the documents of one page of results (0: none).
	maxPageBytes int64
	cat          catalogCache
	// leafKick wakes RunLeafIndexer after uploads (leaf_drain.go).
	leafKick chan struct{}

	stmtMu sync.Mutex
	stmts  map[string]*sqlx.Stmt // see prepared
}

// PoolOptions bound the connection pool.
type PoolOptions struct {
	MaxOpen     int
	MaxIdle     int
	MaxLifetime time.Duration
	// MaxPageBytes bounds the result documents one page may hold in
	// memory (MAX_PAGE_BYTES; 0: no bound).
	MaxPageBytes int64
}

// Open opens a pool for the lib/pq connection string dsn. It does not
// connect; see WaitReady.
func Open(dsn string, opt PoolOptions) (*Store, error) {
	conn, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	conn.Dialer(bufferedDialer{})
	db := sqlx.NewDb(sql.OpenDB(conn), "postgres")
	if opt.MaxOpen > 0 {
		db.SetMaxOpenConns(opt.MaxOpen)
	}
	if opt.MaxIdle > 0 {
		db.SetMaxIdleConns(opt.MaxIdle)
	}
	if opt.MaxLifetime > 0 {
		db.SetConnMaxLifetime(opt.MaxLifetime)
	}
	return &Store{db: db, dsn: dsn, maxPageBytes: opt.MaxPageBytes, leafKick: make(chan struct{}, 1)}, nil
}

// DB returns the underlying pool (for migrations and metrics).
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// WaitReady pings the database until it answers, backing off between
// attempts, for as long as timeout allows (0: exactly one attempt) or ctx
// lasts. PostgreSQL may come up after us (containers, systemd ordering), so
// only failures that waiting can heal are retried: the server refusing
// connections or not listening yet, starting up, shutting down or
// restarting (57P03, 57P01, 57P02), a connection cut or timed out. Any
// other answer of the server (the database does not exist, wrong password,
// no privilege to connect, …) ends the wait at once with that message.
// onRetry is told about each failure that is retried.
func (s *Store) WaitReady(ctx context.Context, timeout time.Duration, onRetry func(attempt int, err error)) error {
	deadline := time.Now().Add(timeout)
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.db.PingContext(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		if !healable(err) {
			return fmt.Errorf("store: database: %w", err)
		}
		if ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("store: database not reachable after %d attempts: %w", attempt, err)
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

// healable reports whether a failed connection attempt may succeed later.
func healable(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P03", // cannot_connect_now: starting up, shutting down, in recovery
			"57P01", "57P02": // admin_shutdown, crash_shutdown (connection cut while stopping)
			return true
		}
		return false // the server answered: missing database, authentication, privilege, …
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT), // TCP port or socket not there yet
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}

// txAttempts bounds how often WithTx runs a transaction that PostgreSQL
// aborted as a deadlock victim or a serialization failure.
const txAttempts = 4

// WithTx runs fn in a transaction, committing when fn returns nil. A
// transaction that PostgreSQL aborts with a serialization failure (40001)
// or as the victim of a deadlock (40P01) did nothing and is run again, up
// to txAttempts times in all, after a short random pause; fn must therefore
// only set its results, not accumulate them.
func (s *Store) WithTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = s.tryTx(ctx, fn)
		if attempt == txAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * time.Duration(5+rand.IntN(20)) * time.Millisecond):
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
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

// retryable reports whether err aborted a transaction that may succeed
// when run again: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// PostgreSQL error codes translated at this boundary.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// uniqueViolation reports whether err is a unique-constraint violation.
func uniqueViolation(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == codeUniqueViolation
}

// mapError translates a database error into a perf error by its cause:
// perf errors pass through; the database or the network being unavailable
// (SQLSTATE classes 08, 53, 57P01–57P03, a refused or dropped connection, a
// closed pool, a cancelled or timed-out query) is Unavailable; bad data from
// the client (classes 22, 23, 54) is a 4xx; anything else, including scan
// and programming errors, is Internal. Callers translate expected
// violations (unique, foreign key) into their resource-specific messages
// before calling this.
func mapError(err error, op string) error {
	if err == nil {
		return nil
	}
	var pe *perf.Error
	if errors.As(err, &pe) {
		return err
	}
	return classify(err, fmt.Errorf("store: %s: %w", op, err))
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
