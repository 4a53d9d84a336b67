package tests

import (
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/eosc-perf/api/src/api"
	"github.com/eosc-perf/api/src/api/openapi"
	"github.com/eosc-perf/api/src/openapitest"
)

// pending lists the operations of the OpenAPI document that the router does
// not serve yet. The catalog and results issues empty it; the test below
// keeps router, document and this list in step.
var pending = []string{}

var (
	validatorOnce sync.Once
	validator     *openapitest.Validator
	validatorErr  error
)

// notDocumented are the operational and documentation routes, which are
// not API operations.
func notDocumented(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/api-spec.json", "/":
		return true
	}
	return strings.HasPrefix(path, "/swagger-ui/")
}

// checkResponse validates a response against the OpenAPI document.
func checkResponse(t testing.TB, req *http.Request, r *response) {
	t.Helper()
	path := req.URL.Path
	if prefix := req.Header.Get("X-Script-Name"); prefix != "" {
		path = strings.TrimPrefix(path, strings.TrimRight(prefix, "/"))
	}
	if notDocumented(path) {
		return
	}
	validatorOnce.Do(func() { validator, validatorErr = openapitest.Load() })
	if validatorErr != nil {
		t.Fatalf("load OpenAPI document: %v", validatorErr)
	}
	validator.Check(t, req, r.Status, r.Header, r.Body)
}

// TestRouterMatchesDocument fails for any route the router serves that the
// document lacks, and for any documented operation that is neither served
// nor pending.
func TestRouterMatchesDocument(t *testing.T) {
	t.Parallel()
	documented := map[string]string{} // "METHOD path" -> operationId
	for _, op := range openapi.Operations() {
		documented[op.Method+" "+op.Path] = op.OperationID
	}
	served := map[string]bool{}
	for _, rt := range api.Routes() {
		key := rt[0] + " " + rt[1]
		id, ok := documented[key]
		if !ok {
			t.Errorf("the router serves %s, which the OpenAPI document lacks", key)
			continue
		}
		served[id] = true
		if slices.Contains(pending, id) {
			t.Errorf("%s (%s) is served but still listed as pending", id, key)
		}
	}
	for key, id := range documented {
		if !served[id] && !slices.Contains(pending, id) {
			t.Errorf("%s (%s) is documented but neither served nor pending", id, key)
		}
	}
}

// checkAllServedSeen runs after the whole suite: every served operation
// must have had at least one response validated. It is skipped when a
// -run filter selects only some tests.
func checkAllServedSeen() error {
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() != "" || validator == nil {
		return nil
	}
	var missing []string
	for _, id := range validator.Unseen() {
		if !slices.Contains(pending, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("served operations without any validated response: %v", missing)
	}
	return nil
}
