package perf

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FilterKind is how a JSON filter compares the stored value, decided from
// the value text alone (API.md §3.8).
type FilterKind int

// The filter kinds, in the order the value text is tried. The zero value is
// no kind: a JSONFilter that ParseFilter did not produce matches nothing.
const (
	FilterNumber FilterKind = iota + 1 // the stored value converted to a float
	FilterBool                         // the stored value converted to a boolean
	FilterString                       // the stored value's text
)

// String names the kind for logs and test output.
func (k FilterKind) String() string {
	switch k {
	case FilterNumber:
		return "number"
	case FilterBool:
		return "bool"
	case FilterString:
		return "string"
	default:
		return "none"
	}
}

// JSONFilter is one parsed `filters` value `<path> <op> <value>` of
// GET /results (API.md §3.8).
type JSONFilter struct {
	// Path holds the dot-separated keys; an empty key (from "a..b" or a
	// leading dot) is kept as the key "" (upstream looks it up too), and a
	// key that is an integer also indexes arrays (PostgreSQL #> semantics).
	Path []string
	// Op is one of FilterOps.
	Op string
	// Raw is the value text as given.
	Raw  string
	Kind FilterKind
	// Num is the value of a FilterNumber filter: Python float() of Raw, so
	// it may be ±Inf (1e400, "inf") or NaN ("nan").
	Num float64
	// Bool is the value of a FilterBool filter.
	Bool bool
}

// FilterOps are the comparison operators of JSON filters, in the order
// upstream's error hint lists them.
var FilterOps = []string{"==", ">", "<", ">=", "<="}

// Abuse limits of a JSON filter. Upstream has none; a filter beyond them
// gets a 422 with its own reason rather than being truncated.
const (
	MaxFilterLength    = 1024 // characters of the whole filter text
	MaxFilterPathDepth = 32   // dot-separated keys of the path
)

const (
	filterExample   = "filters=machine.cpu.count%20%3E%205"
	filterSplitHint = "Probably missing spaces (%20)"
	filterOpHint    = "Use only one of ['==', '>', '<', '>=', '<=']"
)

// ParseFilter parses one `filters` value. Errors are *Error of kind
// Invalid with upstream's bodies (API.md §3.8, §13 item 13): a wrong number
// of space-separated parts goes in "errors", an unknown operator in
// "message". Checks beyond upstream's (length, path depth, NUL or invalid
// UTF-8, which PostgreSQL cannot take as text) come after upstream's own and
// use the "errors" form.
func ParseFilter(s string) (JSONFilter, error) {
	// Python's s.split(' '): every single space separates, so double spaces
	// give empty parts.
	parts := strings.Split(s, " ")
	switch {
	case len(parts) < 3:
		return JSONFilter{}, filterError(s, "not enough values to unpack (expected 3, got "+strconv.Itoa(len(parts))+")", filterSplitHint)
	case len(parts) > 3:
		return JSONFilter{}, filterError(s, "too many values to unpack (expected 3)", filterSplitHint)
	}
	path, op, value := parts[0], parts[1], parts[2]
	if !validOp(op) {
		return JSONFilter{}, &Error{Kind: Invalid, Msg: "Unknown filter operator: '" + op + "'",
			Detail: FilterError{Filter: s, Hint: filterOpHint, Example: filterExample, Operator: true}}
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return JSONFilter{}, filterError(s, "Filter contains a NUL character or invalid UTF-8", "Use only valid UTF-8 text without NUL characters")
	}
	if n := utf8.RuneCountInString(s); n > MaxFilterLength {
		return JSONFilter{}, filterError(s, "Filter longer than "+strconv.Itoa(MaxFilterLength)+" characters", "Use shorter paths and values")
	}
	f := JSONFilter{Path: strings.Split(path, "."), Op: op, Raw: value}
	if len(f.Path) > MaxFilterPathDepth {
		return JSONFilter{}, filterError(s, "Path deeper than "+strconv.Itoa(MaxFilterPathDepth)+" keys", "Use at most "+strconv.Itoa(MaxFilterPathDepth)+" dot-separated keys")
	}
	switch num, ok := PythonFloat(value); {
	case ok:
		f.Kind, f.Num = FilterNumber, num
	case value == "true" || value == "True" || value == "TRUE":
		f.Kind, f.Bool = FilterBool, true
	case value == "false" || value == "False" || value == "FALSE":
		f.Kind = FilterBool
	default:
		f.Kind = FilterString
	}
	return f, nil
}

