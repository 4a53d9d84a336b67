package notify

import (
	"regexp"
	"slices"
	"testing"

	"github.com/eosc-perf/api/src/perf"
)

func TestHeaderInjectionIsNeutralised(t *testing.T) {
	srv := &fakeSMTP{}
	n, logs := newTestNotifier(t, Options{Port: startSMTP(t, srv)})
	n.Send(perf.Mail{
		To:      []string{uploader, "x@example.org\r\nBcc: evil@example.org"},
		Subject: "hi\r\nBcc: evil@example.org",
		Headers: map[string]string{
			"Resource-ID":    "id\nX-Evil: yes",
			"Bcc":            "evil@example.org",
			"X-Bad\r\nBcc":   "evil@example.org",
			"Content-Type":   "text/html",
			"X-Fine-Header:": "colon in the name",
		},
		Body: "body",
	})
	closeNow(t, n)

	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	if !slices.Equal(msgs[0].Rcpts, []string{uploader}) {
		t.Errorf("envelope recipients = %q, want only %s", msgs[0].Rcpts, uploader)
	}
	if regexp.MustCompile(`(?mi)^(bcc|x-evil|x-bad)`).Match(msgs[0].Data) {
		t.Errorf("an injected header line reached the message:\n%s", msgs[0].Data)
	}
	m := parse(t, msgs[0].Data)
	for name, want := range map[string]string{
		"Subject":      "hi  Bcc: evil@example.org",
		"Resource-ID":  "id X-Evil: yes",
		"Content-Type": "text/plain; charset=utf-8",
	} {
		if got := m.Header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if got := len(logs.entries(t, "mail header not allowed, dropped")); got != 4 {
		t.Errorf("%d dropped-header log lines, want 4", got)
	}
	if got := len(logs.entries(t, "mail recipient is not a valid address, skipped")); got != 1 {
		t.Errorf("%d invalid-recipient log lines, want 1", got)
	}
}

func TestLogModeWritesTheMailToTheLog(t *testing.T) {
	n, logs := newTestNotifier(t, Options{Support: support})
	m := perf.MailSubmitted(uploader, "benchmark", "id-9")
	n.Send(m)
	closeNow(t, n)

	entries := logs.entries(t, "mail (MAIL_SERVER not set, not sent)")
	if len(entries) != 1 {
		t.Fatalf("%d mail log lines, want 1", len(entries))
	}
	e := entries[0]
	if e["level"] != "info" || e["subject"] != m.Subject || e["body"] != m.Body {
		t.Errorf("mail log = %v, want level info with the subject and body", e)
	}
	if to, _ := e["to"].([]any); len(to) != 1 || to[0] != "<"+uploader+">" {
		t.Errorf("to = %v, want [<%s>]", e["to"], uploader)
	}
	if cc, _ := e["cc"].([]any); len(cc) != 1 || cc[0] != "<"+support+">" {
		t.Errorf("cc = %v, want [<%s>]", e["cc"], support)
	}
	if h, _ := e["headers"].(map[string]any); h["Resource-ID"] != "id-9" {
		t.Errorf("headers = %v, want Resource-ID id-9", e["headers"])
	}
}

func TestMailWithoutRecipientIsDropped(t *testing.T) {
	tests := []struct {
		name    string
		support string
		mail    perf.Mail
		wantLog string // the line explaining a skipped recipient
		level   string // of the no-recipient line
	}{
		{name: "user without e-mail gets no welcome", mail: perf.MailWelcome(""),
			wantLog: "mail recipient without e-mail address skipped", level: "debug"},
		{name: "malformed address gets nothing", mail: perf.MailWelcome("not an address"),
			wantLog: "mail recipient is not a valid address, skipped", level: "warn"},
		{name: "invalid support list adds no copy", support: "a@b, <<", mail: perf.MailSubmitted(" ", "site", "1"),
			wantLog: "mail recipient without e-mail address skipped", level: "debug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, logs := newTestNotifier(t, Options{Support: tt.support})
			n.Send(tt.mail)
			closeNow(t, n)
			if got := len(logs.entries(t, tt.wantLog)); got != 1 {
				t.Errorf("%d %q log lines, want 1", got, tt.wantLog)
			}
			if e := logs.entries(t, "mail has no valid recipient, not sent"); len(e) != 1 || e[0]["level"] != tt.level {
				t.Errorf("no-recipient log = %v, want one %s line", e, tt.level)
			}
			if tt.support != "" && len(logs.entries(t, "MAIL_SUPPORT is not a valid address list; support copies disabled")) != 1 {
				t.Errorf("invalid MAIL_SUPPORT was not reported")
			}
			if got := len(logs.entries(t, "mail (MAIL_SERVER not set, not sent)")); got != 0 {
				t.Errorf("a mail without recipient was still written out")
			}
		})
	}
}

func TestHeaderTextHasNoLineBreaks(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\r\nB: c", "a  B: c"},
		{"a\nb\rc", "a b c"},
		{"tab\there\x00nul", "tab here nul"},
		{"  trimmed\r\n", "trimmed"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := headerText(tt.in); got != tt.want {
			t.Errorf("headerText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
