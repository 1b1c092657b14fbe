package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSendmail writes a sendmail that keeps its arguments, stdin and
// environment in dir, and returns its path.
func fakeSendmail(t *testing.T, dir string, exit int) string {
	t.Helper()
	path := filepath.Join(dir, "sendmail")
	script := "#!/bin/sh\n" +
		"printf '%s\\n' \"$@\" > " + dir + "/args\n" +
		"cat > " + dir + "/stdin\n" +
		"env > " + dir + "/env\n" +
		"echo 'sendmail: cannot queue' >&2\n" +
		"exit " + strconv.Itoa(exit) + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// readMail parses a message and decodes its quoted-printable body.
func readMail(t *testing.T, data string) (*mail.Message, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, data)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, string(body)
}

// checkMailIDs checks that a message carries a Date and a Message-ID of
// troc's own: a mail server adds them only for local submitters.
func checkMailIDs(t *testing.T, msg *mail.Message) {
	t.Helper()
	if d, err := msg.Header.Date(); err != nil || time.Since(d) > time.Minute || time.Until(d) > time.Minute {
		t.Errorf("Date = %q (%v), want now", msg.Header.Get("Date"), err)
	}
	id := msg.Header.Get("Message-ID")
	if addr, err := mail.ParseAddress(id); err != nil || !strings.HasPrefix(id, "<") || !strings.Contains(addr.Address, "@") {
		t.Errorf("Message-ID = %q (%v), want <unique@host>", id, err)
	}
}

func TestEmailSendmail(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TROC_NOTIFY_SLACK_TOKEN", "xoxb-ENVSECRET")
	cfg := notifyConfig(t, map[string]string{
		"notify.email.to":       "Ops <ops@example.com>, oncall@example.com",
		"notify.email.sendmail": fakeSendmail(t, dir, 0),
	})
	ch, err := newEmailChannel(&cfg.Notify, newPoster(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := failedNotice()
	m.failures = 2
	m.tail = []string{"line with é and a very long " + strings.Repeat("x", 100)}
	if err := ch.send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got, want := fileContent(t, dir+"/args"), "-i\n--\nops@example.com\noncall@example.com\n"; got != want {
		t.Errorf("args = %q, want %q", got, want)
	}
	data := fileContent(t, dir+"/stdin")
	if strings.Contains(data, "\r\n") {
		t.Error("sendmail got CRLF line endings")
	}
	msg, body := readMail(t, data)
	for k, v := range map[string]string{
		"Subject":        "troc: daily-sync@web1: Failed (exit 2), 2 failures in a row",
		"To":             `"Ops" <ops@example.com>, <oncall@example.com>`,
		"From":           "",
		"Auto-Submitted": "auto-generated",
		"Content-Type":   "text/plain; charset=utf-8",
	} {
		if got := msg.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	wantBody := "daily-sync@web1: run 84 - ❌: Failed (exit 2) after 3s\n2 failures in a row\nLog: /tmp/daily-sync.log\n\n" +
		"Command:     rsync -a /a /b\nHost:        web1\nStarted:     2026-03-01 02:00:00 UTC\nDuration:    3s\nExit status: 2\n\n" +
		"Last lines of the log:\nline with é and a very long " + strings.Repeat("x", 100) + "\n"
	if body != wantBody {
		t.Errorf("body =\n%q\nwant\n%q", body, wantBody)
	}
	checkMailIDs(t, msg)
	if env := fileContent(t, dir+"/env"); strings.Contains(env, "ENVSECRET") {
		t.Error("sendmail's environment holds the Slack token")
	}
}

func TestEmailSendmailFails(t *testing.T) {
	dir := t.TempDir()
	path := fakeSendmail(t, dir, 75)
	cfg := notifyConfig(t, map[string]string{"notify.email.to": "ops@example.com", "notify.email.sendmail": path,
		"notify.email.from": "troc@web1.example.com"})
	ch, err := newEmailChannel(&cfg.Notify, newPoster(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = ch.send(context.Background(), failedNotice())
	if want := path + ": exit status 75: sendmail: cannot queue"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if got, want := fileContent(t, dir+"/args"), "-i\n-f\ntroc@web1.example.com\n--\nops@example.com\n"; got != want {
		t.Errorf("args = %q, want %q", got, want)
	}
}

func TestEmailSubjectInjection(t *testing.T) {
	m := failedNotice()
	m.host = "web1\r\nBcc: victim@example.com"
	if s := m.subject(); strings.ContainsAny(s, "\r\n") {
		t.Errorf("subject %q has a line break", s)
	}
	m.host = "wéb1"
	if s := m.subject(); !strings.HasPrefix(s, "=?utf-8?q?") {
		t.Errorf("subject %q is not encoded", s)
	}
}

// smtpServer is a loopback SMTP server that speaks enough of the
// protocol for net/smtp: EHLO, STARTTLS (when it has a certificate),
// AUTH PLAIN, MAIL, RCPT, DATA, QUIT.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	tls      *tls.Config // offers STARTTLS when set
	rcptCode int         // answer to RCPT, 250 when 0
	echoAuth atomic.Bool // refuse AUTH, repeating what it got, as it is and decoded (set while the server runs)
	mu       sync.Mutex
	mails    []smtpMail
	attempts int
}

type smtpMail struct {
	from, auth string
	to         []string
	data       string
	tls        bool
}

func newSMTPServer(t *testing.T, tlsConfig *tls.Config) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, ln: ln, tls: tlsConfig}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(conn) })
		}
	})
	return s
}

