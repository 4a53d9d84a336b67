package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// conn is one client's keep-alive HTTP/1.1 connection to the server. The
// benchmark shares two cores with the server and PostgreSQL, so its own
// cost counts against the API. With net/http's Transport, which hands each
// request to goroutines of its own, the load process used 0.19 of a core
// for 1,500 GETs per second (130 µs each); writing the request and reading
// the answer on the client's own connection, 0.12 for 1,600 (77 µs).
// Not safe for concurrent use: each client goroutine has its own.
type conn struct {
	addr string // host:port
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
}

// do sends req and reads the whole answer; a status outside 2xx is an
// error carrying the start of the body. A broken or closed connection is
// replaced on the next call; the request is not retried.
func (k *conn) do(ctx context.Context, req *http.Request) error {
	if k.c == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", k.addr)
		if err != nil {
			return err
		}
		k.c, k.br, k.bw = c, bufio.NewReaderSize(c, 64<<10), bufio.NewWriterSize(c, 16<<10)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(opTimeout)
	}
	k.c.SetDeadline(deadline)
	resp, err := k.roundTrip(req)
	if err != nil {
		k.close()
		return err
	}
	if resp.Close {
		k.close()
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, resp.body)
	}
	return nil
}

// answer is what roundTrip keeps of a response.
type answer struct {
	StatusCode int
	Close      bool
	body       []byte // the first bytes of a non-2xx body
}

func (k *conn) roundTrip(req *http.Request) (answer, error) {
	if err := req.Write(k.bw); err != nil {
		return answer{}, err
	}
	if err := k.bw.Flush(); err != nil {
		return answer{}, err
	}
	resp, err := http.ReadResponse(k.br, req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{StatusCode: resp.StatusCode, Close: resp.Close}
	if resp.StatusCode/100 != 2 {
		a.body, _ = io.ReadAll(io.LimitReader(resp.Body, 300))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return a, err
}

// close drops the connection.
func (k *conn) close() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}
