package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/eosc-perf/api/src/perf"
	"github.com/google/uuid"
)

// tagSort maps the sortable names of tags to SQL.
var tagSort = map[string]string{"id": "id", "name": "name", "description": "description"}

// ListTags returns one page of the tags that match f.
func (s *Store) ListTags(ctx context.Context, f perf.TagFilter, sort []perf.SortKey, p perf.Page) (perf.List[perf.Tag], error) {
	var w where
	eq(&w, "name", f.Name)
	w.terms(f.Terms, "name", "description")
	return list(ctx, s.db, tagList, &w, sort, p, same[perf.Tag])
}

var tagList = listQuery{count: `SELECT count(*) FROM tag`, page: `SELECT id, name, description FROM tag`,
	sort: tagSort, tiebreak: []string{"id"}}

// GetTag returns a tag by id.
func (s *Store) GetTag(ctx context.Context, id uuid.UUID) (perf.Tag, error) {
	var t perf.Tag
	err := s.db.GetContext(ctx, &t, `SELECT id, name, description FROM tag WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return t, recordNotFound(id)
	}
	return t, mapError(err, "get tag")
}

// CreateTag stores a new tag; a taken name is a conflict.
func (s *Store) CreateTag(ctx context.Context, t perf.Tag) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO tag (id, name, description) VALUES ($1, $2, $3)`, t.ID, t.Name, t.Description)
	if uniqueViolation(err) {
		return perf.Errorf(perf.Conflict, "Tag %s already submitted/exists", t.Name)
	}
	return mapError(err, "create tag")
}

// UpdateTag overwrites a tag's name and, when given, its description.
func (s *Store) UpdateTag(ctx context.Context, id uuid.UUID, name string, description *string) error {
	return s.update(ctx, perf.Errorf(perf.Conflict, "Changes conflict submitted/existing tag"), recordNotFound(id),
		`UPDATE tag SET name = $2, description = COALESCE($3, description) WHERE id = $1`, id, name, description)
}

// DeleteTag deletes a tag; its links to results go with it (ON DELETE
// CASCADE), the results stay.
func (s *Store) DeleteTag(ctx context.Context, id uuid.UUID) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tag WHERE id = $1`, id)
	if err != nil {
		return mapError(err, "delete tag")
	}
	return mustAffect(res, recordNotFound(id))
}

// recordNotFound is upstream's 404 text for sites, flavors and tags.
func recordNotFound(id uuid.UUID) error {
	return perf.Errorf(perf.NotFound, "Record %s not found in the database", id)
}

// mustAffect returns notFound when an UPDATE or DELETE touched no row.
func mustAffect(res sql.Result, notFound error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return mapError(err, "rows affected")
	}
	if n == 0 {
		return notFound
	}
	return nil
}