func (s *smtpServer) port() string { _, p, _ := net.SplitHostPort(s.ln.Addr().String()); return p }

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	s.mu.Lock()
	s.attempts++
	s.mu.Unlock()
	r, w := bufio.NewReader(conn), conn
	reply := func(lines ...string) {
		for _, l := range lines {
			io.WriteString(w, l+"\r\n")
		}
	}
	var m smtpMail
	reply("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250-test", "250-8BITMIME"}
			if s.tls != nil && !m.tls {
				ext = append(ext, "250-STARTTLS")
			}
			reply(append(ext, "250 AUTH PLAIN")...)
		case "STARTTLS":
			reply("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			r, w = bufio.NewReader(tc), tc
			m = smtpMail{tls: true}
		case "AUTH":
			b64, _ := strings.CutPrefix(arg, "PLAIN ")
			dec, _ := base64.StdEncoding.DecodeString(b64)
			if s.echoAuth.Load() {
				reply("535-5.7.8 bad credentials: "+arg, "535 5.7.8 that is "+strings.ReplaceAll(string(dec), "\x00", " "))
				continue
			}
			m.auth = string(dec)
			reply("235 2.7.0 accepted")
		case "MAIL":
			m.from = arg
			reply("250 ok")
		case "RCPT":
			if s.rcptCode != 0 {
				reply(strconv.Itoa(s.rcptCode) + " mailbox unavailable")
				continue
			}
			m.to = append(m.to, arg)
			reply("250 ok")
		case "DATA":
			reply("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = b.String()
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown")
		}
	}
}

func (s *smtpServer) sent() ([]smtpMail, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mails, s.attempts
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestEmailSMTP(t *testing.T) {
	serverTLS, roots := selfSigned(t)
	tests := []struct {
		name     string
		tls      bool // the server offers STARTTLS
		settings map[string]string
		rcptCode int
		wantErr  string // suffix; "" for none
		wantAuth string
		wantTLS  bool
		attempts int
	}{
		{name: "plain, no auth", settings: map[string]string{"notify.email.smtp.starttls": "false"}, attempts: 1},
		{name: "plain, auth to localhost", settings: map[string]string{"notify.email.smtp.starttls": "false",
			"notify.email.smtp.user": "troc", "notify.email.smtp.password": "PASSWORDSECRET"},
			wantAuth: "\x00troc\x00PASSWORDSECRET", attempts: 1},
		{name: "STARTTLS and auth", tls: true, settings: map[string]string{
			"notify.email.smtp.user": "troc", "notify.email.smtp.password": "PASSWORDSECRET"},
			wantAuth: "\x00troc\x00PASSWORDSECRET", wantTLS: true, attempts: 1},
		{name: "STARTTLS required, not offered", wantErr: ": the server does not offer STARTTLS (notify.email.smtp.starttls: false sends in the clear)", attempts: 1},
		{name: "recipient refused", settings: map[string]string{"notify.email.smtp.starttls": "false"}, rcptCode: 550,
			wantErr: ": recipient ops@example.com: 550 mailbox unavailable", attempts: 1},
		{name: "temporary failure retried", settings: map[string]string{"notify.email.smtp.starttls": "false"}, rcptCode: 451,
			wantErr: ": recipient ops@example.com: 451 mailbox unavailable (3 attempts)", attempts: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srvTLS *tls.Config
			if tt.tls {
				srvTLS = serverTLS
			}
			srv := newSMTPServer(t, srvTLS)
			srv.rcptCode = tt.rcptCode
			settings := map[string]string{"notify.email.to": "ops@example.com", "notify.email.smtp.host": "127.0.0.1",
				"notify.email.smtp.port": srv.port()}
			for k, v := range tt.settings {
				settings[k] = v
			}
			ch, err := newEmailChannel(&notifyConfig(t, settings).Notify, newPoster(nil))
			if err != nil {
				t.Fatal(err)
			}
			ec := ch.(*emailChannel)
			ec.roots = roots
			ec.p.backoff = time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = ec.send(ctx, failedNotice())
			mails, attempts := srv.sent()
			if attempts != tt.attempts {
				t.Errorf("%d connections, want %d", attempts, tt.attempts)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "SMTP 127.0.0.1:"+srv.port()) {
					t.Errorf("error = %v, want SMTP 127.0.0.1:%s...%s", err, srv.port(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(mails) != 1 {
				t.Fatalf("%d mails, want 1", len(mails))
			}
			got := mails[0]
			host, _ := os.Hostname()
			if !validHelo(host) {
				host = "localhost"
			}
			if from, _, _ := strings.Cut(got.from, " "); from != "FROM:<troc@"+host+">" || len(got.to) != 1 || got.to[0] != "TO:<ops@example.com>" ||
				got.auth != tt.wantAuth || got.tls != tt.wantTLS {
				t.Errorf("mail from %q to %q, auth %q, tls %v; want auth %q, tls %v", got.from, got.to, got.auth, got.tls, tt.wantAuth, tt.wantTLS)
			}
			msg, body := readMail(t, got.data)
			if s := msg.Header.Get("Subject"); s != "troc: daily-sync@web1: Failed (exit 2)" {
				t.Errorf("subject = %q, want %q", s, "troc: daily-sync@web1: Failed (exit 2)")
			}
			if !strings.HasPrefix(body, "daily-sync@web1: run 84") {
				t.Errorf("body = %q, want it to start with %q", body, "daily-sync@web1: run 84")
			}
		})
	}
}

// TestEmailPasswordRedacted: the AUTH PLAIN response holds the password
// in base64; a server that repeats it does not get it into the notes.
func TestEmailPasswordRedacted(t *testing.T) {
	cfg := notifyConfig(t, map[string]string{"notify.email.smtp.user": "troc", "notify.email.smtp.password": "PASSWORDSECRET"})
	b64 := base64.StdEncoding.EncodeToString([]byte("\x00troc\x00PASSWORDSECRET"))
	got := notifySecrets(&cfg.Notify).redact("535 bad credentials " + b64 + " PASSWORDSECRET")
	if got != "535 bad credentials [secret] [secret]" {
		t.Errorf("redacted to %q, want %q", got, "535 bad credentials [secret] [secret]")
	}
}

// testCA is a certificate authority made for one test, and a server
// certificate for 127.0.0.1 that it signed.
type testCA struct {
	pem    string      // the CA's certificate, PEM-encoded
	server *tls.Config // serves the signed certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "troc test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{
		pem:    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der, caDER}, PrivateKey: key}}},
	}
}

