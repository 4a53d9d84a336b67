package notify

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eosc-perf/api/src/perf"
)

const (
	uploader = "uploader@example.org"
	support  = "support@example.org"
)

func TestSendDeliversOverSMTP(t *testing.T) {
	longBody := "Grüße = " + strings.Repeat("x", 200) + "\n.leading dot line\nend"
	tests := []struct {
		name        string
		support     string
		mail        perf.Mail
		wantRcpts   []string
		wantHeaders map[string]string // "" means: header absent
	}{
		{
			name: "submission goes to the uploader with support in copy", support: support,
			mail:      perf.MailSubmitted(uploader, "site", "id-1"),
			wantRcpts: []string{uploader, support},
			wantHeaders: map[string]string{"From": "<perf@example.org>", "To": "<" + uploader + ">",
				"Cc": "<" + support + ">", "Subject": "New site resource submitted: id-1", "Resource-ID": "id-1",
				"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8"},
		},
		{
			name: "welcome mail has no support copy", support: support,
			mail:        perf.MailWelcome(uploader),
			wantRcpts:   []string{uploader},
			wantHeaders: map[string]string{"To": "<" + uploader + ">", "Cc": "", "Subject": "Thank you for registering"},
		},
		{
			name: "claim mail carries result and claim ids", support: support,
			mail:      perf.MailClaimed(uploader, "res-1", "claim-1"),
			wantRcpts: []string{uploader, support},
			wantHeaders: map[string]string{"Subject": "Claim submitted on result: res-1",
				"Result-ID": "res-1", "Claim-ID": "claim-1"},
		},
		{
			name: "uploader without e-mail still informs support", support: support,
			mail:        perf.MailSubmitted("", "flavor", "id-2"),
			wantRcpts:   []string{support},
			wantHeaders: map[string]string{"To": "", "Cc": "<" + support + ">", "Resource-ID": "id-2"},
		},
		{
			name: "support uploader gets one copy", support: support,
			mail:        perf.MailApproved(support, "benchmark", "id-3"),
			wantRcpts:   []string{support},
			wantHeaders: map[string]string{"Subject": "Resource approved: id-3"},
		},
		{
			name:        "support copy is skipped when no support address is set",
			mail:        perf.MailRejected(uploader, "site", "id-4"),
			wantRcpts:   []string{uploader},
			wantHeaders: map[string]string{"Cc": "", "Subject": "Resource rejected: id-4"},
		},
		{
			name:        "non-ASCII subject and long body lines arrive intact",
			mail:        perf.Mail{To: []string{uploader}, Subject: "Grüße ✓", Body: longBody},
			wantRcpts:   []string{uploader},
			wantHeaders: map[string]string{"Subject": "Grüße ✓"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &fakeSMTP{}
			n, _ := newTestNotifier(t, Options{Port: startSMTP(t, srv), Support: tt.support})
			n.Send(tt.mail)
			closeNow(t, n)

			msgs := srv.messages()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if got.From != "perf@example.org" {
				t.Errorf("envelope sender = %q, want perf@example.org", got.From)
			}
			if !slices.Equal(got.Rcpts, tt.wantRcpts) {
				t.Errorf("envelope recipients = %q, want %q", got.Rcpts, tt.wantRcpts)
			}
			m := parse(t, got.Data)
			dec := new(mime.WordDecoder)
			for name, want := range tt.wantHeaders {
				value, err := dec.DecodeHeader(m.Header.Get(name))
				if err != nil {
					t.Fatalf("header %s: %v", name, err)
				}
				if value != want {
					t.Errorf("header %s = %q, want %q", name, value, want)
				}
			}
			if _, err := m.Header.Date(); err != nil {
				t.Errorf("Date header: %v", err)
			}
			if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.org>") {
				t.Errorf("Message-ID = %q, want <…@example.org>", id)
			}
			body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.mail.Body
			if !strings.HasSuffix(want, "\n") {
				want += "\n" // SMTP ends the data with a line break
			}
			if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != want {
				t.Errorf("body = %q, want %q", got, want)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name          string
		failAt        string
		failFirst     int // -1: always
		failCode      int
		retries       int
		deadPort      bool // nobody listens
		wantDelivered int
		wantAttempts  int
		wantRetryLogs int
		wantGivenUp   bool
	}{
		{name: "two refusals at MAIL then success delivers once", failAt: "mail", failFirst: 2, failCode: 451,
			wantDelivered: 1, wantAttempts: 3, wantRetryLogs: 2},
		{name: "a refusal at RCPT then success delivers once", failAt: "rcpt", failFirst: 1, failCode: 451,
			wantDelivered: 1, wantAttempts: 2, wantRetryLogs: 1},
		{name: "three refusals at DATA then success delivers once", failAt: "data", failFirst: 3, failCode: 452,
			wantDelivered: 1, wantAttempts: 4, wantRetryLogs: 3},
		{name: "a server that always refuses is given up after the retries", failAt: "data", failFirst: -1,
			failCode: 451, retries: 2, wantAttempts: 3, wantRetryLogs: 2, wantGivenUp: true},
		{name: "a permanent refusal is given up without retry", failAt: "mail", failFirst: -1, failCode: 550,
			wantAttempts: 1, wantGivenUp: true},
		{name: "an unreachable server is given up after the retries", deadPort: true, retries: 1,
			wantRetryLogs: 1, wantGivenUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &fakeSMTP{failAt: tt.failAt, failFirst: tt.failFirst, failCode: tt.failCode}
			port := closedPort(t)
			if !tt.deadPort {
				port = startSMTP(t, srv)
			}
			n, logs := newTestNotifier(t, Options{Port: port, Retries: tt.retries})
			m := perf.MailSubmitted(uploader, "site", "id-1")
			n.Send(m)
			closeNow(t, n)

			if got := len(srv.messages()); got != tt.wantDelivered {
				t.Errorf("delivered %d messages, want %d", got, tt.wantDelivered)
			}
			if got := srv.attemptCount(); got != tt.wantAttempts {
				t.Errorf("server saw %d attempts, want %d", got, tt.wantAttempts)
			}
			if got := len(logs.entries(t, "mail not sent, will retry")); got != tt.wantRetryLogs {
				t.Errorf("%d retry log lines, want %d", got, tt.wantRetryLogs)
			}
			givenUp := logs.entries(t, "mail given up")
			if !tt.wantGivenUp {
				if len(givenUp) != 0 {
					t.Errorf("unexpected given-up log: %v", givenUp)
				}
				return
			}
			if len(givenUp) != 1 {
				t.Fatalf("%d given-up log lines, want 1", len(givenUp))
			}
			e := givenUp[0]
			if e["level"] != "error" || e["subject"] != m.Subject || e["error"] == nil {
				t.Errorf("given-up log = %v, want level error, subject %q and the error", e, m.Subject)
			}
			if to, _ := e["to"].([]any); len(to) != 1 || to[0] != uploader {
				t.Errorf("given-up log to = %v, want [%s]", e["to"], uploader)
			}
		})
	}
}

func TestRefusedRecipientDoesNotStopTheOthers(t *testing.T) {
	srv := &fakeSMTP{rejectRcpt: map[string]bool{uploader: true}}
	n, logs := newTestNotifier(t, Options{Port: startSMTP(t, srv), Support: support})
	n.Send(perf.MailSubmitted(uploader, "site", "id-1"))
	closeNow(t, n)

	msgs := srv.messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].Rcpts, []string{support}) {
		t.Fatalf("received %+v, want one message to %s", msgs, support)
	}
	if srv.attemptCount() != 1 {
		t.Errorf("server saw %d attempts, want 1", srv.attemptCount())
	}
	if e := logs.entries(t, "mail recipient refused"); len(e) != 1 || e[0]["recipient"] != uploader {
		t.Errorf("refused-recipient log = %v, want one line for %s", e, uploader)
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {7, maxBackoff}, {200, maxBackoff},
	}
	for _, tt := range tests {
		if got := backoff(time.Second, tt.attempt); got != tt.want {
			t.Errorf("backoff(1s, %d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}
