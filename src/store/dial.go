package store

import (
	"bufio"
	"context"
	"net"
	"time"
)

// bufferedDialer opens the pool's connections to PostgreSQL with a read
// buffer of connReadBuffer bytes under lib/pq's own 4 KiB one: a page of
// 100 results is ~350 kB of DataRow messages, which lib/pq otherwise reads
// with ~90 read system calls (13 % of the server's CPU on a page in a
// profile); with the buffer, one call takes what the socket holds. Only
// Read is changed; deadlines, Close and TLS (which lib/pq layers on top,
// after a one-byte answer that leaves nothing to read ahead) pass through.
type bufferedDialer struct{ d net.Dialer }

const connReadBuffer = 32 << 10

func (b bufferedDialer) Dial(network, address string) (net.Conn, error) {
	return b.DialContext(context.Background(), network, address)
}

func (b bufferedDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return b.DialContext(ctx, network, address)
}

func (b bufferedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := b.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connReadBuffer)}, nil
}

// bufferedConn is a connection whose reads go through r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
