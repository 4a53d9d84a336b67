package store

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/eosc-perf/api/src/perf"
)

// where builds a WHERE clause with positional parameters. Values only ever
// travel as parameters; SQL text comes from this package's constants.
type where struct {
	conds []string
	args  []any
}

// arg adds a parameter and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// add appends a condition; each %s in cond is replaced by the placeholder
// of the matching value.
func (w *where) add(cond string, vals ...any) {
	ph := make([]any, len(vals))
	for i, v := range vals {
		ph[i] = w.arg(v)
	}
	w.conds = append(w.conds, fmt.Sprintf(cond, ph...))
}

// eq adds "col = value" when value is set.
func eq[T any](w *where, col string, v *T) {
	if v != nil {
		w.add(col+" = %s", *v)
	}
}

// dates adds the strict upload-date bounds of API.md §3.6 on col.
func (w *where) dates(col string, d perf.DateRange) {
	if d.Before != nil {
		w.add(col+" < %s", *d.Before)
	}
	if d.After != nil {
		w.add(col+" > %s", *d.After)
	}
}

// terms adds one condition per search term: the term is a substring of at
// least one of cols (API.md §3.9). LIKE wildcards in the term are escaped,
// so a term matches literally; the trigram indexes serve these patterns.
func (w *where) terms(terms []string, cols ...string) {
	for _, t := range terms {
		p := w.arg("%" + likeEscape(t) + "%")
		ors := make([]string, len(cols))
		for i, c := range cols {
			ors[i] = c + " LIKE " + p
		}
		w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
	}
}

// likeEscape escapes LIKE's wildcards and its escape character (the
// default escape character of LIKE is the backslash).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sql returns " WHERE ..." or "".
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// orderBy renders sort keys through a resource's whitelist of SQL
// expressions, then the tiebreak columns for stable paging (API.md §13.2
// item 27). A name missing from the whitelist is a programming error: the
// API layer validated it against perf.SortFields.
func orderBy(keys []perf.SortKey, columns map[string]string, tiebreak ...string) (string, error) {
	parts := make([]string, 0, len(keys)+len(tiebreak))
	for _, k := range keys {
		expr, ok := columns[k.Field]
		if !ok {
			return "", fmt.Errorf("store: no sort column for %q", k.Field)
		}
		if k.Desc {
			expr += " DESC"
		}
		parts = append(parts, expr)
	}
	parts = append(parts, tiebreak...)
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

// limit renders LIMIT/OFFSET for a page.
func (w *where) limit(p perf.Page) string {
	return " LIMIT " + w.arg(p.PerPage) + " OFFSET " + w.arg(p.Offset())
}
