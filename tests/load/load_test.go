package main

import (
	"encoding/json"
	"io"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	embedded "github.com/eosc-perf/api/src/samples"
	"github.com/eosc-perf/api/src/schema"
)

func TestParseFlavorsReadsTheSampleFile(t *testing.T) {
	sites := parseFlavors(machineFlavors)
	var names []string
	flavors := 0
	for _, s := range sites {
		names = append(names, s.Name)
		flavors += len(s.Flavors)
	}
	if want := []string{"IFCA-LCG2", "CESNET-MCC", "IISAS-FedCloud", "NCG-INGRID-PT", "CESGA"}; !slices.Equal(names, want) {
		t.Errorf("sites = %v, want %v", names, want)
	}
	// 5 + 4 + 4 + 6 + 3: remarks (<not enough cores>) and bare counts dropped.
	if flavors != 22 {
		t.Errorf("%d flavors, want 22", flavors)
	}
	if f := sites[0].Flavors[4]; f != (flavorDef{Name: "cm4.4xlarge", Cores: 16}) {
		t.Errorf("IFCA-LCG2's fifth flavor = %+v, want cm4.4xlarge with 16 cores", f)
	}
}

func TestParseFlavorsSkipsWhatIsNoFlavor(t *testing.T) {
	tests := []struct {
		name, text string
		want       []siteDef
	}{
		{"remark and bare count are skipped", "site-a\t1 small\t\t2 <failed>\t4",
			[]siteDef{{Key: "site-a", Name: "SITE-A", Address: "site-a.example.org", Flavors: []flavorDef{{"small", 1}}}}},
		{"note lines are not sites", "cesga: was dead\nbifi & ceta grid: routing\n\n", nil},
		{"a site without flavors is dropped", "lonely\t<none>", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseFlavors(tc.text)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i].Key != tc.want[i].Key || got[i].Name != tc.want[i].Name || !slices.Equal(got[i].Flavors, tc.want[i].Flavors) {
					t.Errorf("got %+v, want %+v", got[i], tc.want[i])
				}
			}
		})
	}
}

// Every generated document must pass the benchmark's schema (the bulk
// load bypasses the API) and carry the flavor's core count.
func TestVariedDocumentsValidateAndFollowTheFlavor(t *testing.T) {
	samples, err := readSamples()
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 25 {
		t.Fatalf("%d samples, want 25", len(samples))
	}
	sch, err := schema.Compile(embedded.Template())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	for _, cores := range []int{0, 1, 2, 8, 32} {
		for _, s := range samples {
			doc := vary(rng, pick(rng, samples, s.Site, cores), cores)
			if err := sch.Validate(doc); err != nil {
				t.Fatalf("%s with %d cores: %v\n%s", s.Name, cores, err, doc)
			}
			var d struct {
				Machine struct {
					CPU struct {
						Count int `json:"count"`
					} `json:"cpu"`
				} `json:"machine"`
				Result struct {
					Score float64 `json:"score"`
					All   string  `json:"all_results"`
				} `json:"result"`
			}
			if err := json.Unmarshal(doc, &d); err != nil {
				t.Fatal(err)
			}
			if cores > 0 && d.Machine.CPU.Count != cores {
				t.Errorf("%s: count %d, want %d", s.Name, d.Machine.CPU.Count, cores)
			}
			if d.Result.Score <= 0 || strings.Count(d.Result.All, ":") != 2 {
				t.Errorf("%s: score %v, all_results %q", s.Name, d.Result.Score, d.Result.All)
			}
		}
	}
}

func TestPickPrefersTheSiteAndTheNearestCoreCount(t *testing.T) {
	samples := []sample{{Name: "a-1", Site: "a", Count: 1}, {Name: "a-8", Site: "a", Count: 8}, {Name: "b-4", Site: "b", Count: 4}}
	rng := rand.New(rand.NewSource(1))
	tests := []struct {
		site  string
		cores int
		want  string
	}{
		{"a", 6, "a-8"}, {"a", 2, "a-1"}, {"b", 32, "b-4"}, {"unknown", 4, "b-4"},
	}
	for _, tc := range tests {
		if got := pick(rng, samples, tc.site, tc.cores); got.Name != tc.want {
			t.Errorf("pick(%s, %d) = %s, want %s", tc.site, tc.cores, got.Name, tc.want)
		}
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	var s stats
	for i := 1; i <= 200; i++ {
		s.Lat = append(s.Lat, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 100 * time.Millisecond}, {99, 198 * time.Millisecond}, {100, 200 * time.Millisecond}, {0.1, time.Millisecond}}
	for _, tc := range tests {
		if got := s.Percentile(tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := (stats{}).Percentile(50); got != 0 {
		t.Errorf("empty p50 = %v, want 0", got)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(config) bool
	}{
		{"defaults", nil, false, func(c config) bool {
			return c.N == 100000 && c.Clients == 16 && c.Dur == 10*time.Second && c.Pool == 20
		}},
		{"quick shrinks what is not given", []string{"-quick", "-c", "4"}, false, func(c config) bool {
			return c.N == 2000 && c.Dur == 2*time.Second && c.Clients == 4
		}},
		{"quick keeps what is given", []string{"-quick", "-n", "500"}, false, func(c config) bool { return c.N == 500 }},
		{"unbounded duration is refused", []string{"-d", "1h"}, true, nil},
		{"zero clients are refused", []string{"-c", "0"}, true, nil},
		{"bad scenario pattern is refused", []string{"-run", "("}, true, nil},
		{"stray arguments are refused", []string{"extra"}, true, nil},
		{"scale sizes", []string{"-scale", "10000, 100000"}, false, func(c config) bool {
			return slices.Equal(c.sizes(), []int{10000, 100000})
		}},
		{"scale must ascend", []string{"-scale", "100,10"}, true, nil},
		{"no scale measures -n", []string{"-n", "5"}, false, func(c config) bool { return slices.Equal(c.sizes(), []int{5}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(cfg) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

func TestTableHasOneRowPerScenario(t *testing.T) {
	var b strings.Builder
	rows := []row{
		{Name: "list", API: stats{Ops: 10, Elapsed: time.Second, Lat: []time.Duration{time.Millisecond}},
			Floor: stats{Ops: 20, Elapsed: time.Second}, CPU: 1500 * time.Microsecond},
		{Name: "get", API: stats{Errors: 2, Elapsed: time.Second}, Floor: stats{Elapsed: time.Second}, CPU: -1},
	}
	printTable(&b, rows)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("table:\n%s", b.String())
	}
	if !strings.Contains(lines[2], "0.50") || !strings.Contains(lines[2], "1.50 ms") || !strings.Contains(lines[3], "2 API, 0 floor") ||
		!strings.Contains(lines[3], " - ") || !strings.Contains(lines[3], " ? ") {
		t.Errorf("table:\n%s", b.String())
	}
}
