package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// apiOperations is API.md §5.8 with its {id} names translated; access is the
// level of the table (public operations must declare security: []).
var apiOperations = []struct {
	method, path, operationID, access string
}{
	{"GET", "/benchmarks", "ListBenchmarks", "public"},
	{"POST", "/benchmarks", "CreateBenchmark", "user"},
	{"GET", "/benchmarks:search", "SearchBenchmarks", "public"},
	{"GET", "/benchmarks/{benchmark_id}", "GetBenchmark", "public"},
	{"PUT", "/benchmarks/{benchmark_id}", "UpdateBenchmark", "admin"},
	{"DELETE", "/benchmarks/{benchmark_id}", "DeleteBenchmark", "admin"},
	{"POST", "/benchmarks/{benchmark_id}:approve", "ApproveBenchmark", "admin"},
	{"POST", "/benchmarks/{benchmark_id}:reject", "RejectBenchmark", "admin"},
	{"GET", "/reports/submits", "ListSubmits", "admin"},
	{"GET", "/reports/claims", "ListClaims", "admin"},
	{"GET", "/reports/claims/{report_id}", "GetClaim", "admin"},
	{"POST", "/reports/claims/{report_id}:approve", "ApproveClaim", "admin"},
	{"POST", "/reports/claims/{report_id}:reject", "RejectClaim", "admin"},
	{"GET", "/results", "ListResults", "public"},
	{"POST", "/results", "CreateResult", "user"},
	{"GET", "/results:search", "SearchResults", "public"},
	{"GET", "/results/{result_id}", "GetResult", "public"},
	{"DELETE", "/results/{result_id}", "DeleteResult", "admin"},
	{"POST", "/results/{result_id}:claim", "ClaimReport", "user"},
	{"PUT", "/results/{result_id}/tags", "UpdateResult", "owner"},
	{"GET", "/results/{result_id}/claims", "ListResultClaims", "owner"},
	{"GET", "/results/{result_id}/uploader", "ResultUploader", "admin"},
	{"GET", "/sites", "ListSites", "public"},
	{"POST", "/sites", "CreateSite", "user"},
	{"GET", "/sites:search", "SearchSites", "public"},
	{"GET", "/sites/{site_id}", "GetSite", "public"},
	{"PUT", "/sites/{site_id}", "UpdateSite", "admin"},
	{"DELETE", "/sites/{site_id}", "DeleteSite", "admin"},
	{"POST", "/sites/{site_id}:approve", "ApproveSite", "admin"},
	{"POST", "/sites/{site_id}:reject", "RejectSite", "admin"},
	{"GET", "/sites/{site_id}/flavors", "ListFlavors", "public"},
	{"POST", "/sites/{site_id}/flavors", "AddFlavor", "user"},
	{"GET", "/sites/{site_id}/flavors:search", "SearchFlavor", "public"},
	{"GET", "/flavors/{flavor_id}", "GetFlavor", "public"},
	{"PUT", "/flavors/{flavor_id}", "UpdateFlavor", "admin"},
	{"DELETE", "/flavors/{flavor_id}", "DeleteFlavor", "admin"},
	{"POST", "/flavors/{flavor_id}:approve", "ApproveFlavor", "admin"},
	{"POST", "/flavors/{flavor_id}:reject", "RejectFlavor", "admin"},
	{"GET", "/flavors/{flavor_id}/site", "GetFlavorSite", "public"},
	{"GET", "/tags", "ListTags", "public"},
	{"POST", "/tags", "CreateTag", "user"},
	{"GET", "/tags:search", "SearchTag", "public"},
	{"GET", "/tags/{tag_id}", "GetTag", "public"},
	{"PUT", "/tags/{tag_id}", "UpdateTag", "admin"},
	{"DELETE", "/tags/{tag_id}", "DeleteTag", "admin"},
	{"GET", "/users", "ListUsers", "admin"},
	{"POST", "/users:register", "RegisterSelf", "token"},
	{"POST", "/users:remove", "RemoveUsers", "admin"},
	{"GET", "/users:search", "SearchUsers", "admin"},
	{"GET", "/users/self", "GetSelf", "token"},
	{"POST", "/users/self:update", "UpdateSelf", "user"},
	{"GET", "/users/self:try_admin", "TryAdmin", "admin"},
	{"GET", "/users/self/results", "ListUserResults", "user"},
	{"GET", "/users/self/claims", "ListUserClaims", "user"},
	// Extensions (EXTENSIONS.md).
	{"GET", "/results:stats", "ResultStats", "public"},
	{"GET", "/results:export", "ExportResults", "public"},
	{"POST", "/results:bulk", "CreateResults", "user"},
	{"POST", "/users/self/tokens", "CreateToken", "user"},
	{"GET", "/users/self/tokens", "ListTokens", "user"},
	{"DELETE", "/users/self/tokens/{token_id}", "RevokeToken", "user"},
}

