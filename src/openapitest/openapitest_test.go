package openapitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const (
	id1 = "0b6c1b7e-6a8b-4f0e-9b1a-2c3d4e5f6a7b"
	id2 = "9f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
)

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

func tagPage(items string) string {
	return `{"has_next":false,"has_prev":false,"items":[` + items + `],"page":1,"pages":1,"per_page":100,"total":1}`
}

func site(uploaded string) string {
	return `{"address":"Karlsruhe","id":"` + id1 + `","name":"KIT","upload_datetime":"` + uploaded + `"}`
}

const user = `{"email":"a@example.org","iss":"https://op.example","registration_datetime":"2022-02-23T14:32:02.859960","sub":"s1"}`

func TestValidateAcceptsWhatTheServerMustSend(t *testing.T) {
	result := `{"benchmark":{"docker_image":"b0","docker_tag":"v1.0","id":"` + id1 + `","json_schema":{"type":"object"},` +
		`"upload_datetime":"2026-11-26T19:13:15.730833","url":"https://b0"},"execution_datetime":"2020-05-21T07:31:00",` +
		`"flavor":{"id":"` + id2 + `","name":"f0","upload_datetime":"2022-01-01T10:00:00"},"id":"` + id2 + `",` +
		`"json":{"time":10,"nested":{"any":[null,true]}},"site":` + site("2022-01-01T10:00:00") + `,"tags":[],` +
		`"upload_datetime":"2026-11-26T19:13:15.779100"}`
	tests := []struct {
		name, method, target string
		header               map[string]string
		status               int
		respHeader           http.Header
		body                 string
	}{
		{"tag list with every field", "GET", "/tags", nil, 200, jsonHeader,
			tagPage(`{"description":"d","id":"` + id1 + `","name":"t"}`)},
		{"tag list without optional description, first of two pages", "GET", "/tags?per_page=1", nil, 200, jsonHeader,
			`{"has_next":true,"has_prev":false,"items":[{"id":"` + id1 + `","name":""}],"next_num":2,"page":1,"pages":2,"per_page":1,"total":2}`},
		{"empty tag list", "GET", "/tags", nil, 200, http.Header{"Content-Type": {"application/json; charset=utf-8"}},
			`{"has_next":false,"has_prev":false,"items":[],"page":1,"pages":0,"per_page":100,"total":0}`},
		{"401 authentication body", "POST", "/tags", nil, 401, jsonHeader,
			`{"error":"Unauthenticated","error_description":"No authorization header"}`},
		{"403 authentication body with details", "PUT", "/tags/" + id1, nil, 403, jsonHeader,
			`{"error":"Forbidden","error_description":"User s@i does not meet requirements","error_details":"Evaluation of: is_admin"}`},
		{"owner check 403 in the normal envelope", "PUT", "/results/" + id1 + "/tags", nil, 403, jsonHeader,
			`{"code":403,"status":"Forbidden"}`},
		{"owner check 403 in the authentication format", "PUT", "/results/" + id1 + "/tags", nil, 403, jsonHeader,
			`{"error":"Forbidden","error_description":"User s@i does not meet requirements","error_details":"Evaluation of: is_registered"}`},
		{"422 whose message is an object", "GET", "/tags?sort_by=x", nil, 422, jsonHeader,
			`{"code":422,"status":"Unprocessable Entity","message":{"KeyError":"Unexpected field ''","hint":"Use ',' to separate fields"}}`},
		{"422 for a query the document forbids", "GET", "/tags?per_page=0", nil, 422, jsonHeader,
			`{"code":422,"status":"Unprocessable Entity","errors":{"query":{"per_page":["Must be greater than or equal to 1 and less than or equal to 100."]}}}`},
		{"404 with the handler's text", "GET", "/tags/" + id1, nil, 404, jsonHeader,
			`{"code":404,"status":"Not Found","errors":{"error":"Record ` + id1 + ` not found in the database"}}`},
		{"404 for a non-UUID id", "GET", "/tags/not-a-uuid", nil, 404, jsonHeader, `{"code":404,"status":"Not Found"}`},
		{"204 without body", "DELETE", "/tags/" + id1, nil, 204, http.Header{}, ""},
		{"HEAD without body", "HEAD", "/tags", nil, 200, jsonHeader, ""},
		{"site timestamp without fraction", "GET", "/sites/" + id1, nil, 200, jsonHeader, site("2022-01-01T10:00:00")},
		{"result with nested resources and free JSON", "GET", "/results/" + id2, nil, 200, jsonHeader, result},
		{"claim no longer linked to a result", "GET", "/reports/claims/" + id1, nil, 200, jsonHeader,
			`{"id":"` + id1 + `","message":"m","resource_type":"result","upload_datetime":"2022-01-01T10:00:00","uploader":` + user + `}`},
		{"percent-encoded verb", "POST", "/users%3Aregister", nil, 201, jsonHeader, user},
		{"path under the X-Script-Name prefix", "GET", "/api/v1/users/self", map[string]string{"X-Script-Name": "/api/v1"}, 200, jsonHeader, user},
		{"accepted upper-case UUID in the path", "GET", "/sites/" + strings.ToUpper(id1), nil, 200, jsonHeader, site("2022-01-01T10:00:00")},
		{"accepted date with one-digit month", "GET", "/sites?upload_before=2020-1-5", nil, 200, jsonHeader,
			`{"has_next":false,"has_prev":false,"items":[],"page":1,"pages":0,"per_page":100,"total":0}`},
		{"accepted repeated tags_ids", "GET", "/results?tags_ids=" + id1 + "&tags_ids=" + id2 + "&filters=cpu.count%20%3E%204", nil, 200, jsonHeader,
			`{"has_next":false,"has_prev":false,"items":[` + result + `],"page":1,"pages":1,"per_page":100,"total":1}`},
		{"unknown path answered with a bare 404", "GET", "/benchmarks/", nil, 404, jsonHeader, `{"code":404,"status":"Not Found"}`},
		{"unknown method answered with a bare 405", "PATCH", "/tags", nil, 405, jsonHeader, `{"code":405,"status":"Method Not Allowed"}`},
		{"OPTIONS with Allow and no body", "OPTIONS", "/tags/" + id1, nil, 200, http.Header{"Allow": {"DELETE, GET, HEAD, OPTIONS, PUT"}}, ""},
	}
	v := New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			for k, val := range tt.header {
				req.Header.Set(k, val)
			}
			if err := v.Validate(req, tt.status, tt.respHeader, []byte(tt.body)); err != nil {
				t.Errorf("rejected: %v", err)
			}
		})
	}
}

