package api

import (
	"net/http"

	"github.com/eosc-perf/api/src/api/openapi"
)

// docRoutes serves the OpenAPI document (/api-spec.json) and Swagger UI
// (/ and its assets under /swagger-ui/), all embedded in the binary.
func (s *server) docRoutes() []extraRoute {
	var out []extraRoute
	for _, rt := range openapi.Routes(s.opt.BackendRoute) {
		out = append(out, extraRoute{"GET", rt.Path, s.plainHandler(rt.Path, rt.Handler)})
	}
	return out
}

// plainHandler records the route template of a public handler that writes
// its own answers.
func (s *server) plainHandler(template string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r, template)
		h.ServeHTTP(w, r)
	})
}
