package api

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
)

// ErrorFormatListener wraps the API's listener so that the answers net/http
// writes by itself, before any handler runs (431 for headers over
// MAX_HEADER_BYTES, such as a 1 MB bearer token; 400 for a malformed
// request; 501 for an unknown transfer coding), come in the error format
// of the API ({"code","status"} as JSON) instead of plain text.
func ErrorFormatListener(ln net.Listener) net.Listener { return errorFormatListener{ln} }

type errorFormatListener struct{ net.Listener }

func (l errorFormatListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return errorFormatConn{c}, nil
}

type errorFormatConn struct{ net.Conn }

// plainErrorHeaders end the header of every error net/http writes itself
// (net/http.(*conn).serve). A handler's answer can never contain them in
// this order: net/http writes a handler's headers sorted, Connection first.
var plainErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c errorFormatConn) Write(b []byte) (int, error) {
	if out := rewritePlainError(b); out != nil {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// rewritePlainError returns the JSON form of a whole plain-text error
// answer of net/http, or nil when b is anything else.
func rewritePlainError(b []byte) []byte {
	const prefix = "HTTP/1.1 "
	if len(b) < len(prefix)+3 || string(b[:len(prefix)]) != prefix {
		return nil
	}
	end := bytes.Index(b, plainErrorHeaders)
	if end < 0 || bytes.IndexByte(b[:end], '\n') >= 0 {
		return nil // not a status line followed by net/http's error headers
	}
	code, err := strconv.Atoi(string(b[len(prefix) : len(prefix)+3]))
	if err != nil || code < 400 || code > 599 {
		return nil
	}
	body, _ := json.Marshal(envelope(code))
	body = append(body, '\n')
	var out bytes.Buffer
	out.WriteString(prefix + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	out.WriteString("Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n")
	out.WriteString("Content-Type: application/json\r\n\r\n")
	out.Write(body)
	return out.Bytes()
}

// CloseWrite keeps net/http's half-close before it hangs up on a client
// that sent too much (closeWriteAndWait).
func (c errorFormatConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