// extensionNullable are the schemas of the extensions, which send null
// (EXTENSIONS.md: last_used_at, statistics of an empty group, keys).
var extensionNullable = []string{"Token", "ResultStats", "StatsGroup"}

// load parses and validates a rendering of the document with kin-openapi.
func load(t *testing.T, serverURL string) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(Document(serverURL))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return doc
}

func TestDocumentIsValidOpenAPI30(t *testing.T) {
	doc := load(t, "/")
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	if doc.Info.Title != "EOSC Performance API" || doc.Info.Version != "1.0.0" {
		t.Errorf("info = %q %q", doc.Info.Title, doc.Info.Version)
	}
	lic := doc.Info.License
	if lic == nil || lic.Name != "MIT" || lic.URL != "https://raw.githubusercontent.com/EOSC-synergy/eosc-perf/master/LICENSE" {
		t.Errorf("license = %+v", lic)
	}
	bearer := doc.Components.SecuritySchemes["bearerAuth"]
	if bearer == nil || bearer.Value.Type != "http" || bearer.Value.Scheme != "bearer" || bearer.Value.BearerFormat != "JWT" {
		t.Errorf("bearerAuth = %+v", bearer)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("global security = %+v, want bearerAuth", doc.Security)
	}
}

func TestOperationsAreExactlyThoseOfTheSpec(t *testing.T) {
	var want []Operation
	for _, op := range apiOperations {
		want = append(want, Operation{Method: op.method, Path: op.path, OperationID: op.operationID})
	}
	got := Operations()
	cmp := func(a, b Operation) int { return strings.Compare(a.OperationID, b.OperationID) }
	slices.SortFunc(want, cmp)
	slices.SortFunc(got, cmp)
	if !slices.Equal(got, want) {
		t.Errorf("operations differ from API.md §5.8:\n got %v\nwant %v", got, want)
	}
	paths := map[string]bool{}
	for _, op := range got {
		paths[op.Path] = true
	}
	if len(got) != 60 || len(paths) != 45 {
		t.Errorf("%d operations on %d paths, want 60 on 45 (54 on 40 of API.md and 6 on 5 of EXTENSIONS.md)", len(got), len(paths))
	}
}

func TestOperationsReturnsACopy(t *testing.T) {
	ops := Operations()
	ops[0].OperationID = "changed"
	if Operations()[0].OperationID == "changed" {
		t.Error("Operations shares its slice with the caller")
	}
}

func TestPublicOperationsDeclareNoSecurity(t *testing.T) {
	doc := load(t, "/")
	for _, want := range apiOperations {
		op := doc.Paths.Find(want.path).GetOperation(want.method)
		public := op.Security != nil && len(*op.Security) == 0
		if public != (want.access == "public") {
			t.Errorf("%s: security %v, access %s", want.operationID, op.Security, want.access)
		}
		if want.access != "public" && op.Responses.Status(401) == nil {
			t.Errorf("%s: no 401 response", want.operationID)
		}
	}
}