func TestValidateRejectsWhatTheDocumentForbids(t *testing.T) {
	tests := []struct {
		name, method, target string
		status               int
		respHeader           http.Header
		body                 string
	}{
		{"tag without name", "GET", "/tags", 200, jsonHeader, tagPage(`{"id":"` + id1 + `"}`)},
		{"total as a string", "GET", "/tags", 200, jsonHeader,
			`{"has_next":false,"has_prev":false,"items":[],"page":1,"pages":0,"per_page":100,"total":"0"}`},
		{"null description", "GET", "/tags", 200, jsonHeader, tagPage(`{"description":null,"id":"` + id1 + `","name":"t"}`)},
		{"null next_num", "GET", "/tags", 200, jsonHeader,
			`{"has_next":false,"has_prev":false,"items":[],"next_num":null,"page":1,"pages":0,"per_page":100,"total":0}`},
		{"undeclared property on a flavor", "GET", "/flavors/" + id1, 200, jsonHeader,
			`{"id":"` + id1 + `","name":"f","site_id":"` + id2 + `","upload_datetime":"2022-01-01T10:00:00"}`},
		{"benchmark without url", "GET", "/benchmarks/" + id1, 200, jsonHeader,
			`{"docker_image":"b","docker_tag":"t","id":"` + id1 + `","json_schema":{},"upload_datetime":"2022-01-01T10:00:00"}`},
		{"upper-case UUID in the output", "GET", "/tags/" + id1, 200, jsonHeader, `{"id":"` + strings.ToUpper(id1) + `","name":"t"}`},
		{"timestamp with an offset", "GET", "/sites/" + id1, 200, jsonHeader, site("2022-01-01T10:00:00+00:00")},
		{"timestamp with a zero fraction", "GET", "/sites/" + id1, 200, jsonHeader, site("2022-01-01T10:00:00.000000")},
		{"timestamp with a space", "GET", "/sites/" + id1, 200, jsonHeader, site("2022-01-01 10:00:00")},
		{"401 in the normal envelope", "POST", "/tags", 401, jsonHeader, `{"code":401,"status":"Unauthorized"}`},
		{"access-level 403 in the normal envelope", "PUT", "/tags/" + id1, 403, jsonHeader, `{"code":403,"status":"Forbidden"}`},
		{"401 on a public operation", "GET", "/tags", 401, jsonHeader, `{"error":"Unauthenticated","error_description":"x"}`},
		{"401 body saying Forbidden", "POST", "/tags", 401, jsonHeader, `{"error":"Forbidden","error_description":"x"}`},
		{"status only covered by default", "GET", "/tags", 201, jsonHeader, tagPage(`{"id":"` + id1 + `","name":"t"}`)},
		{"error code disagreeing with the status", "GET", "/tags/" + id1, 404, jsonHeader, `{"code":422,"status":"Unprocessable Entity"}`},
		{"error without status text", "GET", "/tags/" + id1, 404, jsonHeader, `{"code":404}`},
		{"errors as a string", "GET", "/tags", 422, jsonHeader,
			`{"code":422,"status":"Unprocessable Entity","errors":"bad"}`},
		{"204 with a body", "DELETE", "/tags/" + id1, 204, jsonHeader, `{}`},
		{"HEAD with a body", "HEAD", "/tags", 200, jsonHeader, tagPage(`{"id":"` + id1 + `","name":"t"}`)},
		{"JSON typed as text", "GET", "/tags/" + id1, 200, http.Header{"Content-Type": {"text/plain"}}, `{"id":"` + id1 + `","name":"t"}`},
		{"JSON without content type", "GET", "/tags/" + id1, 200, http.Header{}, `{"id":"` + id1 + `","name":"t"}`},
		{"empty body where JSON is due", "GET", "/tags/" + id1, 200, jsonHeader, ""},
		{"unknown path answered with 200", "GET", "/healthz", 200, jsonHeader, `{}`},
		{"unknown path answered with a non-envelope 404", "GET", "/benchmarks/", 404, http.Header{"Content-Type": {"text/plain"}}, "404 page not found"},
		{"unknown method answered with 404", "PATCH", "/tags", 404, jsonHeader, `{"code":404,"status":"Not Found"}`},
		{"OPTIONS without Allow", "OPTIONS", "/tags", 200, http.Header{}, ""},
		{"server accepted per_page=0", "GET", "/tags?per_page=0", 200, jsonHeader,
			`{"has_next":false,"has_prev":false,"items":[],"page":1,"pages":0,"per_page":0,"total":0}`},
		{"server accepted an unknown status", "GET", "/sites?status=bogus", 200, jsonHeader,
			`{"has_next":false,"has_prev":false,"items":[],"page":1,"pages":0,"per_page":100,"total":0}`},
		{"server accepted a result without execution_datetime", "POST", "/results?benchmark_id=" + id1 + "&flavor_id=" + id2, 201, jsonHeader, `{}`},
	}
	v := New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			err := v.Validate(req, tt.status, tt.respHeader, []byte(tt.body))
			if err == nil {
				t.Fatal("accepted")
			}
			t.Logf("rejected: %v", err)
		})
	}
}

