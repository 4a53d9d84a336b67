// Package validjson decodes JSON texts already known to be valid (checked
// with json.Valid) into the values encoding/json gives with UseNumber,
// several times faster: encoding/json runs its validating scanner over the
// whole text before it decodes it, and its decoder steps through the text
// with the scanner again, a function call per byte. Result uploads are
// checked with json.Valid once, then decoded here for schema validation
// (src/schema) and split into members (bulk lines, src/api); in a bulk
// upload the two stdlib passes over each line took more CPU than
// everything else the server did (profile in issue 12).
//
// On a text that is not valid JSON the functions return an error or some
// value; they never panic and never loop. Callers check validity first.
package validjson

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting Decode follows, as encoding/json's.
const MaxDepth = 10000

var (
	errSyntax = errors.New("validjson: not a valid JSON text")
	errDepth  = errors.New("validjson: exceeded max depth")
)

// Decode returns the value of the valid JSON text data as json.Unmarshal
// into an any, with json.Decoder.UseNumber, returns it: objects as
// map[string]any (the last of duplicate keys wins), arrays as []any
// (non-nil), numbers as json.Number holding their text, strings unquoted
// (invalid UTF-8 and lone surrogates become U+FFFD), true, false and nil.
func Decode(data []byte) (any, error) {
	d := decoder{data: data}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i != len(d.data) {
		return nil, errSyntax
	}
	return v, nil
}

// ErrTooMany is the error of Object and Array when the text holds more
// members or items than asked for.
var ErrTooMany = errors.New("validjson: more members or items than allowed")