func TestPathParametersAreNamedUUIDs(t *testing.T) {
	doc := load(t, "/")
	for path, item := range doc.Paths.Map() {
		if strings.Contains(path, "{id}") {
			t.Errorf("%s still uses {id}", path)
		}
		for _, op := range item.Operations() {
			params := append(slices.Clone(item.Parameters), op.Parameters...)
			for _, p := range params {
				if p.Value.In != "path" {
					continue
				}
				if !strings.Contains(path, "{"+p.Value.Name+"}") || !strings.HasSuffix(p.Value.Name, "_id") {
					t.Errorf("%s: path parameter %q", path, p.Value.Name)
				}
				if s := p.Value.Schema.Value; !s.Type.Is("string") || s.Format != "uuid" {
					t.Errorf("%s: %s is not a uuid string", path, p.Value.Name)
				}
			}
		}
	}
}

func TestSchemasFollowRealResponses(t *testing.T) {
	doc := load(t, "/")
	schema := func(name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	for _, name := range []string{"Benchmark", "CreateBenchmark"} {
		if schema(name).Properties["url"] == nil || !slices.Contains(schema(name).Required, "url") {
			t.Errorf("%s lacks a required url", name)
		}
	}
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		for _, r := range s.Required {
			if r == "next_num" || r == "prev_num" || r == "description" {
				t.Errorf("%s requires %s, which is omitted when null", name, r)
			}
		}
		for prop, p := range s.Properties {
			if p.Value.Nullable && !slices.Contains(extensionNullable, name) {
				t.Errorf("%s.%s is nullable; null is never sent", name, prop)
			}
		}
	}
	if schema("Flavor").Properties["site_id"] != nil {
		t.Error("Flavor exposes site_id")
	}
	if slices.Contains(schema("Claim").Required, "resource_id") {
		t.Error("Claim requires resource_id, which is omitted for unlinked claims")
	}
	msg := schema("Error").Properties["message"].Value
	if msg.Type != nil && len(msg.Type.Slice()) > 0 {
		t.Errorf("Error.message is typed %v; it is an object for sort/filter errors", msg.Type.Slice())
	}
	if !slices.Equal(schema("AuthError").Required, []string{"error", "error_description"}) {
		t.Errorf("AuthError.required = %v", schema("AuthError").Required)
	}
	unauthorized := doc.Components.Responses["UNAUTHORIZED"].Value.Content.Get("application/json").Schema
	if unauthorized.Ref != "#/components/schemas/AuthError" {
		t.Errorf("401 body schema = %q, want AuthError", unauthorized.Ref)
	}
}

func TestDocumentServersFollowServerURL(t *testing.T) {
	tests := []struct {
		name, serverURL, want string
	}{
		{"default route", "/", "/"},
		{"empty route means root", "", "/"},
		{"prefix", "/api/v1", "/api/v1"},
		{"absolute URL", "https://performance.example.org/api/v1", "https://performance.example.org/api/v1"},
		{"characters that JSON escapes", `/a"b<c>`, `/a"b<c>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := load(t, tt.serverURL)
			if len(doc.Servers) != 1 || doc.Servers[0].URL != tt.want {
				t.Fatalf("servers = %+v, want one with url %q", doc.Servers, tt.want)
			}
			if len(doc.Paths.Map()) != 45 {
				t.Errorf("%d paths after substitution", len(doc.Paths.Map()))
			}
		})
	}
}

func TestDocumentIsCachedPerServerURL(t *testing.T) {
	a, b := Document("/x"), Document("/x")
	if &a[0] != &b[0] {
		t.Error("second call rendered the document again")
	}
	if bytes.Equal(Document("/x"), Document("/y")) {
		t.Error("different server URLs give the same document")
	}
}

func TestDocumentKeepsHTMLInDescriptionsReadable(t *testing.T) {
	if bytes.Contains(Document("/"), []byte(`\u003cbr\u003e`)) {
		t.Error("<br> in descriptions is escaped as \\u003cbr\\u003e")
	}
	var v map[string]any
	if err := json.Unmarshal(Document("/"), &v); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
}
