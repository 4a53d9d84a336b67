package pgtest

import (
	"context"
	"database/sql"
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

// CreateTemplate creates the database name as CreateDatabase does, runs
// prepare on it (with a lib/pq URL for its owner role: migrations, say), and
// turns it into a template for CreateDatabaseFrom: owned by the superuser
// (its objects stay with the role name), marked as a template and closed to
// connections, so that nothing can change it or keep CREATE DATABASE from
// copying it. On error the database and role are dropped again.
func (c *Cluster) CreateTemplate(ctx context.Context, name string, prepare func(ctx context.Context, dsn string) error) (err error) {
	dsn, err := c.CreateDatabase(ctx, name)
	if err != nil {
		return err
	}
	ident := pq.QuoteIdentifier(name)
	defer func() {
		if err != nil {
			ctx := context.WithoutCancel(ctx)
			_, _ = c.super.ExecContext(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE false")
			_ = c.DropDatabase(ctx, name)
		}
	}()
	if err := prepare(ctx, dsn); err != nil {
		return fmt.Errorf("pgtest: prepare template %s: %w", name, err)
	}
	for _, stmt := range []string{
		"ALTER DATABASE " + ident + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
		// Sessions prepare left open (a pool not yet closed) would make
		// CREATE DATABASE ... TEMPLATE fail.
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + pq.QuoteLiteral(name),
		"ALTER DATABASE " + ident + " OWNER TO " + pq.QuoteIdentifier(Superuser),
	} {
		if _, err := c.super.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("pgtest: create template %s: %w", name, err)
		}
	}
	return nil
}

// CreateDatabaseFrom is CreateDatabase for a copy of a template made by
// CreateTemplate: the database name starts with the template's content
// (CREATE DATABASE ... TEMPLATE, a file copy, much faster than preparing it
// again), and its new role owns every object in it, as if it had prepared
// the database itself.
func (c *Cluster) CreateDatabaseFrom(ctx context.Context, name, template string) (dsn string, err error) {
	if !validName.MatchString(name) {
		return "", fmt.Errorf("pgtest: invalid database name %q (want %s)", name, validName)
	}
	if !validName.MatchString(template) {
		return "", fmt.Errorf("pgtest: invalid template name %q", template)
	}
	password := randomHex(16)
	ident := pq.QuoteIdentifier(name)
	if _, err := c.super.ExecContext(ctx, "CREATE ROLE "+ident+" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD "+pq.QuoteLiteral(password)); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = c.DropDatabase(context.WithoutCancel(ctx), name)
		}
	}()
	if _, err := c.super.ExecContext(ctx, "CREATE DATABASE "+ident+" TEMPLATE "+pq.QuoteIdentifier(template)+" OWNER "+ident); err != nil {
		return "", fmt.Errorf("pgtest: create database %s from %s: %w", name, template, err)
	}
	// The copied objects belong to the template's role; REASSIGN OWNED
	// works in the current database (and on shared objects, of which the
	// template's role owns none), so it runs as the superuser in the copy.
	db, err := sql.Open("postgres", c.dsn(Superuser, c.password, name))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "REASSIGN OWNED BY "+pq.QuoteIdentifier(template)+" TO "+ident); err != nil {
		return "", fmt.Errorf("pgtest: create database %s from %s: %w", name, template, err)
	}
	return c.dsn(name, password, name), nil
}
