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

// Error is an error a client may see. How each field reaches the wire:
//
//   - Msg: the text of errors.error in the normal envelope (API.md §3.3), or
//     error_description for Unauthenticated/Denied (API.md §2.6). Empty means
//     a bare {"code","status"} body.
//   - Extra: further keys next to "error" inside errors (e.g. "path" of a
//     schema validation failure).
//   - Errors: when set, the whole errors object (validation failures keyed by
//     location, or the filter split error); Msg and Extra are then unused.
//   - Message: when set, sent as the "message" member (an object for the
//     sort-key and filter-operator errors).
//   - Details: error_details of a Denied body ("Evaluation of: is_admin").
//   - Err: the cause, for logs only; never shown.
type Error struct {
	Kind    Kind
	Msg     string
	Extra   map[string]any
	Errors  map[string]any
	Message any
	Details string
	Err     error
}

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

// FieldErrors builds the validation body {location: {field: [messages]}}
// used by query and body validation (API.md §3.1, §3.2).
func FieldErrors(location string, fields map[string]any) *Error {
	return &Error{Kind: Invalid, Errors: map[string]any{location: fields}}
}
