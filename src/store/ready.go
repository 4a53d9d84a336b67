package store

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/lib/pq"
)

// Readiness failures of Ready.
var (
	ErrNotReachable     = errors.New("database not reachable")
	ErrSchemaNotCurrent = errors.New("database schema not current")
)

// Ready tells whether the service can serve: the database answers a real
// query and every migration is applied. A pooled connection that died with
// a restart of PostgreSQL does not fool it: a failed query discards its
// connection and is repeated on a new connection made for the purpose, so
// Ready answers for the database, not for one stale connection. A database
// that drops during the schema check is reported as not reachable, never as
// a schema that is not current.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.probePool(ctx); err != nil {
		if err := s.probeFresh(ctx); err != nil {
			return ErrNotReachable
		}
	}
	ok, err := SchemaCurrent(ctx, s.db.DB)
	if err != nil && Unreachable(err) && ctx.Err() == nil && s.probeFresh(ctx) == nil {
		// Another stale pooled connection: the database itself is up.
		ok, err = SchemaCurrent(ctx, s.db.DB)
	}
	switch {
	case err != nil && (Unreachable(err) || ctx.Err() != nil):
		return ErrNotReachable
	case err != nil || !ok:
		return ErrSchemaNotCurrent
	}
	return nil
}

// probePool runs SELECT 1 on a pooled connection; on failure that
// connection is closed rather than returned to the pool.
func (s *Store) probePool(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return err
	}
	return nil
}

// probeFresh runs SELECT 1 on a new connection outside the pool.
func (s *Store) probeFresh(ctx context.Context) error {
	connector, err := pq.NewConnector(s.dsn)
	if err != nil {
		return err
	}
	c, err := connector.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	q, ok := c.(driver.QueryerContext)
	if !ok {
		return errors.New("store: driver connection cannot query")
	}
	rows, err := q.QueryContext(ctx, "SELECT 1", nil)
	if err != nil {
		return err
	}
	return rows.Close()
}
