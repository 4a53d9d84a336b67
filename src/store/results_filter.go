package store

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/eosc-perf/api/src/perf"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// JSON filters and json.<path> sort keys on results (API.md §3.5, §3.8),
// rendered on the table alias r ("FROM result r"). Paths and values always
// travel as bind parameters; the SQL text comes from this file's constants.
//
// Every condition is total: a stored value that does not convert to the
// filter's kind makes the row not match, never an SQL error (API.md §13
// item 7). Hence no unguarded cast: each cast sits in a CASE branch whose
// test (jsonb_typeof, a regular expression) guarantees it succeeds, on
// PostgreSQL 15 (no pg_input_is_valid) as on later versions.
//
// Cost, measured with EXPLAIN ANALYZE and \timing on 100,000 results built
// from shared/data/sample-results by tests/load (migrated schema,
// PostgreSQL 15.18, 2 cores, warm cache, one backend without parallel
// workers), for SELECT count(*) FROM result r WHERE NOT r.deleted AND
// <filter>:
//
//   - no filter: an index-only scan of result_visible_refs_idx, 4.4 ms
//     (migration 00002). Any number or bool filter is a sequential scan of
//     the table: 55 ms for the scan alone (207 MB, more than the default
//     128 MB of shared_buffers), machine.cpu.count >= 8 106 ms, two number
//     filters 127 ms. A number filter walks the path twice (type test,
//     cast); a single unguarded walk and cast costs 30-50 ms of its 50-70.
//     Folding the walks into one with a sub-select (SELECT … FROM (SELECT
//     r.json #> $1 AS v OFFSET 0) j) was slower (145 ms against 110 ms):
//     the per-row SubPlan costs more than the second walk. A number filter
//     on a field holding strings costs ~30 ms more (the regular expression).
//   - documents compressed by TOAST cost ~3 µs more per walk, as every #>
//     decompresses again: with the default toast_tuple_target the 17 % of
//     these documents above ~2 kB were compressed, and the two counts above
//     took 181-205 and 285 ms. Migration 00002 keeps documents up to a page
//     inline and uncompressed.
//   - a string == filter: ~90 ms. A GIN index (jsonb_path_ops) on the
//     documents served it through a containment pre-filter (1.6 ms for 1 %
//     of rows) until migration 00014 dropped it: result_leaf answers
//     those filters now, and the index was the dearest part of storing
//     a result.
//
// Since migration 00011 (issue 11) filters on paths through objects are
// answered from result_leaf's indexes (leafFilterSQL); the figures above
// are those of the scan, which remains for paths with array indexes or
// beyond result_leaf's bounds, for the recheck rows and for results not
// indexed yet.
//
// How a page with JSON filters or json.<path> sort keys is read (ids
// first, count and page in one pass) is in resultPage (results.go). No
// index serves arbitrary sort paths.

// numericText matches the strings PostgreSQL's numeric input accepts and
// that are numbers (NaN is left out: it never compares, see numberSQL).
// The exponent is limited to four significant digits and the text to
// numericTextMax bytes (checked separately), so that the cast can never
// overflow numeric's range: at most 4000+9999 digits before the point
// (limit 131072) or after it (limit 16383). 4000 bytes hold the exact
// decimal of every float64 and of every midpoint between two. Whitespace
// is the C isspace set numeric input skips; [[:space:]] would also match
// Unicode spaces, which the cast rejects. Sent as a parameter, so its
// backslashes are the regular expression's and never depend on
// standard_conforming_strings.
const numericText = `^[ \t\n\v\f\r]*[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?0*[0-9]{1,4})?|[iI][nN][fF]([iI][nN][iI][tT][yY])?)[ \t\n\v\f\r]*$`

const numericTextMax = 4000

// boolSpace is the whitespace PostgreSQL's boolean input ignores.
const boolSpace = " \t\n\v\f\r"

// boolText maps, after trimming and ASCII lower-casing, each string that
// PostgreSQL's boolean input accepts to its value: unique prefixes of
// true/false/yes/no, on/off (at least two letters), 1 and 0.
var boolText = []struct {
	text  string
	value string
}{
	{"t", "true"}, {"tr", "true"}, {"tru", "true"}, {"true", "true"},
	{"y", "true"}, {"ye", "true"}, {"yes", "true"}, {"on", "true"}, {"1", "true"},
	{"f", "false"}, {"fa", "false"}, {"fal", "false"}, {"fals", "false"}, {"false", "false"},
	{"n", "false"}, {"no", "false"}, {"of", "false"}, {"off", "false"}, {"0", "false"},
}

