package perf

import "github.com/google/uuid"

// StatsGroupBy names what GET /results:stats groups by (EXTENSIONS.md X2);
// "" is one group of everything.
type StatsGroupBy string

// The groupings of GET /results:stats.
const (
	GroupNone      StatsGroupBy = ""
	GroupBenchmark StatsGroupBy = "benchmark"
	GroupSite      StatsGroupBy = "site"
	GroupFlavor    StatsGroupBy = "flavor"
	GroupTag       StatsGroupBy = "tag"
)

// StatsKey identifies a group; nil for the group of everything or of the
// results without a tag.
type StatsKey struct {
	ID   uuid.UUID
	Name string
}

// StatsGroup is the statistics of one group. The pointers are nil when
// the group has no numeric value (StdDev also below two).
type StatsGroup struct {
	Key                    *StatsKey
	Count, Numeric         int
	Min, Max, Mean, StdDev *float64
	P50, P90, P99          *float64
}