// Object returns the members of the valid JSON object text data as
// json.Unmarshal into a map[string]json.RawMessage returns them: each
// value's text without the whitespace around it, the last of duplicate
// keys winning. The values share data's memory. With max > 0, an object
// of more than max members (duplicates counted) is ErrTooMany, found
// without reading past the member after the max-th.
func Object(data []byte, max int) (map[string]json.RawMessage, error) {
	d := decoder{data: data}
	d.space()
	if d.i >= len(d.data) || d.data[d.i] != '{' {
		return nil, errSyntax
	}
	out := map[string]json.RawMessage{}
	n := 0 // members read, duplicates included
	err := d.members(func(k string) error {
		if n++; max > 0 && n > max {
			return ErrTooMany
		}
		start := d.i
		if err := d.skip(); err != nil {
			return err
		}
		out[k] = json.RawMessage(d.data[start:d.i:d.i])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, d.end()
}

// Array returns the items of the valid JSON array text data, each
// item's text without the whitespace around it, sharing data's memory.
// With max > 0, an array of more than max items is ErrTooMany, found
// without reading past the item after the max-th.
func Array(data []byte, max int) ([]json.RawMessage, error) {
	d := decoder{data: data}
	d.space()
	if d.i >= len(d.data) || d.data[d.i] != '[' {
		return nil, errSyntax
	}
	out := []json.RawMessage{}
	err := d.items(func() error {
		if max > 0 && len(out) == max {
			return ErrTooMany
		}
		start := d.i
		if err := d.skip(); err != nil {
			return err
		}
		out = append(out, json.RawMessage(d.data[start:d.i:d.i]))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, d.end()
}

type decoder struct {
	data []byte
	i    int
}

// end checks that only whitespace follows.
func (d *decoder) end() error {
	d.space()
	if d.i != len(d.data) {
		return errSyntax
	}
	return nil
}

func (d *decoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next consumes c if it comes next.
func (d *decoder) next(c byte) bool {
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) value(depth int) (any, error) {
	if d.i >= len(d.data) {
		return nil, errSyntax
	}
	switch c := d.data[d.i]; c {
	case '{':
		return d.object(depth + 1)
	case '[':
		return d.array(depth + 1)
	case '"':
		return d.str()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		start := d.i
		for d.i < len(d.data) && numberByte(d.data[d.i]) {
			d.i++
		}
		if d.i == start {
			return nil, errSyntax
		}
		return json.Number(d.data[start:d.i]), nil
	}
}

func numberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.i < len(word) || string(d.data[d.i:d.i+len(word)]) != word {
		return errSyntax
	}
	d.i += len(word)
	return nil
}

func (d *decoder) object(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errDepth
	}
	m := map[string]any{}
	err := d.members(func(k string) error {
		v, err := d.value(depth)
		m[k] = v
		return err
	})
	return m, err
}

// members reads the object opening at d.i, calling each with every key;
// each reads the member's value (d.i is at its first byte).
func (d *decoder) members(each func(key string) error) error {
	d.i++ // '{'
	d.space()
	if d.next('}') {
		return nil
	}
	for {
		k, err := d.key()
		if err != nil {
			return err
		}
		if err := each(k); err != nil {
			return err
		}
		d.space()
		if d.next('}') {
			return nil
		}
		if !d.next(',') {
			return errSyntax
		}
		d.space()
	}
}

// key reads a member's key, the colon and the whitespace up to its value.
func (d *decoder) key() (string, error) {
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return "", errSyntax
	}
	k, err := d.str()
	if err != nil {
		return "", err
	}
	d.space()
	if !d.next(':') {
		return "", errSyntax
	}
	d.space()
	return k, nil
}

func (d *decoder) array(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errDepth
	}
	a := make([]any, 0)
	err := d.items(func() error {
		v, err := d.value(depth)
		a = append(a, v)
		return err
	})
	return a, err
}

// items reads the array opening at d.i, calling each for every item; each
// reads the item (d.i is at its first byte).
func (d *decoder) items(each func() error) error {
	d.i++ // '['
	d.space()
	if d.next(']') {
		return nil
	}
	for {
		if err := each(); err != nil {
			return err
		}
		d.space()
		if d.next(']') {
			return nil
		}
		if !d.next(',') {
			return errSyntax
		}
		d.space()
	}
}

// str reads a string. Without escapes and in valid UTF-8 its text is the
// bytes between the quotes; otherwise encoding/json unquotes it, so that
// escapes, surrogates and invalid bytes come out exactly as there.
func (d *decoder) str() (string, error) {
	start := d.i
	end, plain := d.strEnd()
	if end < 0 {
		return "", errSyntax
	}
	d.i = end + 1
	body := d.data[start+1 : end]
	if plain {
		return string(body), nil
	}
	var s string
	if err := json.Unmarshal(d.data[start:end+1], &s); err != nil {
		return "", errSyntax
	}
	return s, nil
}

// strEnd returns the index of the closing quote of the string opening at
// d.i (-1 if none), and whether the string is plain: no escape, no control
// character and valid UTF-8.
func (d *decoder) strEnd() (int, bool) {
	plain, ascii := true, true
	for j := d.i + 1; j < len(d.data); j++ {
		switch c := d.data[j]; {
		case c == '"':
			if !ascii && plain {
				plain = utf8.Valid(d.data[d.i+1 : j])
			}
			return j, plain
		case c == '\\':
			plain = false
			j++
		case c < 0x20:
			plain = false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return -1, false
}

// skip passes over one value without decoding it.
func (d *decoder) skip() error {
	depth := 0
	for {
		if d.i >= len(d.data) {
			return errSyntax
		}
		switch c := d.data[d.i]; c {
		case '{', '[':
			depth++
			d.i++
		case '}', ']':
			depth--
			d.i++
		case '"':
			end, _ := d.strEnd()
			if end < 0 {
				return errSyntax
			}
			d.i = end + 1
		case ' ', '\t', '\n', '\r', ',', ':':
			if depth == 0 {
				return errSyntax
			}
			d.i++
		default:
			start := d.i
			for d.i < len(d.data) && (numberByte(c) || c >= 'a' && c <= 'z') {
				d.i++
				if d.i < len(d.data) {
					c = d.data[d.i]
				}
			}
			if d.i == start {
				return errSyntax
			}
		}
		if depth <= 0 {
			if depth < 0 {
				return errSyntax
			}
			return nil
		}
	}
}