// boolCase is the CASE over the trimmed, lower-cased text; built once.
var boolCase = func() string {
	var b strings.Builder
	for _, t := range boolText {
		b.WriteString(" WHEN '" + t.text + "' THEN " + t.value)
	}
	return b.String() + " END"
}()

// jsonFiltersSQL appends one condition per filter (all must hold).
func jsonFiltersSQL(w *where, fs []perf.JSONFilter) {
	jsonFiltersKnown(w, fs, nil, nil)
}

// jsonFiltersKnown is jsonFiltersSQL when it is known, for the filters i
// with noRecheck[i], that result_leaf holds no recheck row at the filter's
// path and no result is pending (in the snapshot the query runs in):
// their condition is then the indexed part alone, a semi-join whose size
// the planner can estimate (through a UNION ALL it cannot, and guesses 200
// matches).
//
// small[i] (only looked at with noRecheck[i]) tells that the filter
// matches at most leafSmall index entries (leafPlan): its ids are then
// collected first and looked up one by one in result_visible_id_idx
// (r.id = ANY(ARRAY(...))) instead of joined. The planner, left to itself,
// hashes the matches and scans the whole visible-id index: at 1,000,000
// results, result.score > 2450 (10,296 matches) took 470 ms that way and
// 67 ms by lookups, while for half the results matching the hash join is
// the faster one.
func jsonFiltersKnown(w *where, fs []perf.JSONFilter, noRecheck, small []bool) {
	for i, f := range fs {
		if !matchable(f) {
			// Decided before any parameter is added: PostgreSQL refuses a
			// statement with parameters it does not use.
			w.conds = append(w.conds, "FALSE")
			continue
		}
		if leafPath(f.Path) {
			exact := i < len(noRecheck) && noRecheck[i]
			leafFilterSQL(w, f, !exact, exact && i < len(small) && small[i])
			continue
		}
		scanFilterSQL(w, f)
	}
}

// leafSmall is the most index entries a filter may match to be answered
// by lookups (see jsonFiltersKnown): counting up to it costs at most
// ~15 ms, and 20,000 lookups about as much as hashing the visible ids of
// 100,000 results.
const leafSmall = 20000

// leafPlan reports, in one statement, for each filter: noRecheck, whether
// the leaf index alone answers it (a leaf filter, no recheck row at its
// path and no result pending), and small, whether it then matches at most
// leafSmall index entries (each count stops after leafSmall+1). See
// jsonFiltersKnown.
func leafPlan(ctx context.Context, db sqlx.QueryerContext, fs []perf.JSONFilter) (noRecheck, small []bool, err error) {
	var w where
	var exact, few []string
	for _, f := range fs {
		if !leafFilter(f) {
			exact, few = append(exact, "false"), append(few, "false")
			continue
		}
		e := "NOT EXISTS (SELECT 1 FROM result_leaf_pending) AND NOT EXISTS (SELECT 1 FROM result_leaf WHERE path = " +
			w.arg(pq.Array(f.Path)) + "::text[] AND txt IS NULL)"
		exact = append(exact, e)
		// Counted only where the index alone answers.
		few = append(few, "CASE WHEN "+e+" THEN (SELECT count(*) FROM ("+leafIndexedSQL(&w, f)+
			" LIMIT "+strconv.Itoa(leafSmall+1)+") x) <= "+strconv.Itoa(leafSmall)+" ELSE false END")
	}
	var a, b pq.BoolArray
	err = db.QueryRowxContext(ctx, "SELECT ARRAY["+strings.Join(exact, ", ")+"]::boolean[], ARRAY["+
		strings.Join(few, ", ")+"]::boolean[]", w.args...).Scan(&a, &b)
	return a, b, mapError(err, "plan leaf filters")
}

// leafFilter reports whether result_leaf answers f (its path is one the
// table holds).
func leafFilter(f perf.JSONFilter) bool { return matchable(f) && leafPath(f.Path) }

