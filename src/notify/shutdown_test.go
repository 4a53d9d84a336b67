package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
)

// waitAccepted fails the test when the worker does not connect in time.
func waitAccepted(t *testing.T, accepted <-chan struct{}) {
	t.Helper()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker never connected to the server")
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	port, accepted := startHungServer(t)
	n, logs := newTestNotifier(t, Options{Port: port, QueueSize: 1, Timeout: time.Minute})
	n.Send(perf.MailWelcome("first@example.org"))
	waitAccepted(t, accepted) // the worker is now stuck on the first mail
	n.Send(perf.MailWelcome("second@example.org"))

	start := time.Now()
	n.Send(perf.MailWelcome("third@example.org"))
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Send on a full queue took %v", d)
	}
	drops := logs.entries(t, "mail dropped: queue full")
	if len(drops) != 1 || drops[0]["level"] != "warn" || drops[0]["subject"] != "Thank you for registering" {
		t.Fatalf("drop log = %v, want one warn line with the subject", drops)
	}
	if to, _ := drops[0]["to"].([]any); len(to) != 1 || to[0] != "third@example.org" {
		t.Errorf("drop log to = %v, want [third@example.org]", drops[0]["to"])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := n.Close(ctx)
	if !isDeadline(err) || !strings.Contains(err.Error(), "2 mails") {
		t.Errorf("Close = %v, want 2 mails lost on the deadline", err)
	}
	if got := len(logs.entries(t, "mail lost at shutdown")); got != 2 {
		t.Errorf("%d lost-mail log lines, want 2", got)
	}
}

func TestCloseFlushesPendingMails(t *testing.T) {
	srv := &fakeSMTP{dataDelay: 10 * time.Millisecond}
	n, logs := newTestNotifier(t, Options{Port: startSMTP(t, srv)})
	for i := 0; i < 5; i++ {
		n.Send(perf.MailWelcome(uploader))
	}
	closeNow(t, n)
	if got := len(srv.messages()); got != 5 {
		t.Fatalf("delivered %d messages before Close returned, want 5", got)
	}

	n.Send(perf.MailWelcome(uploader))
	if e := logs.entries(t, "mail dropped: notifier closed"); len(e) != 1 {
		t.Errorf("send-after-close log = %v, want one line", e)
	}
	closeNow(t, n) // idempotent
	if got := len(srv.messages()); got != 5 {
		t.Errorf("delivered %d messages after a Send on a closed notifier, want 5", got)
	}
}

func TestCloseReturnsAtDeadline(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (port int, wait func())
	}{
		{
			name: "hung server",
			setup: func(t *testing.T) (int, func()) {
				port, accepted := startHungServer(t)
				return port, func() { waitAccepted(t, accepted) }
			},
		},
		{
			name: "retry backoff",
			setup: func(t *testing.T) (int, func()) {
				srv := &fakeSMTP{failAt: "mail", failFirst: -1, failCode: 451}
				port := startSMTP(t, srv)
				return port, func() {
					for srv.attemptCount() == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, wait := tt.setup(t)
			n, logs := newTestNotifier(t, Options{Port: port, Timeout: time.Minute, RetryDelay: time.Minute})
			n.Send(perf.MailWelcome(uploader))
			wait()

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := n.Close(ctx)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Close took %v with a 200ms deadline", d)
			}
			if !isDeadline(err) {
				t.Errorf("Close = %v, want a deadline error", err)
			}
			if err2 := n.Close(context.Background()); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("second Close = %v, want the first result %v", err2, err)
			}
			if got := len(logs.entries(t, "mail queue closed before it was flushed")); got != 1 {
				t.Errorf("%d queue-lost log lines, want 1", got)
			}
			if got := len(logs.entries(t, "mail given up")); got != 0 {
				t.Errorf("a mail aborted by Close was logged as given up")
			}
		})
	}
}
