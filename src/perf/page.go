package perf

import "time"

// Pagination limits of API.md §3.4.
const (
	DefaultPerPage = 100
	MaxPerPage     = 100
)

// Page selects one page of a list (1-based).
type Page struct {
	Number  int
	PerPage int
}

// Offset is the number of items before the page.
func (p Page) Offset() int { return (p.Number - 1) * p.PerPage }

// SortKey is one key of a sort_by list (API.md §3.5). Field is a name of the
// resource's sortable whitelist or, for results, a json.<path>.
type SortKey struct {
	Field string
	Desc  bool
	// JSONPath is set for results' json.<a>.<b> keys (Field is then "json").
	JSONPath []string
}

// List is one page of items and the total number of items that match.
type List[T any] struct {
	Items []T
	Total int
	Page  Page
}

// Status is the review status of benchmarks, sites, flavors and claims.
type Status string

// The review statuses (API.md §3.7).
const (
	OnReview Status = "on_review"
	Approved Status = "approved"
)

// DateRange keeps items strictly before Before and strictly after After,
// both at midnight of the given date (API.md §3.6).
type DateRange struct {
	Before, After *time.Time
}
