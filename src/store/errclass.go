package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/eosc-perf/api/src/perf"
	"github.com/lib/pq"
)

// classify returns the perf error for a database error err; wrapped is err
// with the operation's context, kept as the cause for the log.
func classify(err, wrapped error) *perf.Error {
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		return classifySQLState(pqe, wrapped)
	}
	if Unreachable(err) {
		return &perf.Error{Kind: perf.Unavailable, Err: wrapped}
	}
	return &perf.Error{Kind: perf.Internal, Err: wrapped}
}

// classifySQLState maps a PostgreSQL error by its SQLSTATE, class first
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
func classifySQLState(pqe *pq.Error, wrapped error) *perf.Error {
	code := string(pqe.Code)
	switch code {
	case "22P05", "22021": // untranslatable character, character not in repertoire
		return &perf.Error{Kind: perf.Invalid, Err: wrapped,
			Msg: "Unsupported character: text and JSON documents cannot contain \\u0000"}
	case "22003": // numeric value out of range
		return &perf.Error{Kind: perf.Invalid, Err: wrapped, Msg: "Number out of range"}
	case "22P02": // invalid text representation, e.g. a lone surrogate "\ud800" in a JSON document
		return &perf.Error{Kind: perf.Invalid, Err: wrapped,
			Msg: "Unsupported value: " + pqe.Message}
	case "57014": // query_canceled: by our statement_timeout, or because the client went away
		return &perf.Error{Kind: perf.Unavailable, Err: wrapped}
	case "57P01", "57P02", "57P03", "57P04", "57P05": // admin/crash shutdown, cannot connect now, ...
		return &perf.Error{Kind: perf.Unavailable, Err: wrapped}
	}
	switch code[:2] {
	case "08", // connection exception
		"53", // insufficient resources (too many connections, disk full, out of memory)
		"58": // system error (I/O error)
		return &perf.Error{Kind: perf.Unavailable, Err: wrapped}
	case "22": // data exception: the client's data cannot be stored as sent
		return &perf.Error{Kind: perf.Invalid, Err: wrapped, Msg: "Invalid value: " + pqe.Message}
	case "23": // integrity constraint violation not translated by the caller
		return &perf.Error{Kind: perf.Conflict, Err: wrapped, Msg: "Integrity error"}
	case "54": // program limit exceeded (too many columns, statement too complex)
		return &perf.Error{Kind: perf.Invalid, Err: wrapped, Msg: "The request exceeds a limit of the database"}
	case "40": // serialization failure, deadlock: retried by the caller; left over, try again later
		return &perf.Error{Kind: perf.Unavailable, Err: wrapped}
	}
	return &perf.Error{Kind: perf.Internal, Err: wrapped}
}

// Unreachable reports whether err means that the database could not be
// reached or the connection was lost (as opposed to an error in a query):
// a refused, reset or timed-out connection, an unexpected end of stream, a
// connection the driver gave up, a closed pool, a cancelled context or a
// PostgreSQL shutdown.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		switch pqe.Code.Class() {
		case "08", "53", "57":
			return pqe.Code != "57014" || !strings.Contains(pqe.Message, "statement timeout")
		}
		return false
	}
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOENT), // Unix socket gone while PostgreSQL restarts
		errors.As(err, &oe), errors.As(err, &ne):
		return true
	}
	// database/sql reports a closed pool with an unexported error.
	return strings.Contains(err.Error(), "sql: database is closed")
}
