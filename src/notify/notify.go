// Package notify delivers the e-mail notifications of API.md §9 (perf.Mail)
// without ever slowing down or failing a request: Send only puts the message
// in a bounded queue; one background worker sends it over SMTP with retries,
// or writes it to the log when no mail server is configured (upstream
// printed it to standard output). Close flushes the queue at shutdown.
package notify

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/eosc-perf/api/src/perf"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultPort       = 25
	DefaultQueueSize  = 1000
	DefaultRetries    = 3
	DefaultRetryDelay = time.Second
	DefaultTimeout    = 10 * time.Second

	// maxBackoff caps the exponential retry delay.
	maxBackoff = time.Minute
)

// Options configures a Notifier. Zero values take the defaults above.
type Options struct {
	From    string // MAIL_FROM: envelope sender and From header; empty sends with the null sender
	Support string // MAIL_SUPPORT: copy (Cc) of the mails with CcSupport; a comma-separated list is accepted
	Server  string // MAIL_SERVER: SMTP host; empty writes the mails to the log instead
	Port    int    // MAIL_PORT: SMTP port (25)
	Logger  zerolog.Logger

	QueueSize  int           // messages waiting at most; more are dropped (1000)
	Retries    int           // further attempts after a failed one (3); negative: none
	RetryDelay time.Duration // delay before the first retry, doubled for each next one (1s)
	Timeout    time.Duration // budget of one SMTP session, connection included (10s)
}

// Notifier queues and delivers mails. It is safe for concurrent use.
type Notifier struct {
	opt         Options
	log         zerolog.Logger
	addr        string          // host:port of the SMTP server
	from        string          // envelope sender
	fromHeader  string          // From header value, empty when no sender is configured
	support     []*mail.Address // Cc of CcSupport mails
	helo        string          // name given in EHLO
	msgIDDomain string          // right-hand side of Message-ID

	mu     sync.RWMutex // guards closed and the close of queue against Send
	closed bool
	queue  chan *message

	abort     context.Context         // cancelled when Close runs out of time
	cancel    context.CancelCauseFunc // cancels abort with the Close context's error
	done      chan struct{}           // closed when the worker has returned
	lost      atomic.Int64            // messages not delivered because Close ran out of time
	closeOnce sync.Once
}

