package validjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/eosc-perf/api/src/samples"
)

// stdDecode is what Decode must equal: encoding/json with UseNumber.
func stdDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// same checks that Decode and Object agree with encoding/json on data.
func same(t *testing.T, data []byte) {
	t.Helper()
	if !json.Valid(data) {
		t.Fatalf("test input is not valid JSON: %q", data)
	}
	want, err := stdDecode(data)
	if err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode(%.200q): %v", data, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%.200q) =\n%#v\nwant\n%#v", data, got, want)
	}
	if bytes.TrimSpace(data)[0] == '[' {
		var wantItems []json.RawMessage
		if err := json.Unmarshal(data, &wantItems); err != nil {
			t.Fatal(err)
		}
		items, err := Array(data, 0)
		if err != nil || !reflect.DeepEqual(items, wantItems) {
			t.Fatalf("Array(%.200q) = %q, %v; want %q", data, items, err, wantItems)
		}
	}
	var wantObj map[string]json.RawMessage
	if t := bytes.TrimSpace(data); t[0] != '{' || json.Unmarshal(data, &wantObj) != nil {
		return // not an object
	}
	gotObj, err := Object(data, 0)
	if err != nil {
		t.Fatalf("Object(%.200q): %v", data, err)
	}
	if !reflect.DeepEqual(gotObj, wantObj) {
		t.Fatalf("Object(%.200q) =\n%q\nwant\n%q", data, gotObj, wantObj)
	}
}

func TestDecodeEdgeCases(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0.5e+10`, `1E-7`, `true`, `false`, `null`,
		" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n",
		`{"a":1,"a":2}`,        // the last duplicate wins
		`{"a":{"x":1},"a":[]}`, // also between kinds
		`{"":""}`,              // empty key
		`{"a\"b":"c\\d","\u00e9":"\u00e9","e\u0301":"x"}`,     // escaped keys
		`["\ud83d\ude00","\ud83d","\ude00x","\ud83dx\ude00"]`, // pairs and lone surrogates
		`["\u0000","\/","\b\f\n\r\t"]`,
		"[\"caf\xc3\xa9\",\"\xe2\x82\xac\",\"\xf0\x9f\x98\x80\"]", // raw UTF-8
		"[\"\xff\",\"a\xc3\",\"\xed\xa0\x80\"]",                   // invalid UTF-8 and a UTF-8 surrogate
		`{"n":[1.0,1e400,-1e-400,123456789012345678901234567890]}`,
		`[[[[[[[[[[]]]]]]]]]]`, `[{},[],{"":[{}]}]`,
		`{"a":true,"b":false,"c":null,"d":"true"}`,
	} {
		same(t, []byte(s))
	}
}

func TestDecodeSamples(t *testing.T) {
	t.Parallel()
	same(t, samples.Template())
	for _, r := range samples.Results() {
		same(t, r.JSON)
		var buf bytes.Buffer
		if err := json.Indent(&buf, r.JSON, " ", "\t"); err != nil {
			t.Fatal(err)
		}
		same(t, buf.Bytes())
	}
}

// TestDecodeRandomDocuments compares with encoding/json on 3,000 random
// documents mixing every kind of value, escapes and whitespace.
func TestDecodeRandomDocuments(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(12, 34))
	for range 3000 {
		var b bytes.Buffer
		randomValue(rng, &b, 0)
		same(t, b.Bytes())
	}
}

var randomStrings = []string{
	"", "a", "machine", "Genuine Intel", `\"`, `\\`, `\/`, `\n`, `\u0041`, `\u00e9`, `\ud83d\ude00`, `\ud800`,
	`\udfff\ud800`, "é", "日本", "\xff", "a\x80b", `\t\u001f`, "1.5", "true",
}

func randomValue(rng *rand.Rand, b *bytes.Buffer, depth int) {
	space := func() {
		if rng.IntN(4) == 0 {
			b.WriteString([]string{" ", "\n", "\t", "\r\n  "}[rng.IntN(4)])
		}
	}
	space()
	k := rng.IntN(10)
	if depth > 5 {
		k = 2 + rng.IntN(8)
	}
	switch k {
	case 0, 1: // object
		b.WriteByte('{')
		n := rng.IntN(5)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			space()
			fmt.Fprintf(b, `"%s"`, randomStrings[rng.IntN(len(randomStrings))])
			space()
			b.WriteByte(':')
			randomValue(rng, b, depth+1)
		}
		space()
		b.WriteByte('}')
	case 2: // array
		b.WriteByte('[')
		n := rng.IntN(4)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			randomValue(rng, b, depth+1)
		}
		space()
		b.WriteByte(']')
	case 3, 4:
		fmt.Fprintf(b, `"%s%s"`, randomStrings[rng.IntN(len(randomStrings))], randomStrings[rng.IntN(len(randomStrings))])
	case 5, 6:
		b.WriteString([]string{"0", "-1", "3.25", "1e5", "-2.5E-3", "12345678901234567890", "0.000"}[rng.IntN(7)])
	case 7:
		b.WriteString("true")
	case 8:
		b.WriteString("false")
	default:
		b.WriteString("null")
	}
	space()
}