// jsonFilterSQL appends the condition of one JSON filter (API.md §3.8):
// a missing path or JSON null never matches.
//
//   - Number: the stored value as Python's float() would see it, compared
//     as Python compares floats. A JSON number or a string holding a decimal
//     number or [+-]inf[inity] converts; anything else (booleans, objects,
//     "two", "nan", hexadecimal, underscores) does not match. Values beyond
//     float range act as ±inf and tiny ones as 0, as in Python; a NaN filter
//     value matches nothing. See numberSQL for how this is exact.
//   - Bool: a JSON boolean, or a string PostgreSQL's boolean input accepts
//     (yes, off, " T ", …), compared as PostgreSQL orders booleans (false <
//     true). JSON numbers do not match, although upstream's text cast took
//     0 and 1.
//   - String: the stored value's text (#>>, so numbers, booleans, arrays and
//     objects compare as their JSON text) against the value, case-sensitive,
//     in the database collation.
//
// A path or value that PostgreSQL cannot hold as text (NUL, invalid UTF-8;
// ParseFilter rejects them) matches nothing, as no stored key or value can
// equal it; so does a filter with an unknown kind or operator.
//
// Paths the table result_leaf covers (leafPath) are answered from its
// indexes (leafFilterSQL); the others by evaluating the condition on every
// document (scanFilterSQL). Both give the same answer (the property test
// TestLeafFiltersAgreeWithTheScan).
func jsonFilterSQL(w *where, f perf.JSONFilter) {
	jsonFiltersKnown(w, []perf.JSONFilter{f}, nil, nil)
}

// Bounds of the paths result_leaf holds (migration 00011): keys reached
// through objects only, at most leafDepth keys of at most leafKeyBytes
// bytes together.
const (
	leafDepth    = 16
	leafKeyBytes = 256
)

// leafPath reports whether result_leaf holds every value a filter on path
// can meet: no key that #> may read as an array index (the table does not
// enter arrays), within the table's bounds.
func leafPath(path []string) bool {
	if len(path) == 0 || len(path) > leafDepth {
		return false
	}
	n := 0
	for _, k := range path {
		if arrayIndex(k) {
			return false
		}
		n += len(k)
	}
	return n <= leafKeyBytes
}

// leafFilterSQL renders a filter on result_leaf: the results whose row at
// the path satisfies the condition on its stored number or text (an index
// range scan of result_leaf_num_idx or result_leaf_txt_idx), plus those
// whose row at the path is a recheck row (objects, arrays, scalars over
// 1024 bytes: txt is NULL), for which the scan's condition is evaluated on
// the document, plus the pending results (migration 00013: not indexed
// yet, so without leaf rows), whose documents are evaluated likewise. A
// missing path or JSON null has no row, so never matches.
//
// The stored num is exactly what numberSQL converts (the same guarded
// cast, over the same text), txt exactly r.json #>> path; the boolean
// conversion is boolSQL's on the same text, so the answer is the scan's.
//
// Without recheck (no recheck row at the path and no pending result) the
// condition is the indexed part alone.
func leafFilterSQL(w *where, f perf.JSONFilter, recheck, small bool) {
	if !recheck {
		if small {
			w.conds = append(w.conds, "r.id = ANY(ARRAY("+leafIndexedSQL(w, f)+"))")
		} else {
			w.conds = append(w.conds, "r.id IN ("+leafIndexedSQL(w, f)+")")
		}
		return
	}
	path := w.arg(pq.Array(f.Path)) + "::text[]"
	w.conds = append(w.conds, "r.id IN ("+leafIndexedSQL(w, f)+" UNION ALL SELECT l.result_id FROM result_leaf l JOIN result x ON x.id = l.result_id"+
		" WHERE l.path = "+path+" AND l.txt IS NULL AND "+scanCond(w, f, "x.json", path)+
		" UNION ALL SELECT p.result_id FROM result_leaf_pending p JOIN result x ON x.id = p.result_id WHERE "+scanCond(w, f, "x.json", path)+")")
}

// leafIndexedSQL is the query of the ids whose row of result_leaf at f's
// path satisfies f (an index range scan).
func leafIndexedSQL(w *where, f perf.JSONFilter) string {
	path := w.arg(pq.Array(f.Path)) + "::text[]"
	var cond string
	switch f.Kind {
	case perf.FilterNumber:
		cond = numberCond(w, "l.num", f.Op, f.Num)
	case perf.FilterBool:
		cond = "l.txt IS NOT NULL AND l.kind IN ('b', 's') AND (CASE l.kind WHEN 'b' THEN l.txt::boolean" +
			" ELSE CASE translate(btrim(l.txt, " + w.arg(boolSpace) + "), 'ABEFLNORSTUY', 'abeflnorstuy')" + boolCase +
			" END) " + sqlOp(f.Op) + " " + w.arg(f.Bool) + "::boolean"
	default: // perf.FilterString
		cond = "l.txt " + sqlOp(f.Op) + " " + w.arg(f.Raw) + "::text"
	}
	return "SELECT l.result_id FROM result_leaf l WHERE l.path = " + path + " AND " + cond
}

// scanFilterSQL renders a filter evaluated on every document.
func scanFilterSQL(w *where, f perf.JSONFilter) {
	w.conds = append(w.conds, scanCond(w, f, "r.json", w.arg(pq.Array(f.Path))+"::text[]"))
}

