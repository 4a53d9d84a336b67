package tests

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"
)

// TestPutAcceptsTheRepresentationItRead covers API.md §13.1 item 12: the
// web frontend's editors send back the whole representation they read
// (GET answer, one field changed), including id and upload_datetime.
func TestPutAcceptsTheRepresentationItRead(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	c := s.newCallers(t)
	cat := newCatalog(t, s, c)
	tag := createTag(t, s, c.User, "gpu")

	kinds := []struct {
		name, path string
		edit       string // the field the editor changes
		readOnly   []string
	}{
		{"site", "/sites/" + cat.Site, "name", []string{"id", "upload_datetime"}},
		{"flavor", "/flavors/" + cat.Flavor, "description", []string{"id", "upload_datetime"}},
		{"benchmark", "/benchmarks/" + cat.Benchmark, "url", []string{"id", "upload_datetime"}},
		{"tag", "/tags/" + tag, "description", []string{"id"}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			read := func() map[string]any { return s.get(t, k.path, "").want(t, 200).JSON(t) }
			// sent is what the editor sends: the GET's answer, verbatim, with
			// the edited field changed.
			sent := func(change map[string]any) map[string]any {
				m := read()
				maps.Copy(m, change)
				return m
			}
			before := read()
			for _, f := range k.readOnly {
				if _, ok := before[f]; !ok {
					t.Fatalf("the representation lacks %s: %v", f, before)
				}
			}

			t.Run("GET answer with one field changed is saved", func(t *testing.T) {
				body := sent(map[string]any{k.edit: "edited by the frontend"})
				s.put(t, k.path, c.Admin, body).want(t, 204)
				after := read()
				if !jsonEqual(after, body) {
					t.Fatalf("after PUT:\n got %v\nwant %v", after, body)
				}
			})
			t.Run("the exact bytes of the GET answer are accepted", func(t *testing.T) {
				cur := read()
				raw := string(s.get(t, k.path, "").want(t, 200).Body)
				s.put(t, k.path, c.Admin, raw).want(t, 204)
				if after := read(); !jsonEqual(after, cur) {
					t.Fatalf("an unchanged PUT changed the resource:\n got %v\nwant %v", after, cur)
				}
			})
			t.Run("changed read-only field is 422", func(t *testing.T) {
				cur := read()
				changes := map[string]any{"id": "00000000-0000-4000-8000-000000000000", "upload_datetime": "2020-01-01T00:00:00"}
				for _, f := range k.readOnly {
					body := sent(map[string]any{k.edit: "must not be saved", f: changes[f]})
					s.put(t, k.path, c.Admin, body).want(t, 422).
						wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"`+f+`":["Read-only field."]}}}`)
				}
				if len(k.readOnly) == 2 {
					body := sent(map[string]any{"id": changes["id"], "upload_datetime": changes["upload_datetime"]})
					s.put(t, k.path, c.Admin, body).want(t, 422).
						wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"id":["Read-only field."],"upload_datetime":["Read-only field."]}}}`)
				}
				if after := read(); !jsonEqual(after, cur) {
					t.Fatalf("a rejected PUT changed the resource:\n got %v\nwant %v", after, cur)
				}
			})
			t.Run("wrong type or null for a read-only field is 422", func(t *testing.T) {
				for _, f := range k.readOnly {
					for _, v := range []any{5, nil, true, []any{before[f]}, map[string]any{"value": before[f]}, ""} {
						body := sent(map[string]any{f: v})
						s.put(t, k.path, c.Admin, body).want(t, 422).
							wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"`+f+`":["Read-only field."]}}}`)
					}
				}
			})
			t.Run("equal values in other spellings are accepted", func(t *testing.T) {
				id := before["id"].(string)
				ids := []string{strings.ToUpper(id), strings.ReplaceAll(id, "-", ""), "urn:uuid:" + id}
				for _, v := range ids {
					s.put(t, k.path, c.Admin, sent(map[string]any{"id": v})).want(t, 204)
				}
				if len(k.readOnly) < 2 {
					return
				}
				up := before["upload_datetime"].(string)
				at, err := time.Parse("2006-01-02T15:04:05", up)
				if err != nil {
					t.Fatalf("upload_datetime %q: %v", up, err)
				}
				for _, v := range []string{
					up + "Z",
					up + "+00:00",
					at.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05.999999999-07:00"),
					at.Format("2006-01-02 15:04:05.000000000"),
				} {
					s.put(t, k.path, c.Admin, sent(map[string]any{"upload_datetime": v})).want(t, 204)
				}
				// One microsecond off is another instant.
				off := at.Add(time.Microsecond).Format("2006-01-02T15:04:05.000000")
				s.put(t, k.path, c.Admin, sent(map[string]any{"upload_datetime": off})).want(t, 422).
					wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"upload_datetime":["Read-only field."]}}}`)
			})
			t.Run("other unknown fields stay unknown", func(t *testing.T) {
				unknown := []string{"status", "site_id", "uploader_sub"}
				if len(k.readOnly) == 1 {
					unknown = append(unknown, "upload_datetime") // not in the tag representation
				}
				for _, f := range unknown {
					s.put(t, k.path, c.Admin, sent(map[string]any{f: before[k.edit]})).want(t, 422).
						wantBody(t, `{"code":422,"status":"Unprocessable Entity","errors":{"json":{"`+f+`":["Unknown field."]}}}`)
				}
			})
			t.Run("POST still rejects read-only fields as unknown", func(t *testing.T) {
				create := map[string]string{"site": "/sites", "flavor": "/sites/" + cat.Site + "/flavors", "benchmark": "/benchmarks", "tag": "/tags"}
				body := sent(map[string]any{"name": "new-" + k.name})
				if k.name == "benchmark" {
					body = sent(map[string]any{"docker_tag": "new"})
				}
				want := map[string]any{}
				for _, f := range k.readOnly {
					want[f] = []string{"Unknown field."}
				}
				w, _ := json.Marshal(map[string]any{"code": 422, "status": "Unprocessable Entity", "errors": map[string]any{"json": want}})
				s.post(t, create[k.name], c.User, body).want(t, 422).wantBody(t, string(w))
			})
			t.Run("unknown id is 404", func(t *testing.T) {
				other := k.path[:strings.LastIndex(k.path, "/")+1] + "00000000-0000-4000-8000-000000000000"
				s.put(t, other, c.Admin, sent(nil)).want(t, 404)
			})
			t.Run("non-admin is 403 before any of this", func(t *testing.T) {
				s.put(t, k.path, c.User, sent(map[string]any{"id": 5})).want(t, 403)
			})
		})
	}
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
