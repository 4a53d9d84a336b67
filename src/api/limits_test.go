package api

import (
	"strings"
	"testing"
)

func TestJSONShape(t *testing.T) {
	cases := []struct {
		doc         string
		depth, keys int
	}{
		{`{}`, 1, 0},
		{`{"a":1,"b":[1,2,{"c":"x"}]}`, 3, 3},
		{`{"a:{[":"}]:\"{"}`, 1, 1}, // brackets and colons inside strings do not count
		{`[[[[]]]]`, 4, 0},
		{`"text"`, 0, 0},
	}
	for _, tc := range cases {
		if d, k, _ := jsonShape([]byte(tc.doc), 0, 0); d != tc.depth || k != tc.keys {
			t.Errorf("jsonShape(%s) = %d, %d; want %d, %d", tc.doc, d, k, tc.depth, tc.keys)
		}
	}
	if _, _, c := jsonShape([]byte(`{"a":[{},{"b":"[{"}],"c":{}}`), 0, 0); c != 5 {
		t.Errorf("%d objects and arrays, want 5", c)
	}
	// The scan stops as soon as a limit is passed.
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	if d, _, _ := jsonShape([]byte(deep), 64, 0); d != 65 {
		t.Errorf("depth %d, want the scan to stop at 65", d)
	}
}

func TestRewritePlainError(t *testing.T) {
	plain := "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"
	got := string(rewritePlainError([]byte(plain)))
	want := "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 56\r\nContent-Type: application/json\r\n\r\n" +
		`{"code":431,"status":"Request Header Fields Too Large"}` + "\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	badHost := "HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header"
	if got := string(rewritePlainError([]byte(badHost))); !strings.HasSuffix(got, `{"code":400,"status":"Bad Request"}`+"\n") {
		t.Errorf("got %q", got)
	}
	// A handler's answer (headers sorted, Connection first) is left alone.
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nok",
		"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{}",
		"some body bytes",
	} {
		if out := rewritePlainError([]byte(s)); out != nil {
			t.Errorf("rewrote %q", s)
		}
	}
}