// scanCond is the condition of a matchable filter on the document doc, the
// path's placeholder given.
func scanCond(w *where, f perf.JSONFilter, doc, path string) string {
	switch f.Kind {
	case perf.FilterNumber:
		return numberSQL(w, doc, path, f.Op, f.Num)
	case perf.FilterBool:
		v := w.arg(f.Bool) + "::boolean"
		return "(CASE jsonb_typeof(" + doc + " #> " + path + ")" +
			" WHEN 'boolean' THEN (" + doc + " #> " + path + ")::boolean" +
			" WHEN 'string' THEN CASE translate(btrim(" + doc + " #>> " + path + ", " + w.arg(boolSpace) + "), 'ABEFLNORSTUY', 'abeflnorstuy')" +
			boolCase + " END) " + sqlOp(f.Op) + " " + v
	default: // perf.FilterString
		return "((" + doc + " #>> " + path + ") " + sqlOp(f.Op) + " " + w.arg(f.Raw) + "::text)"
	}
}

// sqlOp is the SQL operator of a filter operator.
func sqlOp(op string) string {
	if op == "==" {
		return "="
	}
	return op
}

// matchable reports whether a filter can match anything: its texts are
// representable, its operator and kind known, and a number is not NaN
// (Python: NaN compares false with everything).
func matchable(f perf.JSONFilter) bool {
	switch {
	case !representable(f.Path...) || !knownOp(f.Op):
		return false
	case f.Kind == perf.FilterNumber:
		return !math.IsNaN(f.Num)
	case f.Kind == perf.FilterString:
		return representable(f.Raw)
	}
	return f.Kind == perf.FilterBool
}

// numberSQL renders a number filter. The stored value is converted to
// numeric (exact, never out of range after numericText's guard) and
// compared with the exact bounds of the set of reals that Python's float()
// rounds to the filter value (roundingInterval): float(x) == v exactly when
// x lies in that interval, float(x) < v when x lies below it, and so on.
// This gives Python's float semantics, overflow to ±inf included, without
// ever casting to float8, whose input fails on out-of-range values. Each
// operator is a single comparison, so the conversion is evaluated once
// (BETWEEN would evaluate it twice).
//
// Index use: none for any operator. == on a number cannot be served by
// containment: {"a": 5} @> finds JSON numbers (11 == 11.0 holds inside @>,
// verified), but the numeric strings "5", " 5", "5.0", "5e0", … that also
// match are not enumerable, and an OR with a non-indexable branch makes the
// planner scan anyway.
func numberSQL(w *where, doc, path, op string, v float64) string {
	n := "(CASE jsonb_typeof(" + doc + " #> " + path + ")" +
		" WHEN 'number' THEN (" + doc + " #> " + path + ")::numeric" +
		" WHEN 'string' THEN CASE WHEN (" + doc + " #>> " + path + ") ~ " + w.arg(numericText) +
		" THEN CASE WHEN octet_length(" + doc + " #>> " + path + ") <= " + strconv.Itoa(numericTextMax) +
		" THEN (" + doc + " #>> " + path + ")::numeric END END END)"
	if op == "==" {
		lo, hi, loClosed, hiClosed := roundingInterval(v)
		flags := map[bool]string{true: "[", false: "("}[loClosed] + map[bool]string{true: "]", false: ")"}[hiClosed]
		return "numrange(" + w.arg(lo) + "::numeric, " + w.arg(hi) + "::numeric, '" + flags + "') @> " + n
	}
	return numberCond(w, n, op, v)
}

// numberCond compares the numeric expression n with a number filter's
// value: one or two plain comparisons with the exact bounds of the value's
// rounding interval, which a B-tree index on n serves.
func numberCond(w *where, n, op string, v float64) string {
	lo, hi, loClosed, hiClosed := roundingInterval(v)
	bound := func(s string) string { return w.arg(s) + "::numeric" }
	switch op {
	case "==":
		return "(" + n + map[bool]string{true: " >= ", false: " > "}[loClosed] + bound(lo) +
			" AND " + n + map[bool]string{true: " <= ", false: " < "}[hiClosed] + bound(hi) + ")"
	case "<":
		return n + map[bool]string{true: " < ", false: " <= "}[loClosed] + bound(lo)
	case ">=":
		return n + map[bool]string{true: " >= ", false: " > "}[loClosed] + bound(lo)
	case ">":
		return n + map[bool]string{true: " > ", false: " >= "}[hiClosed] + bound(hi)
	default: // "<="
		return n + map[bool]string{true: " <= ", false: " < "}[hiClosed] + bound(hi)
	}
}

