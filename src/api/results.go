package api

import (
	"net/http"
	"time"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// resultListParams are the parameters of GET /results and
// GET /users/self/results.
var resultListParams = []string{"page", "per_page", "upload_before", "upload_after", "execution_before", "execution_after",
	"benchmark_id", "site_id", "flavor_id", "tags_ids", "filters", "sort_by"}

// resultFilter reads the GET /results parameters and the page. Malformed
// filters are reported after the other query errors, in their own body
// (API.md §3.8).
func resultFilter(q *query) (perf.ResultFilter, perf.Page, error) {
	p := q.page()
	f := perf.ResultFilter{
		Uploaded:    q.uploadDates(),
		Executed:    perf.DateRange{Before: q.date("execution_before"), After: q.date("execution_after")},
		BenchmarkID: q.uuidParam("benchmark_id"),
		SiteID:      q.uuidParam("site_id"),
		FlavorID:    q.uuidParam("flavor_id"),
		TagIDs:      q.uuidList("tags_ids"),
	}
	if err := q.err(); err != nil {
		return f, p, err
	}
	var err error
	f.Filters, err = perf.ParseFilters(q.list("filters"))
	return f, p, err
}

// listResults answers a results page.
func (s *server) listResults(w http.ResponseWriter, r *http.Request, q *query, f perf.ResultFilter, p perf.Page, defSort string) error {
	if err := q.err(); err != nil {
		return err
	}
	sort, err := q.sortBy("result", defSort, true)
	if err != nil {
		return err
	}
	l, err := s.store.ListResults(r.Context(), f, sort, p)
	if err != nil {
		return err
	}
	return writeResultPage(w, l)
}

// handleResultList handles GET /results: visible results only.
func (s *server) handleResultList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, resultListParams...)
	f, p, err := resultFilter(q)
	if err != nil {
		return err
	}
	return s.listResults(w, r, q, f, p, "+execution_datetime")
}

// handleResultSearch handles GET /results:search.
func (s *server) handleResultSearch(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "page", "per_page", "upload_before", "upload_after", "terms", "sort_by")
	f := perf.ResultFilter{Uploaded: q.uploadDates(), Terms: q.terms()}
	return s.listResults(w, r, q, f, q.page(), "")
}

// handleUserResults handles GET /users/self/results: the caller's uploads,
// hidden ones included, with every filter of GET /results (upstream
// ignored most of them, API.md §13.1 item 3).
func (s *server) handleUserResults(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, resultListParams...)
	f, p, err := resultFilter(q)
	if err != nil {
		return err
	}
	c := callerOf(r)
	f.Uploader = &perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}
	f.IncludeDeleted = true
	return s.listResults(w, r, q, f, p, "+execution_datetime")
}

// handleResultGet handles GET /results/{result_id}, hidden results too.
func (s *server) handleResultGet(w http.ResponseWriter, r *http.Request) error {
	res, err := s.store.GetResult(r.Context(), pathUUID(r, "result_id"))
	if err != nil {
		return err
	}
	writeResult(w, http.StatusOK, res)
	return nil
}

// uploadFields checks the fields of an upload — POST /results's query, a
// bulk line's members (bulk.go) — into q's errors: the three required ones
// (a field already reported bad is not also reported missing), the
// execution time's format and the ids. It returns what it read; the
// execution time's rules come after the document (checkExecTime), in
// upstream's order.
func uploadFields(q *query) (n perf.NewResult, exec time.Time, zoned bool) {
	for _, name := range []string{"execution_datetime", "benchmark_id", "flavor_id"} {
		if _, bad := q.errs[name]; !q.has(name) && !bad {
			q.errs[name] = []string{"Missing data for required field."}
		}
	}
	if v := q.str("execution_datetime"); v != nil {
		var ok bool
		if exec, zoned, ok = parseExecTime(*v); !ok {
			q.errs["execution_datetime"] = []string{"Not a valid datetime."}
		}
	}
	n = perf.NewResult{BenchmarkID: ptrOr(q.uuidParam("benchmark_id")), FlavorID: ptrOr(q.uuidParam("flavor_id")), TagIDs: q.uuidList("tags_ids")}
	return n, exec, zoned
}

// checkExecTime applies the rules of a well-formed execution time: it has a
// time zone and is not in the future.
func checkExecTime(exec time.Time, zoned bool, now time.Time) error {
	switch {
	case !zoned:
		return perf.Errorf(perf.Invalid, "Execution date must include timezone")
	case exec.After(now):
		return perf.Errorf(perf.Invalid, "Execution date cannot be in future")
	}
	return nil
}

// handleResultCreate handles POST /results.
func (s *server) handleResultCreate(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "execution_datetime", "benchmark_id", "flavor_id", "tags_ids")
	n, exec, zoned := uploadFields(q)
	if err := q.err(); err != nil {
		return err
	}
	doc, err := readDocument(r)
	if err != nil {
		return err
	}
	if err := checkDocument(&s.opt.Limits, doc); err != nil {
		return err
	}
	if err := checkExecTime(exec, zoned, time.Now()); err != nil {
		return err
	}
	c := callerOf(r)
	n.ID, n.UploadDatetime, n.ExecutionDatetime, n.JSON = uuid.New(), perf.Now(), exec, doc
	n.Uploader = perf.Uploader{UploaderSub: c.Sub, UploaderIss: c.Iss}
	res, err := s.store.CreateResult(r.Context(), n, func(b perf.Benchmark) error {
		sch, err := s.opt.Schemas.Get(b.ID, b.JSONSchema)
		if err != nil {
			return err
		}
		return sch.Validate(doc)
	})
	if err != nil {
		return err
	}
	writeResult(w, http.StatusCreated, res)
	return nil
}

func ptrOr(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

// handleResultDelete handles DELETE /results/{result_id}: a soft delete.
func (s *server) handleResultDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteResult(r.Context(), pathUUID(r, "result_id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// ownerOrAdmin checks, inside the handler, that the caller uploaded the
// result or is admin: 404 first, then the plain 403 (API.md §2.3).
func (s *server) ownerOrAdmin(r *http.Request, id uuid.UUID) error {
	owner, err := s.store.ResultOwner(r.Context(), id)
	if err != nil {
		return err
	}
	if c := callerOf(r); !c.Admin && !c.Owns(owner.UploaderSub, owner.UploaderIss) {
		return &perf.Error{Kind: perf.Forbidden}
	}
	return nil
}

// handleResultTags handles PUT /results/{result_id}/tags: tags_ids replaces
// the tag set; an absent tags_ids changes nothing.
func (s *server) handleResultTags(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, field{name: "tags_ids", kind: kindUUIDList})
	if err != nil {
		return err
	}
	id := pathUUID(r, "result_id")
	if err := s.ownerOrAdmin(r, id); err != nil {
		return err
	}
	if ids, ok := b.uuids("tags_ids"); ok {
		if err := s.store.SetResultTags(r.Context(), id, ids); err != nil {
			return err
		}
	}
	noContent(w)
	return nil
}

// handleResultUploader handles GET /results/{result_id}/uploader.
func (s *server) handleResultUploader(w http.ResponseWriter, r *http.Request) error {
	u, err := s.store.ResultUploader(r.Context(), pathUUID(r, "result_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
	return nil
}
