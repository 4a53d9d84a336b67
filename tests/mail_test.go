package tests

import (
	"io"
	"mime"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server (go-smtp) on loopback that keeps every
// message it receives, for end-to-end checks of the notifications.
type mailbox struct {
	mu   sync.Mutex
	msgs []gotMail
	addr string
}

// gotMail is one received message.
type gotMail struct {
	Rcpts   []string
	Header  mail.Header
	Subject string
	Body    string
}

func startMailbox(t testing.TB) *mailbox {
	t.Helper()
	mb := &mailbox{}
	srv := smtp.NewServer(mb)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb
}

// env returns the MAIL_* settings that point the service at the mailbox.
func (mb *mailbox) env() map[string]string {
	host, port, _ := net.SplitHostPort(mb.addr)
	return map[string]string{"MAIL_SERVER": host, "MAIL_PORT": port, "MAIL_FROM": "perf@example.org", "MAIL_SUPPORT": "support@example.org"}
}

// wait returns the first message whose subject has the prefix, waiting up
// to 10 s for the service's queue to deliver it.
func (mb *mailbox) wait(t testing.TB, subjectPrefix string) gotMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mb.mu.Lock()
		for _, m := range mb.msgs {
			if strings.HasPrefix(m.Subject, subjectPrefix) {
				mb.mu.Unlock()
				return m
			}
		}
		mb.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no mail with subject %q; got %d: %v", subjectPrefix, mb.count(), mb.subjects())
	return gotMail{}
}

func (mb *mailbox) count() int {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return len(mb.msgs)
}

func (mb *mailbox) subjects() []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var out []string
	for _, m := range mb.msgs {
		out = append(out, strconv.Quote(m.Subject))
	}
	return out
}

func (mb *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb}, nil }

type mailSession struct {
	mb    *mailbox
	rcpts []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(msg.Body)
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, gotMail{Rcpts: s.rcpts, Header: msg.Header, Subject: subject, Body: string(body)})
	s.mb.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.rcpts = nil }
func (s *mailSession) Logout() error { return nil }