// TestEmailE2E: a failed run of troc exec --notify is mailed through a
// real SMTP server on loopback that speaks STARTTLS with a certificate of
// a private CA, trusted through notify.email.smtp.ca_file. The mail has
// its own Date and Message-ID, a long non-ASCII subject folded into
// encoded-words of at most 75 characters on lines of at most 78, and the
// body cron's mail would have: command, start, duration, exit status and
// the log's tail with its earlier lines counted.
func TestEmailE2E(t *testing.T) {
	ca := newTestCA(t)
	srv := newSMTPServer(t, ca.server)
	s := newSandbox(t)
	caFile := filepath.Join(s.dir, "ca.pem")
	writeFile(t, caFile, ca.pem)
	s.env = append(s.env, "TROC_NOTIFY_EMAIL_TO=ops@example.com", "TROC_NOTIFY_EMAIL_SMTP_HOST=127.0.0.1",
		"TROC_NOTIFY_EMAIL_SMTP_PORT="+srv.port(), "TROC_NOTIFY_HOSTNAME=wéb1.exämple.org")

	// Without the CA, STARTTLS fails and says so in the note.
	job := "nightly-backup-of-the-customer-database-to-the-offsite-store"
	s.mustTroc(0, "job", "add", "--name", job, "--notify", "--notify-log")
	command := "for i in $(seq 1 30); do echo line $i; done; exit 3"
	r := s.troc("exec", "--name", job, command).run(t)
	if note := deref(r.Note); !strings.Contains(note, "failure notification by email failed") || !strings.Contains(note, "certificate signed by unknown authority") {
		t.Errorf("note without the CA = %q, want STARTTLS's certificate error", note)
	}

	s.env = append(s.env, "TROC_NOTIFY_EMAIL_SMTP_CA_FILE="+caFile)
	r = s.troc("exec", "--name", job, command).run(t)
	if r.Note != nil {
		t.Errorf("note = %q, want none", *r.Note)
	}
	mails, _ := srv.sent()
	if len(mails) != 1 || !mails[0].tls {
		t.Fatalf("%d mails (%+v), want one, over TLS", len(mails), mails)
	}
	data := mails[0].data
	head, _, _ := strings.Cut(data, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d characters, want at most 78: %q", len(line), line)
		}
	}
	msg, body := readMail(t, data)
	body = strings.ReplaceAll(body, "\r\n", "\n")
	checkMailIDs(t, msg)
	raw := msg.Header.Get("Subject")
	for _, word := range strings.Fields(raw) {
		if len(word) > 75 {
			t.Errorf("encoded-word of %d characters, want at most 75: %q", len(word), word)
		}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(raw)
	if want := "troc: " + job + "@wéb1.exämple.org: Failed (exit 3), 2 failures in a row"; err != nil || subject != want {
		t.Errorf("subject = %q (%v), want %q", subject, err, want)
	}
	for _, want := range []string{
		"\nCommand:     " + command + "\n",
		"\nStarted:     " + deref(r.StartTime)[:10],
		"\nDuration:    ",
		"\nExit status: 3\n",
		"\nLast lines of the log:\n... 10 earlier lines\nline 11\n",
		"\nline 30\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}
