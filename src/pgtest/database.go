package pgtest

import (
	"context"
	"fmt"
	"regexp"

	"github.com/lib/pq"
)

// validName is what CreateDatabase accepts: a lower-case SQL identifier that
// needs no quoting and fits PostgreSQL's 63-byte limit. The same name is used
// for the database and its owner role.
var validName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase creates the database name, owned by a new login role of
// the same name that is not a superuser and may not create databases or
// roles, so that what runs in it (the migrations above all) is proven to
// work for a plain database owner. It returns a lib/pq URL that connects as
// that role over TCP with its random password.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (dsn string, err error) {
	if !validName.MatchString(name) {
		return "", fmt.Errorf("pgtest: invalid database name %q (want %s)", name, validName)
	}
	password := randomHex(16)
	ident := pq.QuoteIdentifier(name)
	stmts := []string{
		// A password cannot be a bind parameter in utility statements.
		"CREATE ROLE " + ident + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD " + pq.QuoteLiteral(password),
		"CREATE DATABASE " + ident + " OWNER " + ident,
	}
	for i, stmt := range stmts {
		if _, err := c.super.ExecContext(ctx, stmt); err != nil {
			if i > 0 {
				_, _ = c.super.ExecContext(ctx, "DROP ROLE IF EXISTS "+ident)
			}
			return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
		}
	}
	return c.dsn(name, password, name), nil
}

// DropDatabase drops the database name and its role, ending any sessions
// still connected to it. Dropping what does not exist is not an error.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("pgtest: invalid database name %q", name)
	}
	ident := pq.QuoteIdentifier(name)
	for _, stmt := range []string{
		"DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)",
		"DROP ROLE IF EXISTS " + ident,
	} {
		if _, err := c.super.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("pgtest: drop database %s: %w", name, err)
		}
	}
	return nil
}
