package api

import (
	"net/http"
	"slices"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// submitJSON is the Submit representation (API.md §4): no id.
type submitJSON struct {
	UploadDatetime perf.Timestamp `json:"upload_datetime"`
	ResourceType   string         `json:"resource_type"`
	ResourceID     *uuid.UUID     `json:"resource_id,omitempty"`
	Uploader       *userJSON      `json:"uploader,omitempty"`
}

func toSubmitJSON(s perf.Submit) submitJSON {
	out := submitJSON{UploadDatetime: perf.Timestamp(s.UploadDatetime), ResourceType: s.ResourceType, ResourceID: s.ResourceID}
	if s.Uploader != nil {
		u := toUserJSON(*s.Uploader)
		out.Uploader = &u
	}
	return out
}

// resourceTypes are the values of resource_type, in upstream's order.
var resourceTypes = []string{"benchmark", "claim", "site", "flavor"}

// handleSubmitList handles GET /reports/submits.
func (s *server) handleSubmitList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "page", "per_page", "upload_before", "upload_after", "resource_type", "sort_by")
	f := perf.SubmitFilter{Dates: q.uploadDates(), ResourceType: q.str("resource_type")}
	if f.ResourceType != nil && !slices.Contains(resourceTypes, *f.ResourceType) {
		q.errs["resource_type"] = []string{"Must be one of: benchmark, claim, site, flavor."}
	}
	p := q.page()
	return listed(w, q, "submit", "+resource_type", func(sort []perf.SortKey) (perf.List[perf.Submit], error) {
		return s.store.ListSubmits(r.Context(), f, sort, p)
	}, toSubmitJSON)
}