func TestDecodeDepth(t *testing.T) {
	t.Parallel()
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	same(t, []byte(ok))
	deep := "[" + ok + "]"
	if _, err := Decode([]byte(deep)); err == nil {
		t.Error("Decode accepted nesting deeper than MaxDepth")
	}
	if _, err := stdDecode([]byte(deep)); err == nil {
		t.Error("encoding/json accepts nesting deeper than MaxDepth: update MaxDepth")
	}
}

// TestInvalidTextsFailWithoutPanic: what Decode and Object answer for
// invalid texts is unspecified, but truncations of valid texts (every
// prefix of a sample) end in an error, not a panic or a hang.
func TestInvalidTextsFailWithoutPanic(t *testing.T) {
	t.Parallel()
	doc := samples.Results()[0].JSON
	for n := range len(doc) {
		if _, err := Decode(doc[:n]); err == nil && !json.Valid(doc[:n]) {
			t.Fatalf("Decode accepted the truncated text %q", doc[:n])
		}
		if _, err := Object(doc[:n], 0); err == nil {
			t.Fatalf("Object accepted the truncated text %q", doc[:n])
		}
	}
	for _, s := range []string{``, `{`, `{"a"`, `{"a":`, `{"a":1,`, `{"a" 1}`, `[1 2]`, `"\`, `{"a":}`, `{"a":1}}`, `[`, `#`, `{"a":#}`} {
		_, _ = Decode([]byte(s))
		if _, err := Object([]byte(s), 0); err == nil {
			t.Errorf("Object(%q) succeeded", s)
		}
	}
}

func TestMaxMembersAndItems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text    string
		max     int
		tooMany bool
	}{
		{`{"a":1,"b":2}`, 2, false}, {`{"a":1,"b":2,"c":3}`, 2, true}, {`{"a":1,"a":2,"a":3}`, 2, true}, // duplicates count
		{`{}`, 1, false}, {`{"a":1}`, 0, false},
		{`[1,2]`, 2, false}, {`[1,2,3]`, 2, true}, {`[]`, 1, false}, {`[[1,2,3]]`, 1, false}, // nested items do not count
		{`[1,2,3]`, 0, false},
	} {
		var err error
		if tc.text[0] == '{' {
			_, err = Object([]byte(tc.text), tc.max)
		} else {
			_, err = Array([]byte(tc.text), tc.max)
		}
		if (err == ErrTooMany) != tc.tooMany || (err != nil && err != ErrTooMany) {
			t.Errorf("%s with max %d: %v, want too many: %v", tc.text, tc.max, err, tc.tooMany)
		}
	}
	// Stops at the item after the max-th: what follows is never read (here
	// it is not even JSON).
	if _, err := Array([]byte(`[1,2,3,`+strings.Repeat("#", 100)), 2); err != ErrTooMany {
		t.Errorf("Array read past the third item: %v", err)
	}
	if _, err := Object([]byte(`{"a":1,"b":2,"c":#`), 2); err != ErrTooMany {
		t.Errorf("Object read past the third member: %v", err)
	}
	for _, s := range []string{`null`, `{}`, `"x"`, `[1,`, `[1 2]`} {
		if _, err := Array([]byte(s), 0); err == nil {
			t.Errorf("Array(%s) succeeded", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",{"b":null}]}`, `"\ud83d"`, `[1e5,true]`, "{\"\xff\":1}"} {
		f.Add([]byte(s))
	}
	f.Add(samples.Results()[0].JSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		obj, oerr := Object(data, 0)
		items, aerr := Array(data, 0)
		if !json.Valid(data) {
			return // any answer but a panic
		}
		want, werr := stdDecode(data)
		if werr != nil {
			if err == nil {
				t.Fatalf("Decode(%q) = %#v, encoding/json fails: %v", data, v, werr)
			}
			return // deeper than MaxDepth
		}
		if err != nil || !reflect.DeepEqual(v, want) {
			t.Fatalf("Decode(%q) = %#v, %v; want %#v", data, v, err, want)
		}
		var wantObj map[string]json.RawMessage
		if bytes.TrimSpace(data)[0] == '{' && json.Unmarshal(data, &wantObj) == nil && (oerr != nil || !reflect.DeepEqual(obj, wantObj)) {
			t.Fatalf("Object(%q) = %q, %v; want %q", data, obj, oerr, wantObj)
		}
		var wantItems []json.RawMessage
		if bytes.TrimSpace(data)[0] == '[' && json.Unmarshal(data, &wantItems) == nil && (aerr != nil || !reflect.DeepEqual(items, wantItems)) {
			t.Fatalf("Array(%q) = %q, %v; want %q", data, items, aerr, wantItems)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	doc := samples.Results()[0].JSON
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := Decode(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStdDecode(b *testing.B) {
	doc := samples.Results()[0].JSON
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := stdDecode(doc); err != nil {
			b.Fatal(err)
		}
	}
}
