package api

import (
	"net/http"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// tagJSON is the Tag representation (API.md §4).
type tagJSON struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description *string   `json:"description,omitempty"`
}

func toTagJSON(t perf.Tag) tagJSON {
	return tagJSON{ID: t.ID, Name: t.Name, Description: t.Description}
}

// tagFields is the body schema of CreateTag and UpdateTag.
var tagFields = []field{{name: "name", kind: kindString, required: true}, {name: "description", kind: kindString}}

// tagUpdateFields is the body schema of UpdateTag: the writable fields and
// the representation's read-only id (API.md §13.1 item 12).
var tagUpdateFields = withEcho(tagFields, echoID)

// handleTagList handles GET /tags.
func (s *server) handleTagList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "page", "per_page", "name", "sort_by")
	f := perf.TagFilter{Name: q.str("name")}
	return s.listTags(w, r, q, f, "+name")
}

// handleTagSearch handles GET /tags:search.
func (s *server) handleTagSearch(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "page", "per_page", "terms", "sort_by")
	f := perf.TagFilter{Terms: q.terms()}
	return s.listTags(w, r, q, f, "")
}

func (s *server) listTags(w http.ResponseWriter, r *http.Request, q *query, f perf.TagFilter, defSort string) error {
	p := q.page()
	return listed(w, q, "tag", defSort, func(sort []perf.SortKey) (perf.List[perf.Tag], error) {
		return s.store.ListTags(r.Context(), f, sort, p)
	}, toTagJSON)
}

// handleTagCreate handles POST /tags. Tags need no review.
func (s *server) handleTagCreate(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, tagFields...)
	if err != nil {
		return err
	}
	name, _ := b.str("name")
	t := perf.Tag{ID: uuid.New(), Name: name, Description: b.optStr("description")}
	if err := s.store.CreateTag(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toTagJSON(t))
	return nil
}

// handleTagGet handles GET /tags/{tag_id}.
func (s *server) handleTagGet(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.GetTag(r.Context(), pathUUID(r, "tag_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTagJSON(t))
	return nil
}

// handleTagUpdate handles PUT /tags/{tag_id}: name required, an omitted
// description is kept.
func (s *server) handleTagUpdate(w http.ResponseWriter, r *http.Request) error {
	b, err := decodeBody(r, tagUpdateFields...)
	if err != nil {
		return err
	}
	id := pathUUID(r, "tag_id")
	err = checkEcho(b, func() (stored, error) {
		t, err := s.store.GetTag(r.Context(), id)
		return stored{id: t.ID}, err
	})
	if err != nil {
		return err
	}
	name, _ := b.str("name")
	if err := s.store.UpdateTag(r.Context(), id, name, b.optStr("description")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// handleTagDelete handles DELETE /tags/{tag_id}.
func (s *server) handleTagDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteTag(r.Context(), pathUUID(r, "tag_id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
