package api

import (
	"net/http"

	"github.com/eosc-perf/api/src/perf"
	"github.com/rs/zerolog/hlog"
)

// status is the one map from error kind to HTTP status.
var status = map[perf.Kind]int{
	perf.Internal:        http.StatusInternalServerError,
	perf.BadRequest:      http.StatusBadRequest,
	perf.Invalid:         http.StatusUnprocessableEntity,
	perf.Unauthenticated: http.StatusUnauthorized,
	perf.Denied:          http.StatusForbidden,
	perf.Forbidden:       http.StatusForbidden,
	perf.NotFound:        http.StatusNotFound,
	perf.Conflict:        http.StatusConflict,
	perf.Unavailable:     http.StatusServiceUnavailable,
	perf.TooLarge:        http.StatusRequestEntityTooLarge,
}

// writeError writes err in the body format its kind calls for (API.md §2.6
// for authentication, §3.3 otherwise). Internal and Unavailable errors are
// logged here, once, with the request id; clients get a fixed body.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := perf.AsError(err)
	code := status[e.Kind]
	switch e.Kind {
	case perf.Internal, perf.Unavailable:
		if r.Context().Err() != nil {
			// The client went away (and the query was cancelled for it):
			// not a failure of the service. Nobody reads the answer.
			hlog.FromRequest(r).Debug().Err(err).Msg("client went away")
		} else {
			hlog.FromRequest(r).Error().Err(err).Str("kind", e.Kind.String()).Msg("request failed")
		}
		if e.Kind == perf.Unavailable {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeJSON(w, code, envelope(code))
		return
	case perf.Unauthenticated:
		writeJSON(w, code, map[string]any{"error": "Unauthenticated", "error_description": e.Msg})
		return
	case perf.Denied:
		body := map[string]any{"error": "Forbidden", "error_description": e.Msg}
		if req, ok := e.Detail.(perf.Requirement); ok {
			body["error_details"] = "Evaluation of: " + req.Rule
		}
		writeJSON(w, code, body)
		return
	}
	writeJSON(w, code, envelopeOf(code, e))
}

// envelopeOf is the body of API.md §3.3 for e: the typed detail decides
// the shape upstream 1.2.3 gave each kind of failure.
func envelopeOf(code int, e *perf.Error) map[string]any {
	body := envelope(code)
	switch d := e.Detail.(type) {
	case perf.Validation:
		body["errors"] = map[string]any{d.Location: d.Fields}
	case perf.BadBody:
		body["errors"] = map[string]any{d.Location: []string{e.Msg}}
	case perf.SchemaPath:
		body["errors"] = map[string]any{"error": e.Msg, "path": d.Path}
	case perf.Figures:
		errs := map[string]any{"error": e.Msg}
		for k, v := range d {
			errs[k] = v
		}
		body["errors"] = errs
	case perf.SortKeyError:
		body["message"] = map[string]any{"KeyError": e.Msg, "hint": d.Hint}
	case perf.FilterError:
		f := map[string]any{"filter": d.Filter, "reason": []string{e.Msg}, "hint": d.Hint, "example": d.Example}
		if d.Operator {
			body["message"] = f // upstream's quirk: "message", not "errors" (API.md §3.8)
		} else {
			body["errors"] = f
		}
	default:
		if e.Msg != "" {
			body["errors"] = map[string]any{"error": e.Msg}
		}
	}
	return body
}

// retryAfter is the Retry-After of a 503, in seconds.
const retryAfter = "1"

// envelope is the bare error body {"code","status"}.
func envelope(code int) map[string]any {
	return map[string]any{"code": code, "status": http.StatusText(code)}
}

// notFound and methodNotAllowed answer for the router (bare bodies, no
// Allow header, as upstream).
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, envelope(http.StatusNotFound))
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusMethodNotAllowed, envelope(http.StatusMethodNotAllowed))
}

// errNotFoundPage is the bare 404 for a page past the end (API.md §3.4).
var errNotFoundPage = &perf.Error{Kind: perf.NotFound}
