package notify

import (
	"bytes"
	"crypto/rand"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/rs/zerolog"

	"github.com/eosc-perf/api/src/perf"
)

// message is a perf.Mail checked and rendered once, when it is queued, so
// the worker only has to deliver bytes and the Date header is the time of
// the event rather than of a late retry.
type message struct {
	to, cc   []string          // header form of the recipients, for the log
	rcpts    []string          // envelope recipients, deduplicated
	rejected map[string]bool   // recipients refused for good (5xx); touched by the worker only
	subject  string            // sanitized, not encoded
	headers  map[string]string // extra headers, sanitized
	body     string
	data     []byte // the RFC 5322 message sent after DATA
}

// reservedHeaders are written by the notifier itself; a perf.Mail may not
// override them (an extra "Bcc" or "To" would add hidden recipients).
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "date": true,
	"message-id": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "sender": true, "reply-to": true, "return-path": true,
}

// prepare checks the recipients and headers of m and renders the message.
// It returns false, after logging why, when nobody is left to receive it.
func (n *Notifier) prepare(m perf.Mail, now time.Time) (*message, bool) {
	msg := &message{subject: headerText(m.Subject), body: m.Body, rejected: map[string]bool{}}
	seen := map[string]bool{}
	var toAddrs, ccAddrs []*mail.Address
	invalid := false // a malformed address, not just a missing one
	for _, raw := range m.To {
		if a := n.recipient(raw, m.Subject); a != nil {
			toAddrs = append(toAddrs, a)
		} else if strings.TrimSpace(raw) != "" {
			invalid = true
		}
	}
	if m.CcSupport {
		ccAddrs = n.support
	}
	for _, list := range [][]*mail.Address{toAddrs, ccAddrs} {
		for _, a := range list {
			if key := strings.ToLower(a.Address); !seen[key] {
				seen[key] = true
				msg.rcpts = append(msg.rcpts, a.Address)
			}
		}
	}
	if len(msg.rcpts) == 0 {
		// A user without an e-mail address is normal; only a bad address
		// deserves a warning.
		level := zerolog.DebugLevel
		if invalid {
			level = zerolog.WarnLevel
		}
		n.log.WithLevel(level).Strs("to", m.To).Str("subject", msg.subject).Msg("mail has no valid recipient, not sent")
		return nil, false
	}
	msg.to, msg.cc = addressList(toAddrs), addressList(ccAddrs)

	msg.headers = make(map[string]string, len(m.Headers))
	for name, value := range m.Headers {
		if !validHeaderName(name) || reservedHeaders[strings.ToLower(name)] {
			n.log.Warn().Str("header", name).Str("subject", msg.subject).Msg("mail header not allowed, dropped")
			continue
		}
		msg.headers[name] = headerText(value)
	}
	msg.data = n.render(msg, now)
	return msg, true
}

// recipient parses one address of perf.Mail.To; nil means skip it. An empty
// address is normal (users without an e-mail address), a malformed one is
// worth a warning.
func (n *Notifier) recipient(raw, subject string) *mail.Address {
	s := strings.TrimSpace(raw)
	if s == "" {
		n.log.Debug().Str("subject", headerText(subject)).Msg("mail recipient without e-mail address skipped")
		return nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || hasControl(s) {
		n.log.Warn().Str("recipient", raw).Str("subject", headerText(subject)).Msg("mail recipient is not a valid address, skipped")
		return nil
	}
	return a
}

// render writes the header section and the quoted-printable body.
func (n *Notifier) render(msg *message, now time.Time) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	if n.fromHeader != "" {
		header("From", n.fromHeader)
	}
	if len(msg.to) > 0 {
		header("To", strings.Join(msg.to, ", "))
	}
	if len(msg.cc) > 0 {
		header("Cc", strings.Join(msg.cc, ", "))
	}
	header("Subject", mime.QEncoding.Encode("utf-8", msg.subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+rand.Text()+"@"+n.msgIDDomain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	names := make([]string, 0, len(msg.headers))
	for name := range msg.headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		header(name, mime.QEncoding.Encode("utf-8", msg.headers[name]))
	}
	b.WriteString("\r\n")
	// Quoted-printable keeps any UTF-8 and long line intact through 7-bit
	// relays; the SMTP DATA writer turns bare "\n" into "\r\n".
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(msg.body, "\r\n", "\n")))
	_ = qp.Close()
	return b.Bytes()
}

// headerText makes s safe as a header value: control characters, CR and LF
// above all, become spaces, so a value can never start a new header line.
func headerText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}

// hasControl reports whether s contains a control character.
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// validHeaderName follows RFC 5322 field-name: printable ASCII except ':'.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// validDomain accepts host names as used in EHLO and Message-ID.
func validDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// addressList renders addresses for a To or Cc header.
func addressList(as []*mail.Address) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
