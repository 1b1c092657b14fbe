package main

// End-to-end tests of notifications through the real binary, against
// receivers on loopback.
//

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNotifyTestE2E(t *testing.T) {
	rc := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+rc.URL+"/hook")
	res := s.troc("notify", "test")
	if res.code != 0 || res.stdout != "webhook: ok\n" {
		t.Errorf("exit %d, stdout %q, want 0 and %q\nstderr: %s", res.code, res.stdout, "webhook: ok\n", res.stderr)
	}
	if got := events(t, rc.take()); !slices.Equal(got, []string{"test/0"}) {
		t.Errorf("notices %q, want [test/0]", got)
	}

	// --json: one object per channel, the error of one that failed.
	s.env = append(s.env, "TROC_NOTIFY_COMMAND=echo no >&2; exit 3")
	var views []notifyTestJSON
	res = s.troc("notify", "test", "--json")
	jsonOf(t, res, &views)
	if want := []notifyTestJSON{{Channel: "webhook", OK: true}, {Channel: "command", Error: ptr("exit status 3: no")}}; res.code != 1 || !reflect.DeepEqual(views, want) {
		t.Errorf("--json: exit %d, %+v; want 1 and %+v", res.code, views, want)
	}

	res = s.troc("notify", "test", "--channel", "pigeon")
	if res.code != exitUsage {
		t.Errorf("unknown channel: exit %d, want %d", res.code, exitUsage)
	}
}

// TestExecNotifyE2E: a failing job notifies through the webhook and the
// ping URL, and troc still exits with the job's status and prints the run.
func TestExecNotifyE2E(t *testing.T) {
	hook := newReceiver(t, nil)
	ping := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+hook.URL+"/hook", "TROC_NOTIFY_PING_URL="+ping.URL+"/uuid")
	res := s.troc("exec", "--name", "backup", "--notify", "echo copying; exit 3")
	if res.code != 3 {
		t.Errorf("exit %d, want the job's 3\nstderr: %s", res.code, res.stderr)
	}
	run := res.run(t)
	if run.Status != StatusFailed || run.Note != nil {
		t.Errorf("run: status %s, note %v; want Failed and no note", run.Status, run.Note)
	}
	if got := events(t, hook.take()); !slices.Equal(got, []string{"failure/1"}) {
		t.Errorf("webhook notices %q, want [failure/1]", got)
	}
	pings := func() []string {
		var paths []string
		for _, h := range ping.take() {
			p, _ := cutRID(t, h.path)
			paths = append(paths, p)
		}
		return paths
	}
	if got, want := pings(), []string{"/uuid/start", "/uuid/3"}; !slices.Equal(got, want) {
		t.Errorf("pings %q, want %q", got, want)
	}

	// Without --notify, only the ping URL hears of the run
	// (notify.ping.every), and with notify.ping.every false, nothing.
	res = s.troc("exec", "--name", "backup", "exit 3")
	if len(hook.take()) != 0 {
		t.Error("notified without --notify")
	}
	if got, want := pings(), []string{"/uuid/start", "/uuid/3"}; !slices.Equal(got, want) {
		t.Errorf("pings without --notify %q, want %q", got, want)
	}
	s.env = append(s.env, "TROC_NOTIFY_PING_EVERY=false")
	res = s.troc("exec", "--name", "backup", "exit 3")
	if len(hook.take())+len(ping.take()) != 0 {
		t.Error("notified without --notify and with notify.ping.every false")
	}
	s.env = s.env[:len(s.env)-1]

	// The job's own setting, and runs that never started: one skipped
	// (when the statuses say so), one whose program does not exist.
	s.mustTroc(0, "job", "update", "--name", "backup", "--notify", "--notify-on", "failed,skipped")
	cmd, _ := s.startJob("backup", "sleep 30")
	hook.take()
	ping.take()
	s.mustTroc(exitSkipped, "exec", "--name", "backup", "true")
	if got := events(t, hook.take()); len(got) != 1 || !strings.HasPrefix(got[0], "end") {
		t.Errorf("skipped run: webhook notices %q, want one end", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	s.mustTroc(exitNotFound, "exec", "--name", "backup", "--", "/nonexistent/program")
	// Its fifth failure in a row (skips aside): a reminder of the streak.
	if got := events(t, hook.take()); !slices.Equal(got, []string{"reminder/5"}) {
		t.Errorf("run that could not start: webhook notices %q, want [reminder/5]", got)
	}
}

// TestExecNotifyAfterLockE2E: notifications happen after the job's lock
// is released, so a notification that hangs does not make the next run
// of the job a skipped one, and troc gives up on it after notify.timeout.
func TestExecNotifyAfterLockE2E(t *testing.T) {
	arrived := make(chan struct{}, 1)
	hook := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+hook.URL, "TROC_NOTIFY_TIMEOUT=3s")
	first := s.command("exec", "--name", "backup", "--notify", "exit 1")
	var out, errb bytes.Buffer
	first.Stdout, first.Stderr = &out, &errb
	start := time.Now()
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	select {
	case <-arrived:
	case <-exited:
		t.Fatalf("troc exited without notifying\nstderr: %s", errb.String())
	}
	res := s.troc("exec", "--name", "backup", "true")
	if res.code != 0 {
		t.Errorf("second run while the first notifies: exit %d, want 0 (not skipped)\n%s", res.code, res.stderr)
	}
	<-exited
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("first troc took %s with notify.timeout 3s", d)
	}
	if code := first.ProcessState.ExitCode(); code != 1 {
		t.Errorf("first troc exit %d, want the job's 1", code)
	}
	if runs := s.runs(); len(runs) != 2 || !strings.Contains(runs[0].Note, "failure notification by webhook failed: POST ") {
		t.Errorf("the first run's note does not say the notification failed: %+v", runs)
	}
}

