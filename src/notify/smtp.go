package notify

import (
	"context"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"time"
)

// permanentError marks a failure that a retry cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// permanent reports whether err should not be retried: an SMTP 5xx reply
// (RFC 5321 §4.2.1: permanent negative completion) or a permanentError.
// Network failures, timeouts and 4xx replies are transient.
func permanent(err error) bool {
	var pe permanentError
	if errors.As(err, &pe) {
		return true
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600
}

// sendSMTP runs one SMTP session for msg. The whole session, dial included,
// has n.opt.Timeout; cancelling ctx closes the connection at once, so neither
// a hung server nor a slow one can hold the worker beyond Close.
//
// It is plain SMTP, without STARTTLS, as upstream (Flask-Mail with
// MAIL_USE_TLS off) did: many internal relays offer STARTTLS with a
// certificate that would not verify, and mail that used to arrive must keep
// arriving. MAIL_SERVER exposes no TLS or authentication options.
func (n *Notifier) sendSMTP(ctx context.Context, msg *message) (err error) {
	deadline := time.Now().Add(n.opt.Timeout)
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", n.addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if err := conn.SetDeadline(deadline); err != nil {
		_ = conn.Close()
		return err
	}
	c, err := smtp.NewClient(conn, n.opt.Server)
	if err != nil {
		_ = conn.Close()
		return err
	}
	defer func() {
		// After a refusal the connection is still in step: say goodbye
		// politely. Otherwise (network error, timeout) just drop it.
		var te *textproto.Error
		if err != nil && errors.As(err, &te) {
			_ = c.Quit()
		}
		_ = c.Close()
	}()
	if err := c.Hello(n.helo); err != nil {
		return err
	}
	if err := c.Mail(n.from); err != nil {
		return err
	}
	accepted := 0
	for _, rcpt := range msg.rcpts {
		if msg.rejected[rcpt] {
			continue
		}
		if err := c.Rcpt(rcpt); err != nil {
			if !permanent(err) {
				return err // retry the whole message: nothing was delivered yet
			}
			// One bad address must not keep the others from their mail.
			msg.rejected[rcpt] = true
			n.log.Warn().Str("recipient", rcpt).Str("subject", msg.subject).Err(err).Msg("mail recipient refused")
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return permanentError{errors.New("every recipient was refused")}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg.data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// The server has taken the message; a failed QUIT must not resend it.
	_ = c.Quit()
	return nil
}
