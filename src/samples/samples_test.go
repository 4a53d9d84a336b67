package samples

import (
	"encoding/json"
	"testing"
)

func TestSamplesAreComplete(t *testing.T) {
	rs := Results()
	if len(rs) != 25 {
		t.Fatalf("%d results, want 25", len(rs))
	}
	sites := map[string]int{}
	for _, r := range rs {
		if !json.Valid(r.JSON) || r.Cores < 1 {
			t.Errorf("%s: valid=%v cores=%d", r.Name, json.Valid(r.JSON), r.Cores)
		}
		sites[r.Site]++
	}
	want := map[string]int{"": 5, "cesga": 1, "cesnet-mcc": 4, "ifca-lcg2": 5, "iisas-fedcloud": 4, "ncg-ingrid-pt": 6}
	for s, n := range want {
		if sites[s] != n {
			t.Errorf("site %q has %d results, want %d", s, sites[s], n)
		}
	}
	if !json.Valid(Template()) {
		t.Error("template.json is not JSON")
	}
}
