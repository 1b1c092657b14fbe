package main

// Mail: a plain-text message to notify.email.to, whose subject says job,
// host and status. It leaves through an SMTP server when
// notify.email.smtp.host is set (STARTTLS required unless turned off, then
// AUTH PLAIN if a user is set), else through the local sendmail program,
// which queues it itself. The rules, and why:
//
//   - Every message carries its own Date and Message-ID: a server adds
//     them only for submitters it counts as local, and a mail without
//     them is spam to many filters.
//   - Header lines are folded to 76 characters, and an encoded subject
//     is made of RFC 2047 encoded-words of at most 75: longer lines are
//     refused or mangled on the way.
//   - The body says what cron's own mail would: the command, when it
//     started, how long it took, its exit status, and, for a job with
//     notify-log, the log's last lines.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// emailChannel mails notices.
type emailChannel struct {
	p        *poster
	to       []*mail.Address
	from     *mail.Address // nil: sendmail's default
	sendmail string
	smtp     SMTPConfig
	helo     string         // this host's name for HELO
	roots    *x509.CertPool // trusted for STARTTLS; nil: the system's
	now      func() time.Time
}

// newEmailChannel returns the mail channel that c describes, nil if it
// describes none, or an error naming the key that is missing or wrong.
func newEmailChannel(c *NotifyConfig, p *poster) (channel, error) {
	ec := c.Email
	s := ec.SMTP
	var set string // a key that asks for mail
	for _, k := range []struct{ name, value string }{
		{"notify.email.from", ec.From}, {"notify.email.smtp.host", s.Host},
		{"notify.email.smtp.user", s.User}, {"notify.email.smtp.password", s.Password},
	} {
		if k.value != "" {
			set = k.name
		}
	}
	if ec.To == "" && set == "" {
		return nil, nil
	}
	if ec.To == "" {
		return nil, fmt.Errorf("notify.email.to: missing, needed with %s", set)
	}
	to, err := mail.ParseAddressList(ec.To)
	if err != nil {
		return nil, fmt.Errorf("notify.email.to: %v", err)
	}
	e := &emailChannel{p: p, to: to, sendmail: ec.Sendmail, smtp: s, now: time.Now}
	if s.CAFile != "" {
		if e.roots, err = loadCAs("notify.email.smtp.ca_file", s.CAFile); err != nil {
			return nil, err
		}
	}
	if ec.From != "" {
		if e.from, err = mail.ParseAddress(ec.From); err != nil {
			return nil, fmt.Errorf("notify.email.from: %v", err)
		}
	}
	if e.helo, err = os.Hostname(); err != nil || !validHelo(e.helo) {
		e.helo = "localhost"
	}
	switch {
	case s.Host == "" && set != "" && set != "notify.email.from":
		return nil, fmt.Errorf("notify.email.smtp.host: missing, needed with %s", set)
	case s.Host == "":
		fi, err := os.Stat(ec.Sendmail)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return nil, fmt.Errorf("notify.email.sendmail: %s is not an executable file (or set notify.email.smtp.host)", ec.Sendmail)
		}
	case s.Port < 1 || s.Port > 65535:
		return nil, fmt.Errorf("notify.email.smtp.port: %d is not a port number", s.Port)
	case s.Port == 465:
		// Its TLS starts before SMTP does; net/smtp speaks STARTTLS.
		return nil, errors.New("notify.email.smtp.port: 465 (TLS from the start) is not supported: use the submission port, 587, with STARTTLS")
	case s.User == "" && s.Password != "":
		return nil, errors.New("notify.email.smtp.user: missing, needed with notify.email.smtp.password")
	case s.User != "" && s.Password == "":
		return nil, errors.New("notify.email.smtp.password: missing, needed with notify.email.smtp.user")
	case e.from == nil:
		// SMTP needs a sender; sendmail, above, knows this user's.
		e.from = &mail.Address{Address: "troc@" + e.helo}
	}
	return e, nil
}

// validHelo reports whether name can stand in HELO: a plain host name.
func validHelo(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isLetter(c) && !isDigit(c) && c != '-' && c != '.' {
			return false
		}
	}
	return name != ""
}

func (e *emailChannel) name() string { return "email" }

func (e *emailChannel) send(ctx context.Context, m *notice) error {
	msg := e.message(m)
	if e.smtp.Host != "" {
		return e.sendSMTP(ctx, msg)
	}
	// sendmail reads the message with local line endings.
	msg = bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	args := []string{"-i"}
	if e.from != nil {
		args = append(args, "-f", e.from.Address)
	}
	args = append(args, "--")
	for _, a := range e.to {
		args = append(args, a.Address)
	}
	if err := runProgram(ctx, e.sendmail, args, msg, withoutSecrets(os.Environ()), e.p.secrets); err != nil {
		return fmt.Errorf("%s: %w", e.sendmail, err)
	}
	return nil
}

// subject says job, host and what happened, on one line.
func (m *notice) subject() string {
	r := &m.run
	who := r.Job + "@" + m.host
	var s string
	switch m.event {
	case eventTest:
		s = "test notification from " + who
	case eventStart:
		s = who + ": started"
	case eventHealth:
		s = who + ": " + m.health
	case eventRecovery:
		s = who + ": " + string(r.Status) + ", recovered after " + plural(m.failures, "failure")
	case eventSuspect:
		s = who + ": " + string(r.Status) + ", but suspect"
	default:
		s = who + ": " + string(r.Status)
		if what := m.exitText(); what != "" {
			s += " (" + what + ")"
		}
		if m.failures > 1 {
			s += fmt.Sprintf(", %d failures in a row", m.failures)
		}
	}
	// The host name comes from the configuration: no line break in it
	// may start a header of its own.
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, "troc: "+s)
	return mime.QEncoding.Encode("utf-8", s)
}