// ParseFilters parses every `filters` value; the first bad one is the
// error, as upstream stops at it.
func ParseFilters(ss []string) ([]JSONFilter, error) {
	fs := make([]JSONFilter, 0, len(ss))
	for _, s := range ss {
		f, err := ParseFilter(s)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func validOp(op string) bool {
	for _, o := range FilterOps {
		if op == o {
			return true
		}
	}
	return false
}

// filterError is the "errors" form of a filter error.
func filterError(s, reason, hint string) *Error {
	return &Error{Kind: Invalid, Msg: reason, Detail: FilterError{Filter: s, Hint: hint, Example: filterExample}}
}

// PythonFloat reports whether Python's float(s) accepts s, and its value:
// surrounding whitespace (ASCII isspace, or any Unicode White_Space above
// U+007F), an optional sign, then "inf", "infinity" or "nan" in any case,
// or a decimal number whose digits may be any Unicode decimal digits and
// may be grouped by single underscores between digits. Overflow gives ±Inf
// and underflow 0, as in Python; hexadecimal is not accepted.
func PythonFloat(s string) (float64, bool) {
	s = strings.TrimFunc(s, pythonSpace)
	// Python first maps every decimal digit to ASCII; any other non-ASCII
	// character makes the text invalid.
	ascii := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			ascii = append(ascii, byte(r))
		case unicode.Is(unicode.Nd, r):
			ascii = append(ascii, '0'+decimalValue(r))
		default:
			return 0, false
		}
	}
	t := string(ascii)
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	switch strings.ToLower(t) {
	case "inf", "infinity":
		if sign == "-" {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case "nan":
		return math.NaN(), true
	}
	num, ok := decimalText(t)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(sign+num, 64)
	var ne *strconv.NumError
	if err != nil && !(errors.As(err, &ne) && ne.Err == strconv.ErrRange) {
		return 0, false
	}
	return f, true // ErrRange comes with ±Inf, which is Python's value too
}

// pythonSpace is the whitespace float() strips: C isspace for ASCII (so not
// U+001C..U+001F, which str.isspace would count) and Unicode White_Space
// above U+007F.
func pythonSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// decimalValue is the digit value of a Unicode decimal digit: Unicode
// encodes every decimal digit set as ten consecutive code points starting
// at zero, and the Nd table's stride-1 ranges start at a zero.
func decimalValue(r rune) byte {
	for _, rg := range unicode.Nd.R16 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10)
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10)
		}
	}
	return 0
}

// decimalText checks Python's grammar for an unsigned decimal number
//
//	digitpart ::= digit (["_"] digit)*
//	number    ::= [digitpart] "." digitpart | digitpart ["."]
//	float     ::= number [("e" | "E") ["+" | "-"] digitpart]
//
// and returns it without underscores.
func decimalText(t string) (string, bool) {
	var b strings.Builder
	i := 0
	// digitpart consumes one digit part starting at i and reports whether
	// it held at least one digit.
	digitpart := func() bool {
		start := i
		for i < len(t) {
			c := t[i]
			switch {
			case c >= '0' && c <= '9':
				b.WriteByte(c)
				i++
			case c == '_' && i > start && i+1 < len(t) && t[i+1] >= '0' && t[i+1] <= '9':
				i++
			default:
				return i > start
			}
		}
		return i > start
	}
	intPart := digitpart()
	if i < len(t) && t[i] == '.' {
		b.WriteByte('.')
		i++
		if !digitpart() && !intPart {
			return "", false
		}
	} else if !intPart {
		return "", false
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		b.WriteByte('e')
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			b.WriteByte(t[i])
			i++
		}
		if !digitpart() {
			return "", false
		}
	}
	return b.String(), i == len(t)
}
