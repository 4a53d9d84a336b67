package api

import (
	"context"
	"net/http"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// catalogQuery reads the parameters shared by the list and search
// endpoints of benchmarks, sites and flavors: pagination, upload dates and
// status, plus the exact-match fields of a list or the terms of a search.
func catalogQuery(r *http.Request, search bool, exact ...string) (*query, perf.CatalogFilter, perf.Page) {
	names := []string{"page", "per_page", "upload_before", "upload_after", "status", "sort_by"}
	if search {
		names = append(names, "terms")
	} else {
		names = append(names, exact...)
	}
	q := newQuery(r, names...)
	f := perf.CatalogFilter{Status: q.status(), Dates: q.uploadDates(), Exact: map[string]string{}}
	if search {
		f.Terms = q.terms()
	}
	for _, name := range exact {
		if v := q.str(name); v != nil && !search {
			f.Exact[name] = *v
		}
	}
	return q, f, q.page()
}

// listed runs a validated list query: query errors first, then sort_by,
// then the store call, then the page envelope (API.md §3.1–3.5).
func listed[S, T any](w http.ResponseWriter, q *query, resource, defSort string,
	list func(sort []perf.SortKey) (perf.List[S], error), conv func(S) T) error {
	if err := q.err(); err != nil {
		return err
	}
	sort, err := q.sortBy(resource, defSort, false) // only results sort by JSON paths
	if err != nil {
		return err
	}
	l, err := list(sort)
	if err != nil {
		return err
	}
	body, err := pageOf(l, conv)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// reviewAction is an approve or reject of a store.
type reviewAction func(ctx context.Context, id uuid.UUID) (perf.Reviewed, error)

// review runs an approve or reject and mails the uploader (cc support).
func (s *server) review(w http.ResponseWriter, r *http.Request, id uuid.UUID, kind string,
	act reviewAction, mail func(to, kind, id string) perf.Mail) error {
	rev, err := act(r.Context(), id)
	if err != nil {
		return err
	}
	s.notify(mail(rev.UploaderEmail, kind, id.String()))
	noContent(w)
	return nil
}

// strictQuery rejects every query parameter (endpoints whose query schema
// is empty, API.md §5.8).
func strictQuery(r *http.Request) error { return newQuery(r).err() }
