package app

import (
	"context"

	"github.com/eosc-perf/api/src/perf"
	"github.com/eosc-perf/api/src/store"
	"github.com/google/uuid"
)

// seedSamples loads sample data into the development database. Every step
// tolerates data that is already there.
func seedSamples(ctx context.Context, st *store.Store, issuer string) error {
	_ = issuer // uploader of the sample catalog (benchmarks, sites, flavors)
	return seedTags(ctx, st)
}

// sampleTags are the development tags.
var sampleTags = []struct{ name, description string }{
	{"cpu", "CPU-bound benchmark runs"},
	{"c-ray", "Runs of the c-ray ray tracer"},
	{"fedcloud", "Measured on the EGI Federated Cloud"},
}

func seedTags(ctx context.Context, st *store.Store) error {
	for _, t := range sampleTags {
		d := t.description
		err := st.CreateTag(ctx, perf.Tag{ID: uuid.New(), Name: t.name, Description: &d})
		if err != nil && perf.KindOf(err) != perf.Conflict {
			return err
		}
	}
	return nil
}
