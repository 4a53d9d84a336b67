package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
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

// limit renders LIMIT/OFFSET for a page.
func (w *where) limit(p perf.Page) string {
	return " LIMIT " + w.arg(p.PerPage) + " OFFSET " + w.arg(p.Offset())
}

// listQuery describes a list endpoint's SQL: the count of the matching
// rows and the page query (which may join more tables), sharing one WHERE
// clause built on the count query's table alias.
type listQuery struct {
	count    string            // "SELECT count(*) FROM t"
	page     string            // "SELECT ... FROM t [JOIN ...]"
	sort     map[string]string // sortable name -> SQL
	tiebreak []string          // last sort keys, for stable pages
}

// list reads one page: the exact total first (a count over the filtered
// rows only, no joins, no sorting), then, unless the page lies past the
// end, the page's rows scanned as R and converted with conv.
func list[R, T any](ctx context.Context, db sqlx.QueryerContext, q listQuery, w *where, sort []perf.SortKey, p perf.Page, conv func(R) T) (perf.List[T], error) {
	l := perf.List[T]{Page: p}
	// The count takes the filter's parameters only: sort keys on JSON paths
	// add parameters of their own, and PostgreSQL refuses unused ones.
	if err := sqlx.GetContext(ctx, db, &l.Total, q.count+w.sql(), w.args...); err != nil {
		return l, mapError(err, "count")
	}
	if l.Total <= p.Offset() {
		return l, nil
	}
	order, err := orderBy(w, sort, q.sort, q.tiebreak...)
	if err != nil {
		return l, err
	}
	var rows []R
	if err := sqlx.SelectContext(ctx, db, &rows, q.page+w.sql()+order+w.limit(p), w.args...); err != nil {
		return l, mapError(err, "list")
	}
	l.Items = make([]T, len(rows))
	for i, r := range rows {
		l.Items[i] = conv(r)
	}
	return l, nil
}

// same is the conversion of list for rows that are already the item type.
func same[T any](t T) T { return t }
