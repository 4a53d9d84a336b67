// Package migrations holds the database schema as goose SQL migrations
// (00001_initial.sql, …), numbered sequentially and embedded into the binary
// so that the program migrates its database without files beside it.
// An applied migration is never edited; a change is a new file.
// src/store.Migrate runs them.
package migrations

import "embed"

// FS holds every migration file, at the root of the file system, as goose's
// Provider expects.
//
//go:embed *.sql
var FS embed.FS