// roundingInterval returns the reals that round to v under IEEE 754
// round-half-to-even, the rounding of Python's float() (and of Go's
// ParseFloat): the midpoints to v's neighbours as exact decimals, and
// whether each end belongs (a tie rounds to the even neighbour). Beyond
// ±MaxFloat64 the neighbour is ±2^1024, so reals from the midpoint on
// round to ±inf, whose interval runs to numeric's ±Infinity.
func roundingInterval(v float64) (lo, hi string, loClosed, hiClosed bool) {
	if v == 0 {
		v = 0 // -0 rounds like 0
	}
	switch {
	case math.IsInf(v, 1):
		return exactDecimal(midpoint(math.MaxFloat64, 1)), "Infinity", true, true
	case math.IsInf(v, -1):
		return "-Infinity", exactDecimal(midpoint(-math.MaxFloat64, -1)), true, true
	}
	even := math.Float64bits(v)&1 == 0
	return exactDecimal(midpoint(v, -1)), exactDecimal(midpoint(v, 1)), even, even
}

// midpoint is the exact midpoint between finite v and its neighbour in
// direction dir (+1 up, -1 down).
func midpoint(v float64, dir float64) *big.Rat {
	x := new(big.Rat).SetFloat64(v)
	var next *big.Rat
	if n := math.Nextafter(v, math.Inf(int(dir))); math.IsInf(n, 0) {
		next = new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 1024))
		if dir < 0 {
			next.Neg(next)
		}
	} else {
		next = new(big.Rat).SetFloat64(n)
	}
	return x.Add(x, next).Quo(x, big.NewRat(2, 1))
}

// exactDecimal writes a dyadic rational (denominator 2^k) exactly: it has
// at most k decimal places.
func exactDecimal(r *big.Rat) string {
	places := r.Denom().BitLen() - 1
	s := r.FloatString(places)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// arrayIndex reports whether PostgreSQL's #> may use key as an array
// index: strtol reads all of it (leading C whitespace, a sign, digits).
func arrayIndex(key string) bool {
	k := strings.TrimLeft(key, " \t\n\v\f\r")
	if k != "" && (k[0] == '+' || k[0] == '-') {
		k = k[1:]
	}
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return false
		}
	}
	return true // also when out of range, where #> finds nothing: no harm
}

// jsonOrder adds the parameter of a json.<path> sort key and returns its
// ORDER BY term: jsonb ordering (null < strings < numbers < booleans <
// arrays < objects, numbers numerically, strings in the database
// collation), results lacking the path last ascending and first descending
// (PostgreSQL's default NULLS LAST for ASC and NULLS FIRST for DESC),
// API.md §3.5. A numeric key also indexes arrays, as in filters (upstream
// sorted with ->, which does not). A path PostgreSQL cannot hold as text
// (NUL, invalid UTF-8) exists in no result, so the key orders nothing.
//
// The parameter joins w's arguments: build the WHERE conditions, ORDER BY
// and LIMIT on the same where, and do not reuse its arguments for a query
// without this ORDER BY (PostgreSQL refuses unused parameters).
func (w *where) jsonOrder(path []string, desc bool) string {
	expr := w.jsonKey(path)
	if desc {
		expr += " DESC"
	}
	return expr
}

// jsonKey adds the parameter of a json.<path> sort key and returns the
// key's expression (see jsonOrder).
func (w *where) jsonKey(path []string) string {
	if !representable(path...) {
		return "(NULL::jsonb)"
	}
	return "r.json #> " + w.arg(pq.Array(path)) + "::text[]"
}

// orderBy renders sort keys through a resource's whitelist of SQL
// expressions (the API layer validated the names against perf.SortFields),
// then the tiebreak columns for stable paging (API.md §13.2 item 27).
// json.<path> keys of results (Field "json" with a JSONPath) go through
// jsonOrder.
func orderBy(w *where, keys []perf.SortKey, columns map[string]string, tiebreak ...string) (string, error) {
	parts := make([]string, 0, len(keys)+len(tiebreak))
	for _, k := range keys {
		if k.Field == "json" && len(k.JSONPath) > 0 {
			parts = append(parts, w.jsonOrder(k.JSONPath, k.Desc))
			continue
		}
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
	if len(parts) == 0 {
		return "", nil
	}
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

// representable reports whether PostgreSQL can take every s as text.
func representable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

func knownOp(op string) bool {
	switch op {
	case "==", ">", "<", ">=", "<=":
		return true
	}
	return false
}
