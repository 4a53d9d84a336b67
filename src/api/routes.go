package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
)

// uuidRE matches a UUID path segment: the dashed form in any letter case.
// Anything else does not match the route and is a bare 404 (API.md §1).
const uuidRE = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`

// routeTable is the complete list of operations, one line each, in the
// order of API.md §5.8. The path template is the OpenAPI one; {x_id}
// variables are matched as UUIDs.
func (s *server) routeTable() []route {
	return []route{
		// Benchmarks (API.md §5.1).
		{"GET", "/benchmarks", public, s.handleBenchmarkList},
		{"POST", "/benchmarks", user | catalogWrite, s.handleBenchmarkCreate},
		{"GET", "/benchmarks:search", public, s.handleBenchmarkSearch},
		{"GET", "/benchmarks/{benchmark_id}", public, s.handleBenchmarkGet},
		{"PUT", "/benchmarks/{benchmark_id}", admin, s.handleBenchmarkUpdate},
		{"DELETE", "/benchmarks/{benchmark_id}", admin, s.handleBenchmarkDelete},
		{"POST", "/benchmarks/{benchmark_id}:approve", admin, s.handleBenchmarkApprove},
		{"POST", "/benchmarks/{benchmark_id}:reject", admin, s.handleBenchmarkReject},

		// Reports (API.md §5.6).
		{"GET", "/reports/submits", admin, s.handleSubmitList},
		{"GET", "/reports/claims", admin, s.handleClaimList},
		{"GET", "/reports/claims/{report_id}", admin, s.handleClaimGet},
		{"POST", "/reports/claims/{report_id}:approve", admin, s.handleClaimApprove},
		{"POST", "/reports/claims/{report_id}:reject", admin, s.handleClaimReject},

		// Results (API.md §5.5).
		{"GET", "/results", public, s.handleResultList},
		{"POST", "/results", user | resultsWrite, s.handleResultCreate},
		{"GET", "/results:search", public, s.handleResultSearch},
		{"GET", "/results/{result_id}", public, s.handleResultGet},
		{"DELETE", "/results/{result_id}", admin, s.handleResultDelete},
		{"POST", "/results/{result_id}:claim", user | resultsWrite, s.handleResultClaim},
		{"PUT", "/results/{result_id}/tags", user | resultsWrite, s.handleResultTags},
		{"GET", "/results/{result_id}/claims", user | readScope, s.handleResultClaims},
		{"GET", "/results/{result_id}/uploader", admin, s.handleResultUploader},

		// Sites (API.md §5.2).
		{"GET", "/sites", public, s.handleSiteList},
		{"POST", "/sites", user | catalogWrite, s.handleSiteCreate},
		{"GET", "/sites:search", public, s.handleSiteSearch},
		{"GET", "/sites/{site_id}", public, s.handleSiteGet},
		{"PUT", "/sites/{site_id}", admin, s.handleSiteUpdate},
		{"DELETE", "/sites/{site_id}", admin, s.handleSiteDelete},
		{"POST", "/sites/{site_id}:approve", admin, s.handleSiteApprove},
		{"POST", "/sites/{site_id}:reject", admin, s.handleSiteReject},
		{"GET", "/sites/{site_id}/flavors", public, s.handleFlavorList},
		{"POST", "/sites/{site_id}/flavors", user | catalogWrite, s.handleFlavorCreate},
		{"GET", "/sites/{site_id}/flavors:search", public, s.handleFlavorSearch},

		// Flavors (API.md §5.3).
		{"GET", "/flavors/{flavor_id}", public, s.handleFlavorGet},
		{"PUT", "/flavors/{flavor_id}", admin, s.handleFlavorUpdate},
		{"DELETE", "/flavors/{flavor_id}", admin, s.handleFlavorDelete},
		{"POST", "/flavors/{flavor_id}:approve", admin, s.handleFlavorApprove},
		{"POST", "/flavors/{flavor_id}:reject", admin, s.handleFlavorReject},
		{"GET", "/flavors/{flavor_id}/site", public, s.handleFlavorSite},

		// Tags (API.md §5.4).
		{"GET", "/tags", public, s.handleTagList},
		{"POST", "/tags", user | catalogWrite, s.handleTagCreate},
		{"GET", "/tags:search", public, s.handleTagSearch},
		{"GET", "/tags/{tag_id}", public, s.handleTagGet},
		{"PUT", "/tags/{tag_id}", admin, s.handleTagUpdate},
		{"DELETE", "/tags/{tag_id}", admin, s.handleTagDelete},

		// Users (API.md §5.7).
		{"GET", "/users", admin, s.handleUserList},
		{"POST", "/users:register", token, s.handleUserRegister},
		{"POST", "/users:remove", admin, s.handleUserRemove},
		{"GET", "/users:search", admin, s.handleUserSearch},
		{"GET", "/users/self", token | readScope, s.handleUserSelf},
		{"POST", "/users/self:update", user, s.handleUserUpdate},
		{"GET", "/users/self:try_admin", admin, s.handleUserTryAdmin},
		{"GET", "/users/self/results", user | readScope, s.handleUserResults},
		{"GET", "/users/self/claims", user, s.handleUserClaims},

		// Extensions beyond 1.2.3 (EXTENSIONS.md X1–X4). A scope or-ed into
		// the access level is what a personal access token needs.
		{"GET", "/results:stats", public, s.handleResultStats},
		{"GET", "/results:export", public, s.handleResultExport},
		{"POST", "/results:bulk", user | resultsWrite, s.handleResultBulk},
		{"POST", "/users/self/tokens", user, s.handleTokenCreate},
		{"GET", "/users/self/tokens", user | readScope, s.handleTokenList},
		{"DELETE", "/users/self/tokens/{token_id}", user, s.handleTokenRevoke},
	}
}

// route is one operation of the table.
type route struct {
	method   string
	template string
	access   access
	handler  handlerFunc
}

// Routes lists the method and OpenAPI path template of every operation
// the router serves (for the test that keeps router and document in step).
func Routes() [][2]string {
	var out [][2]string
	for _, rt := range (&server{}).routeTable() {
		out = append(out, [2]string{rt.method, rt.template})
	}
	return out
}

// muxPath turns an OpenAPI template into a gorilla/mux one, constraining
// every variable to a UUID.
func muxPath(template string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(template, '{')
		if i < 0 {
			b.WriteString(template)
			return b.String()
		}
		j := strings.IndexByte(template, '}')
		b.WriteString(template[:i])
		b.WriteString("{" + template[i+1:j] + ":" + uuidRE + "}")
		template = template[j+1:]
	}
}

// router builds the gorilla/mux router: the operations, OPTIONS for every
// path (200, Allow header, no authentication), HEAD with every GET, the
// operational and documentation routes, and JSON 404/405 answers.
func (s *server) router() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)

	allow := map[string][]string{}
	var order []string
	add := func(method, template string, h http.Handler) {
		methods := []string{method}
		if method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
		r.Handle(muxPath(template), h).Methods(methods...)
		if _, ok := allow[template]; !ok {
			order = append(order, template)
		}
		allow[template] = append(allow[template], methods...)
	}
	for _, rt := range s.routeTable() {
		add(rt.method, rt.template, s.endpoint(rt.template, rt.access, rt.handler))
	}
	for _, rt := range s.extraRoutes() {
		add(rt.method, rt.template, rt.h)
	}
	for _, template := range order {
		methods := append(slices.Clone(allow[template]), http.MethodOptions)
		slices.Sort(methods)
		header := strings.Join(slices.Compact(methods), ", ")
		t := template
		r.Handle(muxPath(template), http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			setRoute(req, t)
			w.Header().Set("Allow", header)
			w.WriteHeader(http.StatusOK)
		})).Methods(http.MethodOptions)
	}
	return r
}