// TestNotifySecretsE2E configures every secret, makes every channel fail,
// and looks for the secrets in everything troc wrote: stdout, stderr, the
// system log, the job's log (the job prints its environment) and the
// database files.
func TestNotifySecretsE2E(t *testing.T) {
	secrets := map[string]string{
		"token":   "xoxb-E2E-TOKEN-SECRET",
		"hook":    "E2EHOOKSECRET0123456789",
		"ping":    "e2e0f7e1-5d8e-PINGSECRET",
		"header":  "E2EHEADERSECRET",
		"webhook": "E2EWEBHOOKPATHSECRET",
	}
	echo := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// Repeats what it got, in its error.
		http.Error(w, "rejected "+r.URL.Path+" "+r.Header.Get("Authorization"), http.StatusForbidden)
	})
	closed := fmt.Sprintf("127.0.0.1:%d", sparePort(t))
	s := newSandbox(t)
	s.env = append(s.env,
		"TROC_NOTIFY_SLACK_TOKEN="+secrets["token"], "TROC_NOTIFY_SLACK_CHANNEL=#ops",
		"TROC_NOTIFY_SLACK_API_URL="+echo.URL,
		"TROC_NOTIFY_WEBHOOK_URL=http://"+closed+"/"+secrets["webhook"],
		"TROC_NOTIFY_WEBHOOK_HEADERS=Authorization: Bearer "+secrets["header"],
		"TROC_NOTIFY_PING_URL="+echo.URL+"/"+secrets["ping"],
	)
	res := s.troc("exec", "--name", "leaky", "--notify", `env; tr '\0' '\n' < /proc/$$/environ; exit 1`)
	// The same with the Slack webhook instead of the token.
	s.env = append(s.env, "TROC_NOTIFY_SLACK_TOKEN=", "TROC_NOTIFY_SLACK_WEBHOOK="+echo.URL+"/services/T1/B1/"+secrets["hook"])
	res2 := s.troc("exec", "--name", "leaky", "--notify", `env; tr '\0' '\n' < /proc/$$/environ; exit 1`)

	texts := map[string][]byte{"stdout": []byte(res.stdout + res2.stdout), "stderr": []byte(res.stderr + res2.stderr)}
	for _, r := range []result{res, res2} {
		run := r.run(t)
		for _, p := range []*string{run.LogFile, run.SystemLogFile} {
			if p != nil {
				texts[*p] = []byte(fileContent(t, *p))
			}
		}
		if run.Note == nil || !strings.Contains(*run.Note, "notification by") {
			t.Errorf("note %q does not say the notifications failed", deref(run.Note))
		}
	}
	db, _ := filepath.Glob(filepath.Join(s.configDir(), "troc.db*"))
	for _, p := range db {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts[p] = b
	}
	for where, b := range texts {
		for what, secret := range secrets {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s shows the %s secret", where, what)
			}
		}
	}
}

