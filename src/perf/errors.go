package perf

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the client. The HTTP layer owns the one map
// from Kind to status code (api/errors.go).
type Kind int

// The error kinds. Internal is the zero value so that an unclassified error
// is never shown to a client by accident.
const (
	Internal        Kind = iota // 500, fixed message, details only in the log
	BadRequest                  // 400 (malformed JSON body)
	Invalid                     // 422 (validation, business rules)
	Unauthenticated             // 401 in the authentication body format (API.md §2.6)
	Denied                      // 403 in the authentication body format (access level not met)
	Forbidden                   // 403 in the normal envelope (owner check inside a handler)
	NotFound                    // 404
	Conflict                    // 409
	Unavailable                 // 503 (database down, dependency unreachable)
	TooLarge                    // 413 (request body over the limit)
)

func (k Kind) String() string {
	switch k {
	case BadRequest:
		return "bad request"
	case Invalid:
		return "invalid"
	case Unauthenticated:
		return "unauthenticated"
	case Denied:
		return "denied"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Unavailable:
		return "unavailable"
	case TooLarge:
		return "too large"
	default:
		return "internal"
	}
}

// Error is an error a client may see: its kind (which the HTTP layer maps
// to a status), the client-visible message and the cause, for logs only
// (never shown). Detail, when set, types what the client is told beyond the
// message; package api renders each detail in the body shape of upstream
// 1.2.3 (API.md §2.6, §3.3), so nothing here knows the wire format.
type Error struct {
	Kind   Kind
	Msg    string // the message; empty: none (a bare body)
	Detail Detail // nil: the message alone
	Err    error
}

// Detail is the typed detail of an Error: one of the types below.
type Detail interface{ isDetail() }

// Validation is the validation failures of request fields, by location
// ("query", "json") and field name; a field's value is its list of
// messages, or such lists keyed by item index.
type Validation struct {
	Location string
	Fields   map[string]any
}

// BadBody says that the body at Location as a whole is unusable (malformed
// JSON); Msg is the reason.
type BadBody struct{ Location string }

// SchemaPath is where in a document a JSON Schema validation failed, as
// upstream rendered it (a Python deque such as "deque(['time'])").
type SchemaPath struct{ Path string }

// SortKeyError is a bad sort_by key; Msg is the reason, Hint the advice.
type SortKeyError struct{ Hint string }

// FilterError is a bad `filters` value (API.md §3.8); Msg is the reason.
// Operator marks the unknown-operator case, which upstream reported in
// another member of the body than the others.
type FilterError struct {
	Filter, Hint, Example string
	Operator              bool
}

// Requirement is the access rule a Denied caller does not meet
// ("is_admin").
type Requirement struct{ Rule string }

// Figures are the numbers behind a refusal (a limit, what was asked), sent
// next to the message: {"error": Msg, "max_lines": 10000}.
type Figures map[string]any

func (Figures) isDetail()      {}
func (Validation) isDetail()   {}
func (BadBody) isDetail()      {}
func (SchemaPath) isDetail()   {}
func (SortKeyError) isDetail() {}
func (FilterError) isDetail()  {}
func (Requirement) isDetail()  {}

func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind whose client-visible text is the
// formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns an Internal error carrying cause for the log.
func Wrap(cause error, format string, args ...any) error {
	return &Error{Kind: Internal, Err: fmt.Errorf(format+": %w", append(args, cause)...)}
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// AsError returns the first *Error in err's chain, or an Internal error
// wrapping err.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Err: err}
}

// FieldErrors returns the Invalid error of validation failures at location
// (API.md §3.1, §3.2).
func FieldErrors(location string, fields map[string]any) *Error {
	return &Error{Kind: Invalid, Detail: Validation{Location: location, Fields: fields}}
}