// foldHeader returns the header line "name: value" with CRLF, folded
// before a space wherever the line would pass 76 characters (RFC 2047's
// limit for lines with encoded-words), even before the first word if it
// does not fit beside the name: unfolding gives value back. The
// encoded-words of an encoded subject are separated by spaces, so it
// folds between them.
func foldHeader(name, value string) string {
	const limit = 76
	var b strings.Builder
	b.WriteString(name + ":")
	n := b.Len()
	for _, word := range strings.Split(value, " ") {
		if n > 1 && n+1+len(word) > limit {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteString(" " + word)
		n += 1 + len(word)
	}
	b.WriteString("\r\n")
	return b.String()
}

// messageID returns a new Message-ID: the time, random letters and this
// host's name, unique without any state kept.
func (e *emailChannel) messageID() string {
	return fmt.Sprintf("<%s.%s@%s>", strconv.FormatInt(e.now().UnixNano(), 36), rand.Text()[:16], e.helo)
}

// mailText is the message's body: what every channel says, then what
// cron's mail says of a run (the command, its start, duration and exit
// status), then the log's tail if the job sends it.
func (m *notice) mailText() string {
	s := strings.Join(m.lines(), "\n")
	r := &m.run
	if m.event != eventTest && !r.Start.IsZero() {
		var details []string
		add := func(name, value string) { details = append(details, fmt.Sprintf("%-12s %s", name+":", value)) }
		if m.event == eventHealth {
			add("Last run", strconv.FormatInt(r.ID, 10)+", "+string(r.Status))
		}
		add("Command", r.Command)
		add("Host", cmp.Or(r.Host, m.host))
		add("Started", r.Start.In(m.loc).Format("2006-01-02 15:04:05 MST"))
		if r.finished() && !r.End.IsZero() {
			add("Duration", shortDuration(r.End.Sub(r.Start)))
			add("Exit status", m.exitStatus())
		}
		s += "\n\n" + strings.Join(details, "\n")
	}
	if len(m.tail) > 0 || m.earlier > 0 {
		s += "\n\nLast lines of the log:\n" + strings.Join(fitTail(m.tail, m.earlier, 64<<10, 1000, nil), "\n")
	}
	return s
}

// exitStatus is how the run's command ended, as a mail says it: its exit
// code, or the signal that killed it.
func (m *notice) exitStatus() string {
	r := &m.run
	switch {
	case r.ExitCode != nil:
		return strconv.Itoa(*r.ExitCode)
	case r.Signal != 0:
		return "none, killed by " + signalName(r.Signal)
	case r.Status == StatusSkipped:
		return "none, it did not run: another run held the lock"
	}
	return "none"
}

// message returns m as a mail message, with CRLF line endings.
func (e *emailChannel) message(m *notice) []byte {
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(foldHeader(name, value)) }
	if e.from != nil {
		header("From", e.from.String())
	}
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}
	header("To", strings.Join(to, ", "))
	header("Subject", m.subject())
	header("Date", e.now().Format(time.RFC1123Z))
	header("Message-ID", e.messageID())
	header("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(m.mailText() + "\n"))
	qp.Close()
	return b.Bytes()
}

// sendSMTP sends msg through the SMTP server, trying again after a
// network error or a 4xx answer. The server's replies are quoted, on one
// line, masked of the secrets (a server may repeat the AUTH it was sent).
func (e *emailChannel) sendSMTP(ctx context.Context, msg []byte) error {
	addr := net.JoinHostPort(e.smtp.Host, strconv.Itoa(e.smtp.Port))
	return e.p.retry(ctx, func(ctx context.Context) error {
		err := e.smtpOnce(ctx, addr, msg)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("SMTP %s: timed out", addr)
		}
		var tpe *textproto.Error
		var ne net.Error
		retry := errors.As(err, &tpe) && tpe.Code/100 == 4 || !errors.As(err, &tpe) && errors.As(err, &ne)
		said := err.Error()
		if tpe != nil {
			// The server's reply is masked as it came: its Error quotes
			// it with %q, which would escape a secret out of recognition.
			reply := fmt.Sprintf("%03d %s", tpe.Code, oneLine(e.p.secrets.redact(tpe.Msg)))
			said = strings.Replace(said, tpe.Error(), reply, 1)
		}
		err = fmt.Errorf("SMTP %s: %s", addr, oneLine(e.p.secrets.redact(said)))
		if retry {
			return &retryableError{err: err}
		}
		return err
	})
}

// oneLine joins the lines and words of s with single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// errNoSTARTTLS says the server cannot protect the password and message.
var errNoSTARTTLS = errors.New("the server does not offer STARTTLS (notify.email.smtp.starttls: false sends in the clear)")

func (e *emailChannel) smtpOnce(ctx context.Context, addr string, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // net/smtp knows no contexts
	defer stop()
	c, err := smtp.NewClient(conn, e.smtp.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(e.helo); err != nil {
		return err
	}
	if e.smtp.STARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errNoSTARTTLS
		}
		if err := c.StartTLS(&tls.Config{ServerName: e.smtp.Host, RootCAs: e.roots}); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if e.smtp.User != "" {
		// PlainAuth refuses to send the password in the clear, except to
		// localhost.
		if err := c.Auth(smtp.PlainAuth("", e.smtp.User, e.smtp.Password, e.smtp.Host)); err != nil {
			return fmt.Errorf("authentication: %w", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return err
	}
	for _, a := range e.to {
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("recipient %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
