package perf

import "github.com/google/uuid"

// Tag labels results. Tags have no review, uploader or upload time.
type Tag struct {
	ID          uuid.UUID `db:"id"`
	Name        string    `db:"name"`
	Description *string   `db:"description"`
}

// TagFilter selects tags by exact name and by search terms (each term a
// substring of name or description).
type TagFilter struct {
	Name  *string
	Terms []string
}
