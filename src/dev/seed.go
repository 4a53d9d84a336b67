package dev

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/samples"
	"github.com/eosc-perf/api/src/schema"
	"github.com/eosc-perf/api/src/store"
	"github.com/google/uuid"
)

// The development seed: the catalog of the upstream demo (the c-ray
// benchmark, the EGI Federated Cloud sites measured and their flavors, all
// approved), the 25 sample results, a few hundred more generated from
// them, and some tags. The database of `dev` is new at every start.

// sampleSite is a site of the sample results with its flavors by core
// count (shared/data/sample-results/c-ray/machine flavors.txt).
type sampleSite struct {
	key, name, address string
	flavors            map[int]string
}

var sampleSites = []sampleSite{
	{"cesga", "CESGA", "Santiago de Compostela, Spain", map[int]string{1: "cor1mem2hd10", 2: "cor2mem2hd20", 4: "cor4mem4hd40"}},
	{"cesnet-mcc", "CESNET-MCC", "Brno, Czech Republic", map[int]string{1: "standard.small", 2: "standard.medium", 4: "standard.large", 8: "hpc.8core-16ram"}},
	{"ifca-lcg2", "IFCA-LCG2", "Santander, Spain", map[int]string{1: "m1.small", 2: "cm4.large", 4: "m1.large", 8: "m1.xlarge", 16: "cm4.4xlarge"}},
	{"iisas-fedcloud", "IISAS-FedCloud", "Bratislava, Slovakia", map[int]string{1: "m1.small", 2: "m1.medium", 4: "m1.large", 8: "m1.xlarge"}},
	{"ncg-ingrid-pt", "NCG-INGRID-PT", "Lisbon, Portugal", map[int]string{1: "svc1.s", 2: "svc2.s", 4: "svc2.m", 8: "svc2.l", 16: "svc2.xl", 32: "svc2.xxl"}},
	{"", "VirtualboxTestbed", "A local VirtualBox test machine", map[int]string{1: "virtualbox-arch", 2: "virtualbox-arch-2", 4: "virtualbox-arch-4", 8: "virtualbox-arch-8", 12: "virtualbox-arch-12"}},
}

// sampleTags are the development tags.
var sampleTags = []struct{ name, description string }{
	{"cpu", "CPU-bound benchmark runs"},
	{"c-ray", "Runs of the c-ray ray tracer"},
	{"fedcloud", "Measured on the EGI Federated Cloud"},
}

// generatedPerSample is how many varied copies of each sample result the
// seed adds (25 × 12 = 300).
const generatedPerSample = 12

// seedSamples loads the sample data, uploaded by the given user.
func seedSamples(ctx context.Context, st *store.Store, uploader perf.Uploader) error {
	now := perf.Now()
	tags := map[string]uuid.UUID{}
	for _, t := range sampleTags {
		d := t.description
		id := uuid.New()
		if err := st.CreateTag(ctx, perf.Tag{ID: id, Name: t.name, Description: &d}); err != nil {
			return err
		}
		tags[t.name] = id
	}

	desc := "Ray tracing benchmark of the Phoronix Test Suite (pts/c-ray): 4K image, 16 rays per pixel; the score is the time in seconds."
	bench := perf.Benchmark{ID: uuid.New(), UploadDatetime: now, DockerImage: "thechristophe/openbench-c-ray", DockerTag: "latest",
		URL: "https://hub.docker.com/r/thechristophe/openbench-c-ray", JSONSchema: samples.Template(), Description: &desc, Uploader: uploader}
	if _, err := st.CreateBenchmark(ctx, bench); err != nil {
		return err
	}
	if _, err := st.ApproveBenchmark(ctx, bench.ID); err != nil {
		return err
	}
	compiled, err := schema.Compile(bench.JSONSchema)
	if err != nil {
		return err
	}

	flavorOf := map[string]map[int]uuid.UUID{}
	for _, s := range sampleSites {
		site := perf.Site{ID: uuid.New(), UploadDatetime: now, Name: s.name, Address: s.address, Uploader: uploader}
		if _, err := st.CreateSite(ctx, site); err != nil {
			return err
		}
		if _, err := st.ApproveSite(ctx, site.ID); err != nil {
			return err
		}
		flavorOf[s.key] = map[int]uuid.UUID{}
		for cores, name := range s.flavors {
			d := fmt.Sprintf("%d CPU cores", cores)
			fl := perf.Flavor{ID: uuid.New(), UploadDatetime: now, Name: name, Description: &d, SiteID: site.ID, Uploader: uploader}
			if _, err := st.CreateFlavor(ctx, fl); err != nil {
				return err
			}
			if _, err := st.ApproveFlavor(ctx, fl.ID); err != nil {
				return err
			}
			flavorOf[s.key][cores] = fl.ID
		}
	}

	rng := rand.New(rand.NewPCG(2021, 5)) // the same seed data at every start
	start := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range samples.Results() {
		flavor, ok := flavorOf[r.Site][r.Cores]
		if !ok {
			continue // CESGA's 8-core flavor was never measured
		}
		resultTags := []uuid.UUID{tags["c-ray"], tags["cpu"]}
		if r.Site != "" {
			resultTags = append(resultTags, tags["fedcloud"])
		}
		for i := 0; i <= generatedPerSample; i++ {
			doc := r.JSON
			if i > 0 {
				if doc, err = vary(r.JSON, rng); err != nil {
					return err
				}
			}
			n := perf.NewResult{ID: uuid.New(), UploadDatetime: now, JSON: doc, BenchmarkID: bench.ID, FlavorID: flavor,
				TagIDs:            resultTags[:1+i%len(resultTags)],
				ExecutionDatetime: start.Add(time.Duration(rng.Int64N(int64(300 * 24 * time.Hour)))).Truncate(time.Second),
				Uploader:          uploader}
			if _, err := st.CreateResult(ctx, n, func(perf.Benchmark) error { return compiled.Validate(doc) }); err != nil {
				return fmt.Errorf("sample %s: %w", r.Name, err)
			}
		}
	}
	return nil
}

// vary returns a copy of a sample result whose score (and the individual
// timings) differ by up to ±8 %, as repeated runs do.
func vary(doc []byte, rng *rand.Rand) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	res, _ := m["result"].(map[string]any)
	score, _ := res["score"].(float64)
	f := 1 + (rng.Float64()-0.5)*0.16
	res["score"] = float64(int(score*f*1000)) / 1000
	a, b := score*f*0.98, score*f*1.02
	res["all_results"] = fmt.Sprintf("%.3f:%.3f:%.3f", a, score*f, b)
	return json.Marshal(m)
}
