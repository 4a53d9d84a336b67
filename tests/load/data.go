package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"

	embedded "github.com/eosc-perf/api/src/samples"
)

// siteDef is a site of the sample data with its flavors.
type siteDef struct {
	Key     string // file-name prefix of its sample results: ifca-lcg2, …
	Name    string // IFCA-LCG2
	Address string
	Flavors []flavorDef
}

// flavorDef is a VM flavor; Cores is 0 when the flavor does not fix the
// core count (the VirtualBox test machine ran with several).
type flavorDef struct {
	Name  string
	Cores int
}

// siteNames are the site names the sample README gives for the file-name
// prefixes of machine flavors.txt.
var siteNames = map[string]string{
	"ifca-lcg2": "IFCA-LCG2", "cesnet-mcc": "CESNET-MCC", "iisas-fedcloud": "IISAS-FedCloud",
	"ncg-ingrid-pt": "NCG-INGRID-PT", "cesga": "CESGA",
}

// virtualbox is the site of the result-N.json samples (upstream's demo).
var virtualbox = siteDef{Key: "virtualbox", Name: "VirtualboxTestbed", Address: "virtualbox.example.org",
	Flavors: []flavorDef{{Name: "virtualbox-arch"}}}

// machineFlavors is machine flavors.txt of upstream's c-ray sample results
// (scripts/sample_data/c-ray/ of eosc-perf-backend 1.2.3, like the result
// documents embedded in package samples): the sites and flavors measured.
//
//go:embed testdata/machine-flavors.txt
var machineFlavors string

// parseFlavors reads machine flavors.txt: one site per line, the file-name
// prefix then tab-separated "<cores> <flavor>" entries; entries without a
// flavor or with a <remark> and lines without entries (the notes at the
// end) are skipped.
func parseFlavors(text string) []siteDef {
	var sites []siteDef
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Split(line, "\t")
		key := strings.TrimSpace(fields[0])
		if key == "" || strings.ContainsAny(key, ": ") {
			continue
		}
		s := siteDef{Key: key, Name: siteNames[key], Address: key + ".example.org"}
		if s.Name == "" {
			s.Name = strings.ToUpper(key)
		}
		for _, f := range fields[1:] {
			cores, name, ok := strings.Cut(strings.TrimSpace(f), " ")
			n, err := strconv.Atoi(cores)
			name = strings.TrimSpace(name)
			if !ok || err != nil || n < 1 || name == "" || strings.HasPrefix(name, "<") {
				continue
			}
			s.Flavors = append(s.Flavors, flavorDef{Name: name, Cores: n})
		}
		if len(s.Flavors) > 0 {
			sites = append(sites, s)
		}
	}
	return sites
}

// sample is one sample result file, ready to be varied.
type sample struct {
	Name  string // file name without .json
	Site  string // siteDef.Key
	Raw   []byte // the file as it is (uploads send it unchanged)
	Count int    // machine.cpu.count
	Score float64
	// tmpl is the compact document with placeholders for the varied values.
	tmpl []byte
}

// Placeholders in sample.tmpl, JSON strings that no sample contains.
const (
	phCount = `"\u0000count"`
	phScore = `"\u0000score"`
	phAll   = `"\u0000all"`
)

// readSamples prepares the 25 sample results embedded in package samples.
func readSamples() ([]sample, error) {
	var out []sample
	for _, r := range embedded.Results() {
		s := sample{Name: r.Name, Site: r.Site, Raw: r.JSON}
		if s.Site == "" {
			s.Site = virtualbox.Key
		}
		var err error
		if s.tmpl, s.Count, s.Score, err = template(r.JSON); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no sample results")
	}
	return out, nil
}

// template decodes a sample document and encodes it compactly with the
// placeholders in place of machine.cpu.count, result.score and
// result.all_results.
func template(raw []byte) ([]byte, int, float64, error) {
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return nil, 0, 0, err
	}
	machine, _ := doc["machine"].(map[string]any)
	cpu, _ := machine["cpu"].(map[string]any)
	result, _ := doc["result"].(map[string]any)
	count, err1 := numberOf(cpu["count"])
	score, err2 := numberOf(result["score"])
	if err := errors.Join(err1, err2); err != nil {
		return nil, 0, 0, err
	}
	cpu["count"], result["score"], result["all_results"] = "\x00count", "\x00score", "\x00all"
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, 0, 0, err
	}
	return bytes.TrimSpace(b.Bytes()), int(count), score, nil
}

func numberOf(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number: %v", v)
	}
	return n.Float64()
}

// pick returns the sample for a flavor: one of the same site with the
// nearest core count (any core count when the flavor fixes none), else the
// nearest of all samples.
func pick(rng *rand.Rand, samples []sample, site string, cores int) sample {
	var same []sample
	for _, s := range samples {
		if s.Site == site {
			same = append(same, s)
		}
	}
	if len(same) == 0 {
		same = samples
	}
	if cores == 0 {
		return same[rng.Intn(len(same))]
	}
	best := same[0]
	for _, s := range same[1:] {
		if abs(s.Count-cores) < abs(best.Count-cores) {
			best = s
		}
	}
	return best
}

func abs(n int) int { return max(n, -n) }

// vary returns a document built from s for a machine with cores cores (0:
// the sample's own): the score scaled by the core ratio (c-ray scales
// about linearly) and jittered by ±15 %, three individual timings around
// it in all_results, score their mean.
func vary(rng *rand.Rand, s sample, cores int) []byte {
	if cores == 0 {
		cores = s.Count
	}
	base := s.Score * float64(s.Count) / float64(cores) * (0.85 + 0.3*rng.Float64())
	var runs [3]float64
	var sum float64
	parts := make([]string, len(runs))
	for i := range runs {
		runs[i] = math.Round(base*(0.998+0.004*rng.Float64())*1000) / 1000
		sum += runs[i]
		parts[i] = strconv.FormatFloat(runs[i], 'f', -1, 64)
	}
	score := strconv.FormatFloat(math.Round(sum/3*1000)/1000, 'f', -1, 64)
	doc := bytes.Replace(s.tmpl, []byte(phCount), []byte(strconv.Itoa(cores)), 1)
	doc = bytes.Replace(doc, []byte(phScore), []byte(score), 1)
	return bytes.Replace(doc, []byte(phAll), []byte(`"`+strings.Join(parts, ":")+`"`), 1)
}