// TestNotifySecretsEchoedE2E: every notification server repeats what it
// was sent (a stock 404 page quoting the path and query, a JSON error
// repeating the headers, a redirect to a URL that holds the secrets, an
// SMTP server repeating the AUTH it got), and troc runs, tests and shows
// notifications through them. No secret, in any form, nor any 8
// characters of one, is in anything troc printed or wrote: the outputs
// of exec, notify test, run show, run list, job show, and every file of
// the sandbox (logs, system logs, the spool, troc.db and its -wal).
func TestNotifySecretsEchoedE2E(t *testing.T) {
	const (
		token    = "xoxb-4242-EchoTok3nQz7Lp0v"
		slackKey = "SlkHook9w8e7r6t5y4u3i2o1"
		hookPath = "WhPathZ1x2c3v4b5n6m7"
		hookPW   = "WhPa/ss:p0o9 i8u7@y6" // escaped in the URL
		header   = "HdrValM1n2b3v4c5x6z7"
		pingID   = "PingUuidA1s2d3f4g5h6"
		smtpPW   = "SmtpPassQ1w2e3r4t5y6"
	)
	query := "WhQ+uery/k9j8h7=g6&f5" // escaped in the URL, as ?token=
	secrets := []string{token, slackKey, hookPath, hookPW, url.QueryEscape(hookPW), url.PathEscape(hookPW),
		url.UserPassword("troc", hookPW).String(), header, pingID, smtpPW,
		query, url.QueryEscape(query),
		base64.StdEncoding.EncodeToString([]byte("troc:" + hookPW)),
		base64.StdEncoding.EncodeToString([]byte("\x00troc\x00" + smtpPW))}

	// What the servers repeat: the request's path and query, raw and
	// decoded, and every header's value.
	echoed := func(r *http.Request) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s (%s)", r.Method, r.URL.RequestURI(), r.URL.Query())
		for name, v := range r.Header {
			fmt.Fprintf(&b, "; %s: %s", name, strings.Join(v, ", "))
		}
		return b.String()
	}
	final := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "you came here with "+echoed(r), http.StatusBadRequest)
	})
	page404 := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "<html><body><h1>Not Found</h1><p>The requested URL %s was not found on this server.</p><p>%s</p></body></html>\n",
			r.URL.RequestURI(), echoed(r))
	})
	jsonError := func(code int) *receiver {
		return newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			b, _ := json.Marshal(map[string]any{"ok": false, "error": echoed(r), "path": r.URL.Path, "query": r.URL.Query()})
			w.Write(b)
		})
	}
	redirect := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		to := final.URL + r.URL.RequestURI() + "&auth=" + url.QueryEscape(r.Header.Get("Authorization"))
		w.Header().Set("Location", to)
		w.WriteHeader(http.StatusTemporaryRedirect)
		fmt.Fprintf(w, "<a href=%q>Temporary Redirect</a>: %s\n", to, echoed(r))
	})
	smtp := newSMTPServer(t, nil)
	smtp.echoAuth.Store(true)

	withSecrets := func(srv *receiver, path string) string {
		u, _ := url.Parse(srv.URL)
		u.User = url.UserPassword("troc", hookPW)
		return u.String() + path + "?token=" + url.QueryEscape(query)
	}
	common := []string{
		"TROC_NOTIFY_TIMEOUT=5s",
		"TROC_NOTIFY_WEBHOOK_HEADERS=X-Api-Key: " + header + "; Authorization: Bearer " + header,
		"TROC_NOTIFY_EMAIL_TO=ops@example.com",
		"TROC_NOTIFY_EMAIL_SMTP_HOST=127.0.0.1", "TROC_NOTIFY_EMAIL_SMTP_PORT=" + smtp.port(),
		"TROC_NOTIFY_EMAIL_SMTP_USER=troc", "TROC_NOTIFY_EMAIL_SMTP_PASSWORD=" + smtpPW,
		"TROC_NOTIFY_EMAIL_SMTP_STARTTLS=false",
	}
	rounds := []struct {
		name string
		env  []string
	}{
		{"token, Slack answers ok false", []string{
			"TROC_NOTIFY_SLACK_TOKEN=" + token, "TROC_NOTIFY_SLACK_CHANNEL=#ops",
			"TROC_NOTIFY_SLACK_API_URL=" + jsonError(http.StatusOK).URL,
			"TROC_NOTIFY_WEBHOOK_URL=" + withSecrets(page404, "/hooks/"+hookPath),
			"TROC_NOTIFY_PING_URL=" + redirect.URL + "/" + pingID}},
		{"token, Slack answers 403", []string{
			"TROC_NOTIFY_SLACK_TOKEN=" + token, "TROC_NOTIFY_SLACK_CHANNEL=#ops",
			"TROC_NOTIFY_SLACK_API_URL=" + jsonError(http.StatusForbidden).URL,
			"TROC_NOTIFY_WEBHOOK_URL=" + withSecrets(redirect, "/hooks/"+hookPath),
			"TROC_NOTIFY_PING_URL=" + page404.URL + "/" + pingID}},
		{"Slack webhook, 404 page", []string{
			"TROC_NOTIFY_SLACK_WEBHOOK=" + page404.URL + "/services/T0ECHO1/B0ECHO2/" + slackKey,
			"TROC_NOTIFY_WEBHOOK_URL=" + withSecrets(jsonError(http.StatusBadRequest), "/hooks/"+hookPath),
			"TROC_NOTIFY_PING_URL=" + jsonError(http.StatusNotFound).URL + "/" + pingID}},
		{"Slack webhook, redirect", []string{
			"TROC_NOTIFY_SLACK_WEBHOOK=" + redirect.URL + "/services/T0ECHO1/B0ECHO2/" + slackKey,
			"TROC_NOTIFY_WEBHOOK_URL=" + withSecrets(jsonError(http.StatusInternalServerError), "/hooks/"+hookPath),
			"TROC_NOTIFY_PING_URL=" + withSecrets(page404, "/"+pingID)}},
	}

	s := newSandbox(t)
	outputs := map[string]string{}
	say := func(what string, res result) {
		outputs[what+": stdout"] += res.stdout
		outputs[what+": stderr"] += res.stderr
	}
	var notes []string
	for i, round := range rounds {
		s.env = append(slices.Clone(common), round.env...)
		res := s.troc("exec", "--name", "leaky", "--notify", `env; exit 1`)
		if res.code != 1 {
			t.Fatalf("%s: exec exit %d, want the job's 1\nstderr: %s", round.name, res.code, res.stderr)
		}
		say("exec --notify", res)
		if run := res.run(t); run.Note != nil {
			notes = append(notes, *run.Note)
		}
		res = s.troc("notify", "test")
		if res.code != 1 || strings.Count(res.stdout, ": failed: ") != 4 {
			t.Errorf("%s: notify test: exit %d, want 1 and 4 channels failed:\n%s%s", round.name, res.code, res.stdout, res.stderr)
		}
		say("notify test", res)
		say("notify test --json", s.troc("notify", "test", "--json"))

		if i == 0 {
			// Once with the history busy, so that the run is spooled:
			// the spool files are searched while they are there.
			conn, err := openRaw(t, filepath.Join(s.configDir(), "troc.db")).Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
				t.Fatal(err)
			}
			s.env = append(s.env, "TROC_BUSY_TIMEOUT=200ms")
			res := s.troc("exec", "--name", "leaky", "--notify", `env; exit 1`)
			say("exec --notify, spooled", res)
			spooled := 0
			filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() && strings.Contains(path, "spool") {
					outputs[path+" (while spooled)"] = fileContent(t, path)
					spooled++
				}
				return nil
			})
			if spooled == 0 {
				t.Errorf("no spool file while the history was busy\nstderr: %s", res.stderr)
			}
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
		}
	}
	if len(final.take()) != 0 {
		t.Error("a redirect was followed: the notification went to another server")
	}
	if _, attempts := smtp.sent(); attempts == 0 {
		t.Error("the SMTP server was never reached")
	}
	// The channels did fail, in the ways the servers chose, and say so by
	// their status lines.
	all := strings.Join(notes, "\n")
	for _, want := range []string{"HTTP 404 Not Found", "HTTP 307 Temporary Redirect: redirected; give the final URL",
		"HTTP 403 Forbidden", "HTTP 400 Bad Request", "slack says it failed, without an error code",
		"notification by email failed: SMTP 127.0.0.1:" + smtp.port() + ": authentication: 535 5.7.8 bad credentials: PLAIN [secret] 5.7.8 that is [secret] [secret]"} {
		if !strings.Contains(all, want) {
			t.Errorf("no note says %q:\n%s", want, all)
		}
	}

	var list []runJSON
	res := s.troc("run", "list", "--json", "--limit", "0")
	jsonOf(t, res, &list)
	say("run list --json", res)
	say("run list", s.troc("run", "list", "--limit", "0"))
	for _, r := range list {
		say("run show", s.troc("run", "show", strconv.FormatInt(*r.ID, 10)))
	}
	say("job show", s.troc("job", "show", "--name", "leaky"))
	say("job show --json", s.troc("job", "show", "--name", "leaky", "--json"))
	filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			outputs[path] = fileContent(t, path)
		}
		return nil
	})
	if !strings.Contains(outputs["run list --json: stdout"], "notification by webhook failed") {
		t.Errorf("run list --json shows no notification failure:\n%s", outputs["run list --json: stdout"])
	}

	for where, text := range outputs {
		for _, secret := range secrets {
			for i := 0; i+8 <= len(secret); i++ {
				if part := secret[i : i+8]; strings.Contains(text, part) {
					at := strings.Index(text, part)
					t.Errorf("%s shows %q, of the secret %q: ...%s...", where, part, secret, text[max(at-200, 0):min(at+200, len(text))])
					break
				}
			}
		}
	}
}