// New checks the options, starts the worker and returns the notifier. A
// malformed MAIL_FROM or MAIL_SUPPORT is logged, not fatal: mail is never
// worth refusing to start the service.
func New(opt Options) *Notifier {
	if opt.Port <= 0 {
		opt.Port = DefaultPort
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = DefaultQueueSize
	}
	if opt.Retries == 0 {
		opt.Retries = DefaultRetries
	} else if opt.Retries < 0 {
		opt.Retries = 0
	}
	if opt.RetryDelay <= 0 {
		opt.RetryDelay = DefaultRetryDelay
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	n := &Notifier{
		opt:   opt,
		log:   opt.Logger,
		addr:  net.JoinHostPort(opt.Server, strconv.Itoa(opt.Port)),
		queue: make(chan *message, opt.QueueSize),
		done:  make(chan struct{}),
		helo:  "localhost",
	}
	n.abort, n.cancel = context.WithCancelCause(context.Background())
	if h, err := os.Hostname(); err == nil && validDomain(h) {
		n.helo = h
	}
	n.msgIDDomain = n.helo
	n.setFrom(opt.From)
	if s := strings.TrimSpace(opt.Support); s != "" {
		list, err := mail.ParseAddressList(s)
		if err != nil || hasControl(s) {
			n.log.Warn().Str("support", opt.Support).Msg("MAIL_SUPPORT is not a valid address list; support copies disabled")
		} else {
			n.support = list
		}
	}
	go n.run()
	return n
}

// setFrom derives the envelope sender, the From header and the Message-ID
// domain from MAIL_FROM.
func (n *Notifier) setFrom(raw string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || hasControl(s) {
		// Keep it (sanitized): the server decides, and its refusal is logged
		// with every message, which is louder than one line at start.
		n.log.Warn().Str("from", raw).Msg("MAIL_FROM is not a valid address")
		n.from = headerText(s)
		n.fromHeader = n.from
		return
	}
	n.from, n.fromHeader = a.Address, a.String()
	if at := strings.LastIndexByte(a.Address, '@'); at >= 0 && validDomain(a.Address[at+1:]) {
		n.msgIDDomain = a.Address[at+1:]
	}
}

// Send queues m for delivery and returns at once. It never fails the
// caller: a mail without recipients, a full queue or a closed notifier
// is logged and the mail dropped.
func (n *Notifier) Send(m perf.Mail) {
	if n == nil {
		return
	}
	msg, ok := n.prepare(m, time.Now())
	if !ok {
		return
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		n.log.Warn().Strs("to", msg.rcpts).Str("subject", msg.subject).Msg("mail dropped: notifier closed")
		return
	}
	select {
	case n.queue <- msg:
	default:
		n.log.Warn().Strs("to", msg.rcpts).Str("subject", msg.subject).Int("queue_size", cap(n.queue)).
			Msg("mail dropped: queue full")
	}
}

// Close stops accepting mails and waits until the queued ones are delivered
// or ctx is done. In the latter case the current delivery is aborted, the
// remaining mails are logged as lost, and the returned error wraps
// ctx.Err() (errors.Is works). Close may be called more than once; later
// calls wait for the same worker and report the same loss.
func (n *Notifier) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		close(n.queue)
		n.mu.Unlock()
	})
	select {
	case <-n.done:
	case <-ctx.Done():
		n.cancel(ctx.Err())
		<-n.done // quick: the worker's session and backoff both watch abort
	}
	if lost := n.lost.Load(); lost > 0 {
		return fmt.Errorf("notify: %d mails not sent before shutdown: %w", lost, context.Cause(n.abort))
	}
	return nil
}

// run is the worker: one mail at a time, in queue order.
func (n *Notifier) run() {
	defer close(n.done)
	for msg := range n.queue {
		if n.abort.Err() != nil {
			n.loseMessage(msg)
			continue
		}
		n.deliver(msg)
	}
	if lost := n.lost.Load(); lost > 0 {
		n.log.Error().Int64("lost", lost).Msg("mail queue closed before it was flushed")
	}
}

// deliver logs or sends one message, retrying transient SMTP failures with
// exponential backoff.
func (n *Notifier) deliver(msg *message) {
	if n.opt.Server == "" {
		n.log.Info().Strs("to", msg.to).Strs("cc", msg.cc).Str("subject", msg.subject).
			Any("headers", msg.headers).Str("body", msg.body).Msg("mail (MAIL_SERVER not set, not sent)")
		return
	}
	for attempt := 1; ; attempt++ {
		err := n.sendSMTP(n.abort, msg)
		if err == nil {
			n.log.Debug().Strs("to", msg.rcpts).Str("subject", msg.subject).Int("attempt", attempt).Msg("mail sent")
			return
		}
		if n.abort.Err() != nil {
			n.loseMessage(msg)
			return
		}
		if permanent(err) || attempt > n.opt.Retries {
			n.log.Error().Strs("to", msg.rcpts).Str("subject", msg.subject).Int("attempts", attempt).Err(err).
				Msg("mail given up")
			return
		}
		delay := backoff(n.opt.RetryDelay, attempt)
		n.log.Warn().Strs("to", msg.rcpts).Str("subject", msg.subject).Int("attempt", attempt).Err(err).
			Dur("retry_in", delay).Msg("mail not sent, will retry")
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-n.abort.Done():
			t.Stop()
			n.loseMessage(msg)
			return
		}
	}
}

// loseMessage counts and logs a mail abandoned because Close ran out of time.
func (n *Notifier) loseMessage(msg *message) {
	n.lost.Add(1)
	n.log.Warn().Strs("to", msg.rcpts).Str("subject", msg.subject).Msg("mail lost at shutdown")
}

// backoff is base·2^(attempt-1), capped at maxBackoff.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
