package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxReprLen bounds the Python-style rendering of a value inside an error
// message. Python prints the whole instance (a failing root document would
// be repeated in full); a client only needs enough to recognise the value.
const maxReprLen = 200

// pyRepr renders a decoded JSON value the way Python's repr() prints the
// value json.loads would have produced, so error texts read like upstream's
// ('x', 5, 1.5, True, None, ['a', 1], {'k': 'v'}). Object keys are sorted
// because the decoded map has lost the document order. The result is cut at
// maxReprLen.
func pyRepr(v any) string {
	var sb strings.Builder
	writeRepr(&sb, v)
	s := sb.String()
	if len(s) > maxReprLen {
		cut := maxReprLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func writeRepr(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		sb.WriteString("None")
	case bool:
		if v {
			sb.WriteString("True")
		} else {
			sb.WriteString("False")
		}
	case string:
		sb.WriteString(pyStr(v))
	case json.Number:
		sb.WriteString(pyNumber(string(v)))
	case float64:
		sb.WriteString(pyFloat(v))
	case float32:
		sb.WriteString(pyFloat(float64(v)))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		fmt.Fprint(sb, v)
	case *big.Rat:
		sb.WriteString(pyRat(v))
	case []any:
		sb.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeRepr(sb, e)
			if sb.Len() > maxReprLen {
				break // pyRepr cuts here anyway; do not render a huge array
			}
		}
		sb.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(pyStr(k))
			sb.WriteString(": ")
			writeRepr(sb, v[k])
			if sb.Len() > maxReprLen {
				break
			}
		}
		sb.WriteByte('}')
	default:
		fmt.Fprint(sb, v)
	}
}

// pyStr is Python's repr of a str: single quotes unless the text contains a
// single quote and no double quote; backslash, the chosen quote and
// non-printable characters escaped.
func pyStr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var sb strings.Builder
	sb.Grow(len(s) + 2)
	sb.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\':
			sb.WriteString(`\\`)
		case r == rune(quote):
			sb.WriteByte('\\')
			sb.WriteByte(quote)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			sb.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			fmt.Fprintf(&sb, `\U%08x`, r)
		}
	}
	sb.WriteByte(quote)
	return sb.String()
}

// pyNumber renders a JSON number literal as Python does after json.loads:
// integer literals stay integers of any size, the others become floats.
func pyNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if i, ok := new(big.Int).SetString(lit, 10); ok {
			return i.String()
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !math.IsInf(f, 0) {
		return lit
	}
	return pyFloat(f)
}

// pyFloat is Python's repr of a float: the shortest round-tripping digits,
// positional notation with a trailing ".0" for exponents in [-4, 16),
// scientific notation ("1e+16", "1.5e-05") otherwise.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(sci, "e")
	e, _ := strconv.Atoi(exp)
	if e >= -4 && e < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsAny(s, ".") {
			s += ".0"
		}
		return s
	}
	return mant + "e" + exp
}

// pyRat renders a schema bound the library keeps as a rational: an integer
// when it is one, a float otherwise.
func pyRat(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return pyFloat(f)
}

// pyDeque renders an instance location as upstream's str(error.path):
// "deque(['machine', 'cpu', 0])", "deque([])" for the root.
func pyDeque(path []any) string {
	var sb strings.Builder
	sb.WriteString("deque([")
	for i, tok := range path {
		if i > 0 {
			sb.WriteString(", ")
		}
		switch tok := tok.(type) {
		case int:
			sb.WriteString(strconv.Itoa(tok))
		case string:
			sb.WriteString(pyStr(tok))
		}
	}
	sb.WriteString("])")
	return sb.String()
}
