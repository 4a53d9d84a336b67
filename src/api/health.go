package api

import (
	"context"
	"net/http"
	"time"
)

// extraRoute is a route outside the API operations: health and
// documentation. They are public and never read the Authorization header.
type extraRoute struct {
	method, template string
	h                http.Handler
}

func (s *server) extraRoutes() []extraRoute {
	routes := []extraRoute{
		{"GET", "/healthz", s.plain("/healthz", s.handleHealthz)},
		{"GET", "/readyz", s.plain("/readyz", s.handleReadyz)},
	}
	return append(routes, s.docRoutes()...)
}

// plain wraps a public operational handler.
func (s *server) plain(template string, h handlerFunc) http.Handler {
	return s.endpoint(template, public, h)
}

// handleHealthz handles GET /healthz: the process is alive.
func (s *server) handleHealthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// handleReadyz handles GET /readyz: the database answers and its schema is
// current. 503 otherwise, so a load balancer stops sending traffic.
func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	if s.opt.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.opt.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
