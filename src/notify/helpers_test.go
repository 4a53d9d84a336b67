package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	"github.com/rs/zerolog"
)

// received is one message accepted by fakeSMTP.
type received struct {
	From  string
	Rcpts []string
	Data  []byte
}

// fakeSMTP is the backend of a real go-smtp server that records what it
// accepts and refuses on demand.
type fakeSMTP struct {
	failAt     string          // "mail", "rcpt" or "data": where to refuse
	failFirst  int             // refuse this many sessions; negative: all of them
	failCode   int             // reply code of the refusal (451 transient, 550 permanent)
	rejectRcpt map[string]bool // recipients always refused with 550
	dataDelay  time.Duration   // pause before accepting DATA, to keep mails queued

	mu       sync.Mutex
	attempts int // sessions that sent MAIL FROM
	msgs     []received
}

func (f *fakeSMTP) NewSession(*smtp.Conn) (smtp.Session, error) { return &fakeSession{f: f}, nil }

func (f *fakeSMTP) messages() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.msgs...)
}

func (f *fakeSMTP) attemptCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

type fakeSession struct {
	f       *fakeSMTP
	attempt int
	from    string
	rcpts   []string
}

// refuse returns the configured refusal when this session must fail at stage.
func (s *fakeSession) refuse(stage string) error {
	if s.f.failAt != stage || (s.f.failFirst >= 0 && s.attempt > s.f.failFirst) {
		return nil
	}
	return &smtp.SMTPError{Code: s.f.failCode, EnhancedCode: smtp.EnhancedCode{s.f.failCode / 100, 0, 0},
		Message: "refused by test at " + stage}
}

func (s *fakeSession) Mail(from string, _ *smtp.MailOptions) error {
	s.f.mu.Lock()
	s.f.attempts++
	s.attempt = s.f.attempts
	s.f.mu.Unlock()
	s.from = from
	return s.refuse("mail")
}

func (s *fakeSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.f.rejectRcpt[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	if err := s.refuse("rcpt"); err != nil {
		return err
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.refuse("data"); err != nil {
		return err
	}
	time.Sleep(s.f.dataDelay)
	s.f.mu.Lock()
	s.f.msgs = append(s.f.msgs, received{From: s.from, Rcpts: s.rcpts, Data: data})
	s.f.mu.Unlock()
	return nil
}

func (s *fakeSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *fakeSession) Logout() error { return nil }

type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}

// startSMTP serves f on 127.0.0.1 and returns the port.
func startSMTP(t *testing.T, f *fakeSMTP) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(f)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	s.ErrorLog = quietLog{}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// startHungServer accepts TCP connections and never answers; accepted gets
// a value for each connection.
func startHungServer(t *testing.T) (port int, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			ch <- struct{}{}
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port, ch
}

// closedPort returns a local port nobody listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// logBuffer collects zerolog JSON lines from the worker goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// entries returns the log lines whose message is msg.
func (l *logBuffer) entries(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if e["message"] == msg {
			out = append(out, e)
		}
	}
	return out
}

// newTestNotifier returns a notifier with test-sized delays, logging into
// the returned buffer; it sends to 127.0.0.1:opt.Port when a port is given
// and logs the mails otherwise. It is closed when the test ends.
func newTestNotifier(t *testing.T, opt Options) (*Notifier, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opt.Logger = zerolog.New(logs).Level(zerolog.DebugLevel)
	if opt.Port != 0 { // a test server's port: SMTP mode; none: log mode
		opt.Server = "127.0.0.1"
	}
	if opt.From == "" {
		opt.From = "perf@example.org"
	}
	if opt.RetryDelay == 0 {
		opt.RetryDelay = 5 * time.Millisecond
	}
	if opt.Timeout == 0 {
		opt.Timeout = 2 * time.Second
	}
	n := New(opt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	return n, logs
}

// closeNow closes n and fails the test when mails were lost.
func closeNow(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// parse reads a received message.
func parse(t *testing.T, data []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	return m
}

// isDeadline reports whether err says the Close context ran out.
func isDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