// failRecorder collects Errorf calls so Check itself can be tested.
type failRecorder struct {
	testing.TB
	errors []string
}

func (r *failRecorder) Helper() {}

func (r *failRecorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheckFailsTheTestOnlyForAWrongResponse(t *testing.T) {
	v := New(t)
	req := httptest.NewRequest("GET", "/tags/"+id1, nil)

	ok := &failRecorder{TB: t}
	v.Check(ok, req, 200, jsonHeader, []byte(`{"id":"`+id1+`","name":"t"}`))
	if len(ok.errors) != 0 {
		t.Errorf("valid response reported: %v", ok.errors)
	}

	bad := &failRecorder{TB: t}
	v.Check(bad, req, 200, jsonHeader, []byte(`{"id":"`+id1+`"}`))
	if len(bad.errors) != 1 || !strings.Contains(bad.errors[0], "GetTag") || !strings.Contains(bad.errors[0], "/tags/"+id1) {
		t.Errorf("invalid response reported as %v", bad.errors)
	}

	resp := &http.Response{StatusCode: 204, Header: http.Header{}, Request: httptest.NewRequest("DELETE", "/tags/"+id1, nil)}
	viaResponse := &failRecorder{TB: t}
	v.CheckResponse(viaResponse, resp, nil)
	if len(viaResponse.errors) != 0 {
		t.Errorf("valid *http.Response reported: %v", viaResponse.errors)
	}
}

func TestSeenRecordsCheckedOperations(t *testing.T) {
	v := New(t)
	if len(v.Seen()) != 0 || len(v.Unseen()) != 60 {
		t.Fatalf("fresh validator: seen %v, %d unseen", v.Seen(), len(v.Unseen()))
	}
	for _, c := range []struct{ method, target string }{
		{"GET", "/tags"}, {"HEAD", "/tags"}, {"POST", "/users%3Aregister"}, {"GET", "/nowhere"}, {"OPTIONS", "/tags"},
	} {
		_ = v.Validate(httptest.NewRequest(c.method, c.target, nil), 500, jsonHeader, []byte(`{"code":500,"status":"Internal Server Error"}`))
	}
	seen := v.Seen()
	if len(seen) != 2 || !seen["ListTags"] || !seen["RegisterSelf"] {
		t.Errorf("seen = %v, want ListTags and RegisterSelf", seen)
	}
	seen["Other"] = true
	if v.Seen()["Other"] {
		t.Error("Seen shares its map with the caller")
	}
	if n := len(v.Unseen()); n != 58 {
		t.Errorf("%d unseen, want 58", n)
	}
}

func TestValidateIsSafeForParallelTests(t *testing.T) {
	v := New(t)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest("GET", "/tags?page=1&per_page=10&sort_by=%2Bname", nil)
			body := tagPage(fmt.Sprintf(`{"id":"%s","name":"t%d"}`, id1, i))
			errs <- v.Validate(req, 200, jsonHeader, []byte(body))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
