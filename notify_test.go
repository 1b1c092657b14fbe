package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// notifyConfig returns the default configuration with settings applied
// as the config file would apply them (key: value text), and this host
// named web1.
func notifyConfig(t *testing.T, settings map[string]string) *Config {
	t.Helper()
	c, l, err := newConfig("/etc/troc/config.yaml", testEnv(goldenEnv))
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range settings {
		k := lookupKey(name)
		if k == nil {
			t.Fatalf("no config key %s", name)
		}
		if err := l.set(c, k, value); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	c.Notify.Hostname = "web1"
	return c
}

// hit is one request a loopback server received.
type hit struct {
	method, path string
	header       http.Header
	body         []byte
}

// receiver is an HTTP server on loopback that records what it receives
// and answers with respond (200 and "ok" when nil); n counts requests
// from 1.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{r.Method, r.URL.RequestURI(), r.Header.Clone(), body})
		n := len(rc.hits)
		rc.mu.Unlock()
		if respond == nil {
			io.WriteString(w, "ok")
			return
		}
		respond(w, r, n)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// take returns the requests received since the last take.
func (rc *receiver) take() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	h := rc.hits
	rc.hits = nil
	return h
}

// testLogger returns a logger writing text lines into the buffer.
func testLogger() (*slog.Logger, *syncBuffer) {
	var b syncBuffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

// testNotifier returns newRunNotifier's notifier with fast retries.
func testNotifier(t *testing.T, cfg *Config, job Job) (*runNotifier, *syncBuffer) {
	t.Helper()
	log, buf := testLogger()
	n, err := newRunNotifier(cfg, job, log)
	if err != nil {
		t.Fatalf("newRunNotifier: %v", err)
	}
	fastRetries(n.channels...)
	if n.ping != nil {
		fastRetries(n.ping)
	}
	return n, buf
}

// fastRetries makes the channels' backoff short.
func fastRetries(chans ...channel) {
	for _, ch := range chans {
		switch ch := ch.(type) {
		case *slackChannel:
			ch.p.backoff = time.Millisecond
		case *webhookChannel:
			ch.p.backoff = time.Millisecond
		case *pingChannel:
			ch.p.backoff = time.Millisecond
		case *emailChannel:
			ch.p.backoff = time.Millisecond
		}
	}
}

// testDB returns a new history in a temp directory.
func testDB(t *testing.T) *DB {
	t.Helper()
	db, err := openDB(filepath.Join(t.TempDir(), "troc.db"), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// addRun records a finished run of job in db, started at start.
func addRun(t *testing.T, db *DB, job string, status Status, start time.Time) *Run {
	t.Helper()
	ctx := context.Background()
	r := &Run{Job: job, Status: status, Start: start.Truncate(time.Millisecond), Host: "web1", Command: "backup.sh",
		LogFile: "/tmp/troc-1000/" + job + ".log"}
	if status != StatusRunning {
		r.End = r.Start.Add(1500 * time.Millisecond)
	}
	code := map[Status]int{StatusSucceeded: 0, StatusFailed: 3}
	if c, ok := code[status]; ok {
		r.ExitCode = &c
	}
	if err := db.insertRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// events returns the "event" and "failures" of each notice a webhook
// receiver got, as "failure/2".
func events(t *testing.T, hits []hit) []string {
	t.Helper()
	var out []string
	for _, h := range hits {
		var v struct {
			Event    string `json:"event"`
			Failures int    `json:"failures"`
		}
		if err := json.Unmarshal(h.body, &v); err != nil {
			t.Fatalf("webhook body %q: %v", h.body, err)
		}
		out = append(out, fmt.Sprintf("%s/%d", v.Event, v.Failures))
	}
	return out
}

func TestNotifyOnConfig(t *testing.T) {
	c := notifyConfig(t, nil)
	// Every result, as the original troc posted every run it recorded.
	if want := []Status{StatusSkipped, StatusSucceeded, StatusFailed, StatusTerminated, StatusTimedOut, StatusSuspect}; !slices.Equal(c.Notify.On, want) {
		t.Errorf("default notify.on = %v, want %v", c.Notify.On, want)
	}
	path := writeConfig(t, "notify:\n  on: bogus\n", 0o600)
	_, err := readConfig(path, testEnv(goldenEnv))
	if err == nil || !strings.Contains(err.Error(), `"notify.on": unknown status "bogus"`) {
		t.Errorf("error = %v, want one naming notify.on and the bad status", err)
	}
}

func TestNotifySecretKeys(t *testing.T) {
	for _, name := range []string{"notify.slack.token", "notify.slack.webhook", "notify.webhook.url",
		"notify.webhook.headers", "notify.ping.url", "notify.email.smtp.password"} {
		if k := lookupKey(name); k == nil || !k.secret {
			t.Errorf("%s is not a secret key", name)
		}
	}
	// One in a world-readable file is not used, and its channel says why.
	path := writeConfig(t, "notify:\n  ping:\n    url: https://hc-ping.com/0f7e1c2a-secret\n", 0o644)
	c, err := readConfig(path, testEnv(goldenEnv))
	if err != nil {
		t.Fatal(err)
	}
	setups := configuredChannels(c, newPoster(nil))
	const want = "notify.ping.url not used: config.yaml is readable by others; chmod 600 it"
	if c.Notify.Ping != "" || len(setups) != 1 || setups[0].name != "ping" || setups[0].err == nil || setups[0].err.Error() != want {
		t.Errorf("ping URL %q, channels %+v; want none used and ping saying %q", c.Notify.Ping, setups, want)
	}
}

func TestNewRunNotifierConfigErrors(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		want     string // in the error; "" for none
		channels []string
	}{
		{name: "nothing configured", want: "no notification channel is configured"},
		{name: "token without channel", settings: map[string]string{"notify.slack.token": "xoxb-1"}, want: "notify.slack.channel: missing"},
		{name: "channel without token", settings: map[string]string{"notify.slack.channel": "#ops"}, want: "notify.slack.token: missing"},
		{name: "token and webhook", settings: map[string]string{"notify.slack.token": "xoxb-1", "notify.slack.channel": "#ops", "notify.slack.webhook": "https://hooks.slack.com/services/T/B/X"}, want: "notify.slack.token and notify.slack.webhook are both set"},
		{name: "slack webhook not a URL", settings: map[string]string{"notify.slack.webhook": "hooks.slack.com/services/T/B/SECRETPART"}, want: "notify.slack.webhook: not an http or https URL"},
		{name: "webhook URL without host", settings: map[string]string{"notify.webhook.url": "https:///x"}, want: "notify.webhook.url: the URL has no host"},
		{name: "headers without URL", settings: map[string]string{"notify.webhook.headers": "X-A: b"}, want: "notify.webhook.url: missing"},
		{name: "bad header", settings: map[string]string{"notify.webhook.url": "https://example.com/h", "notify.webhook.headers": "Authorization Bearer SECRETPART"}, want: `notify.webhook.headers: entry 1: want "Name: value"`},
		{name: "ping not a URL", settings: map[string]string{"notify.ping.url": "ftp://hc-ping.com/SECRETPART"}, want: "notify.ping.url: not an http or https URL"},
		{name: "mail without to", settings: map[string]string{"notify.email.smtp.host": "mail.example.com"}, want: "notify.email.to: missing, needed with notify.email.smtp.host"},
		{name: "bad address", settings: map[string]string{"notify.email.to": "ops at example", "notify.email.smtp.host": "mail.example.com"}, want: "notify.email.to: mail: "},
		{name: "no sendmail", settings: map[string]string{"notify.email.to": "ops@example.com", "notify.email.sendmail": "/nonexistent/sendmail"}, want: "notify.email.sendmail: /nonexistent/sendmail is not an executable file"},
		{name: "password without user", settings: map[string]string{"notify.email.to": "ops@example.com", "notify.email.smtp.host": "mail.example.com", "notify.email.smtp.password": "SECRETPART"}, want: "notify.email.smtp.user: missing"},
		{name: "password without host", settings: map[string]string{"notify.email.to": "ops@example.com", "notify.email.smtp.password": "SECRETPART"}, want: "notify.email.smtp.host: missing, needed with notify.email.smtp.password"},
		{name: "port 465", settings: map[string]string{"notify.email.to": "ops@example.com", "notify.email.smtp.host": "mail.example.com", "notify.email.smtp.port": "465"}, want: "notify.email.smtp.port: 465 (TLS from the start) is not supported"},
		{name: "bad port", settings: map[string]string{"notify.email.to": "ops@example.com", "notify.email.smtp.host": "mail.example.com", "notify.email.smtp.port": "0"}, want: "notify.email.smtp.port: 0 is not a port number"},
		{name: "zero timeout", settings: map[string]string{"notify.command": "true", "notify.timeout": "0"}, want: "notify.timeout: must be more than 0", channels: []string{"command"}},
		{name: "zero after_failures", settings: map[string]string{"notify.command": "true", "notify.after_failures": "0"}, want: "notify.after_failures: must be at least 1", channels: []string{"command"}},
		{name: "one bad, one good", settings: map[string]string{"notify.slack.token": "xoxb-1", "notify.command": "true"}, want: "notify.slack.channel: missing", channels: []string{"command"}},
		{name: "all good", settings: map[string]string{"notify.slack.token": "xoxb-1", "notify.slack.channel": "#ops", "notify.webhook.url": "https://example.com/h", "notify.ping.url": "https://hc-ping.com/u", "notify.email.to": "ops@example.com", "notify.email.smtp.host": "mail.example.com", "notify.command": "true"}, channels: []string{"slack", "webhook", "email", "command"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, _ := testLogger()
			n, err := newRunNotifier(notifyConfig(t, tt.settings), Job{Name: "backup"}, log)
			if n == nil {
				t.Fatal("newRunNotifier returned nil")
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETPART") {
				t.Errorf("error %q shows a secret", err)
			}
			var got []string
			for _, ch := range n.channels {
				got = append(got, ch.name())
			}
			if !slices.Equal(got, tt.channels) {
				t.Errorf("channels = %v, want %v", got, tt.channels)
			}
		})
	}
}

func TestNoticeText(t *testing.T) {
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	code0, code3 := 0, 3
	tests := []struct {
		name string
		m    notice
		want string
	}{
		{
			name: "seed format",
			m: notice{event: eventEnd, host: "example-server", run: Run{ID: 84, Job: "daily-sync", Status: StatusSucceeded,
				Start: start, End: start.Add(1200 * time.Millisecond), ExitCode: &code0, LogFile: "/tmp/daily-sync.3159256558.log"}},
			want: "daily-sync@example-server: run 84 - ✅: Succeeded after 1.2s\nLog: /tmp/daily-sync.3159256558.log",
		},
		{
			name: "failure with exit code, streak and note",
			m: notice{event: eventFailure, failures: 3, host: "web1", run: Run{ID: 9, Job: "backup", Status: StatusFailed,
				Start: start, End: start.Add(2*time.Minute + 3400*time.Millisecond), ExitCode: &code3, Note: "log cut"}},
			want: "backup@web1: run 9 - ❌: Failed (exit 3) after 2m3s\n3 failures in a row\nNote: log cut",
		},
		{
			name: "signal, reminder",
			m: notice{event: eventReminder, failures: 7, host: "web1", run: Run{ID: 10, Job: "backup", Status: StatusTerminated,
				Start: start, End: start.Add(time.Second), Signal: 15}},
			want: "backup@web1: run 10 - 🛑: Terminated (SIGTERM) after 1s\nStill failing: 7 failures in a row",
		},
		{
			name: "recovery",
			m: notice{event: eventRecovery, failures: 1, host: "web1", run: Run{ID: 11, Job: "backup", Status: StatusSucceeded,
				Start: start, End: start.Add(time.Second), ExitCode: &code0}},
			want: "backup@web1: run 11 - ✅: Succeeded after 1s\nRecovered after 1 failure",
		},
		{
			name: "start, spooled",
			m:    notice{event: eventStart, host: "web1", run: Run{Job: "backup", Status: StatusRunning, Start: start}},
			want: "backup@web1: run not recorded - " + statusEmoji[StatusRunning] + ": Running",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.text(); got != tt.want {
				t.Errorf("text =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestFitTail(t *testing.T) {
	tail := []string{"one", "two", "three", "four"}
	tests := []struct {
		name    string
		earlier int // lines of the log before the tail
		budget  int
		want    []string
	}{
		{"all fit", 0, 1000, tail},
		{"cut", 0, 42, []string{"... 2 earlier lines", "three", "four"}},
		{"only the marker", 0, 31, []string{"... 4 earlier lines"}},
		{"all fit, the log has more", 26, 1000, append([]string{"... 26 earlier lines"}, tail...)},
		{"cut, the log has more", 26, 42, []string{"... 28 earlier lines", "three", "four"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fitTail(tail, tt.earlier, tt.budget, 100, nil); !slices.Equal(got, tt.want) {
				t.Errorf("fitTail = %q, want %q", got, tt.want)
			}
		})
	}
	if got := fitTail([]string{strings.Repeat("x", 50)}, 0, 1000, 30, nil); len(got) != 1 || got[0] != "xxxxxxxxx [41 more characters]" {
		t.Errorf("long line cut to %q, want one line %q", got, "xxxxxxxxx [41 more characters]")
	}
	if got := fitTail(nil, 0, 100, 10, nil); got != nil {
		t.Errorf("fitTail(nil) = %q, want nil", got)
	}
}

// TestAlertRules runs sequences of runs through finish with a real
// history and checks which notices the webhook receives.
func TestAlertRules(t *testing.T) {
	type step struct {
		status Status
		later  time.Duration // since the previous step
		want   string        // event/failures, "" for no notice
	}
	tests := []struct {
		name     string
		settings map[string]string
		noDB     bool
		steps    []step
	}{
		{
			name: "defaults: every result, failures as a streak, then recovery",
			steps: []step{
				{StatusSucceeded, 0, "end/0"},
				{StatusFailed, time.Minute, "failure/1"},
				{StatusTimedOut, time.Minute, "reminder/2"},
				{StatusSucceeded, time.Minute, "recovery/2"},
				{StatusSucceeded, time.Minute, "end/0"},
			},
		},
		{
			name:     "after 3 in a row, remind hourly",
			settings: map[string]string{"notify.after_failures": "3", "notify.repeat": "1h"},
			steps: []step{
				{StatusFailed, 0, ""},
				{StatusFailed, time.Minute, ""},
				{StatusTerminated, time.Minute, "failure/3"},
				{StatusFailed, 10 * time.Minute, ""},
				{StatusFailed, 55 * time.Minute, "reminder/5"},
				{StatusFailed, time.Minute, ""},
				{StatusSucceeded, time.Minute, "recovery/6"},
				{StatusFailed, time.Minute, ""},
				{StatusFailed, time.Minute, ""},
				{StatusFailed, time.Minute, "failure/3"},
			},
		},
		{
			name:     "no recovery without an alert",
			settings: map[string]string{"notify.after_failures": "2"},
			steps: []step{
				{StatusFailed, 0, ""},
				{StatusSucceeded, time.Minute, "end/0"},
			},
		},
		{
			name:     "failures only",
			settings: map[string]string{"notify.on": "failed,terminated,timedout"},
			steps: []step{
				{StatusSucceeded, 0, ""},
				{StatusSkipped, time.Minute, ""},
				{StatusFailed, time.Minute, "failure/1"},
				{StatusSucceeded, time.Minute, "recovery/1"},
				{StatusSucceeded, time.Minute, ""},
			},
		},
		{
			name: "skipped and running runs do not break a streak",
			steps: []step{
				{StatusFailed, 0, "failure/1"},
				{StatusSkipped, time.Minute, "end/0"},
				{StatusRunning, time.Minute, ""},
				{StatusFailed, time.Minute, "reminder/2"},
			},
		},
		{
			name:     "recovery off",
			settings: map[string]string{"notify.recovery": "false"},
			steps: []step{
				{StatusFailed, 0, "failure/1"},
				{StatusSucceeded, time.Minute, "end/0"},
			},
		},
		{
			name:     "only timeouts notify; other failures count",
			settings: map[string]string{"notify.on": "timedout"},
			steps: []step{
				{StatusFailed, 0, ""},
				{StatusTimedOut, time.Minute, "failure/2"},
				{StatusSucceeded, time.Minute, "recovery/2"},
			},
		},
		{
			name:     "successes and skips when asked",
			settings: map[string]string{"notify.on": "succeeded,skipped"},
			steps: []step{
				{StatusSucceeded, 0, "end/0"},
				{StatusSkipped, time.Minute, "end/0"},
				{StatusFailed, time.Minute, ""},
			},
		},
		{
			name:     "without the history, the status alone",
			settings: map[string]string{"notify.after_failures": "3"},
			noDB:     true,
			steps: []step{
				{StatusFailed, 0, "failure/0"},
				{StatusFailed, time.Minute, "failure/0"},
				{StatusSucceeded, time.Minute, "end/0"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			settings := map[string]string{"notify.webhook.url": rc.URL}
			for k, v := range tt.settings {
				settings[k] = v
			}
			cfg := notifyConfig(t, settings)
			db := testDB(t)
			now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
			for i, s := range tt.steps {
				now = now.Add(s.later)
				run := addRun(t, db, "backup", s.status, now)
				n, _ := testNotifier(t, cfg, Job{Name: "backup"})
				n.now = func() time.Time { return now.Add(2 * time.Second) }
				finishDB := db
				if tt.noDB {
					finishDB = nil
				}
				n.finish(context.Background(), finishDB, run, nil)
				got := strings.Join(events(t, rc.take()), " ")
				if got != s.want {
					t.Errorf("step %d (%s): notices %q, want %q", i+1, s.status, got, s.want)
				}
			}
		})
	}
}

// TestAlertNotRecordedWhenUndelivered: a failure alert that no channel
// delivered does not count, so the next failure is announced as the
// first.
func TestAlertNotRecordedWhenUndelivered(t *testing.T) {
	fail := true
	var mu sync.Mutex
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			http.Error(w, "nope", http.StatusForbidden)
		}
	})
	cfg := notifyConfig(t, map[string]string{"notify.webhook.url": rc.URL})
	db := testDB(t)
	now := time.Now()
	run := addRun(t, db, "backup", StatusFailed, now)
	n, _ := testNotifier(t, cfg, Job{Name: "backup"})
	n.finish(context.Background(), db, run, nil)
	if got := events(t, rc.take()); !slices.Equal(got, []string{"failure/1"}) {
		t.Fatalf("first failure: notices = %q, want [failure/1]", got)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	run = addRun(t, db, "backup", StatusFailed, now.Add(time.Minute))
	n, _ = testNotifier(t, cfg, Job{Name: "backup"})
	n.finish(context.Background(), db, run, nil)
	if got := events(t, rc.take()); !slices.Equal(got, []string{"failure/2"}) {
		t.Errorf("second failure: notices %q, want [failure/2]", got)
	}
}

// TestFinishNotesFailures: a channel that fails is logged and noted in
// the run, in the history and in memory, and the others still deliver.
func TestFinishNotesFailures(t *testing.T) {
	good := newReceiver(t, nil)
	bad := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "invalid_token", http.StatusForbidden)
	})
	cfg := notifyConfig(t, map[string]string{
		"notify.webhook.url":   good.URL + "/hook",
		"notify.slack.webhook": bad.URL + "/services/T0001/B0001/SECRETSECRETSECRET",
	})
	db := testDB(t)
	run := addRun(t, db, "backup", StatusFailed, time.Now())
	run.Note = ""
	n, logs := testNotifier(t, cfg, Job{Name: "backup"})
	n.finish(context.Background(), db, run, nil)

	if got := len(good.take()); got != 1 {
		t.Errorf("webhook got %d requests, want 1", got)
	}
	if got := len(bad.take()); got != 1 {
		t.Errorf("slack webhook got %d requests, want 1 (403 is not retried)", got)
	}
	want := "failure notification by slack failed: POST " + strings.TrimPrefix(bad.URL, "http://") + ": HTTP 403 Forbidden: invalid_token"
	if run.Note != want {
		t.Errorf("note = %q, want %q", run.Note, want)
	}
	stored, err := db.getRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Note != want || stored.Status != StatusFailed {
		t.Errorf("stored run: status %s, note %q, want Failed, %q", stored.Status, stored.Note, want)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"Failure notification by slack failed") ||
		!strings.Contains(logs.String(), "Notification sent by webhook (failure)") {
		t.Errorf("log lacks the outcomes:\n%s", logs)
	}
	if strings.Contains(logs.String()+run.Note, "SECRETSECRET") {
		t.Errorf("log or note shows the webhook's secret:\n%s", logs)
	}
}

// TestFinishJobSettings: finish reads the job's own settings from the
// history: its statuses and its notify-log setting, which sends the log's
// tail.
func TestFinishJobSettings(t *testing.T) {
	rc := newReceiver(t, nil)
	cfg := notifyConfig(t, map[string]string{"notify.webhook.url": rc.URL})
	db := testDB(t)
	ctx := context.Background()
	run := addRun(t, db, "backup", StatusSucceeded, time.Now())
	if _, err := db.sql.Exec(`UPDATE jobs SET notify_on = 'Succeeded', notify_log = 1 WHERE name = 'backup'`); err != nil {
		t.Fatal(err)
	}
	n, _ := testNotifier(t, cfg, Job{Name: "backup"}) // built before the history was read
	var asked int
	n.finish(ctx, db, run, func(max int) ([]string, int) {
		asked = max
		return []string{"copied 3 files", "done"}, 0
	})
	hits := rc.take()
	if len(hits) != 1 {
		t.Fatalf("got %d notices, want 1", len(hits))
	}
	var v noticeJSON
	if err := json.Unmarshal(hits[0].body, &v); err != nil {
		t.Fatal(err)
	}
	if asked != logTailLines || !slices.Equal(v.LogTail, []string{"copied 3 files", "done"}) {
		t.Errorf("log_tail = %q (asked for %d lines), want the tail", v.LogTail, asked)
	}
}

// TestBeginPing: begin pings /start in the background and returns at
// once; finish waits for it, then pings the end.
func TestBeginPing(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.HasSuffix(r.URL.Path, "/start") {
			<-release
		}
	})
	cfg := notifyConfig(t, map[string]string{"notify.ping.url": rc.URL + "/ping/uuid", "notify.command": "true"})
	n, _ := testNotifier(t, cfg, Job{Name: "backup"})
	db := testDB(t)
	run := addRun(t, db, "backup", StatusRunning, time.Now())
	began := time.Now()
	n.begin(context.Background(), run)
	if d := time.Since(began); d > time.Second {
		t.Errorf("begin took %s, want at most 1s", d)
	}
	run.Status, run.End = StatusSucceeded, run.Start.Add(time.Second)
	finished := make(chan struct{})
	go func() {
		n.finish(context.Background(), db, run, nil)
		close(finished)
	}()
	select {
	case <-finished:
		t.Fatal("finish did not wait for /start")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-finished
	var paths []string
	for _, h := range rc.take() {
		p, _ := cutRID(t, h.path)
		paths = append(paths, p)
	}
	if want := []string{"/ping/uuid/start", "/ping/uuid"}; !slices.Equal(paths, want) {
		t.Errorf("pings %q, want %q", paths, want)
	}
}

// TestBeginRunningNotice: with running among the statuses, the message
// channels hear of the start too.
func TestBeginRunningNotice(t *testing.T) {
	rc := newReceiver(t, nil)
	cfg := notifyConfig(t, map[string]string{"notify.webhook.url": rc.URL, "notify.on": "running"})
	n, _ := testNotifier(t, cfg, Job{Name: "backup"})
	run := &Run{ID: 1, Job: "backup", Status: StatusRunning, Start: time.Now()}
	n.begin(context.Background(), run)
	n.finish(context.Background(), nil, &Run{ID: 1, Job: "backup", Status: StatusSucceeded, Start: run.Start, End: time.Now()}, nil)
	if got := events(t, rc.take()); !slices.Equal(got, []string{"start/0"}) {
		t.Errorf("notices %q, want [start/0]", got)
	}
}

// TestNotifierNil: a nil notifier does nothing.
func TestNotifierNil(t *testing.T) {
	var n *runNotifier
	n.begin(context.Background(), &Run{})
	n.finish(context.Background(), nil, &Run{}, nil)
}

// TestFinishConfigProblemNoted: a configuration problem is noted in the
// run, and the channels that work still send.
func TestFinishConfigProblemNoted(t *testing.T) {
	rc := newReceiver(t, nil)
	cfg := notifyConfig(t, map[string]string{"notify.webhook.url": rc.URL, "notify.slack.token": "xoxb-SECRET"})
	log, _ := testLogger()
	n, err := newRunNotifier(cfg, Job{Name: "backup"}, log)
	if err == nil {
		t.Fatal("no error for a token without a channel")
	}
	run := &Run{Job: "backup", Status: StatusFailed, Start: time.Now(), End: time.Now()}
	n.finish(context.Background(), nil, run, nil)
	if len(rc.take()) != 1 {
		t.Error("the webhook was not notified")
	}
	if want := "notification settings: notify.slack.channel: missing, needed with notify.slack.token"; run.Note != want {
		t.Errorf("note = %q, want %q", run.Note, want)
	}
}

func TestWithoutSecrets(t *testing.T) {
	env := []string{"PATH=/bin", "TROC_NOTIFY_SLACK_TOKEN=x", "TROC_NOTIFY_SLACK_CHANNEL=#ops", "TROC_NOTIFY_PING_URL=u",
		"TROC_NOTIFY_EMAIL_SMTP_PASSWORD=p", "TROC_NOTIFY_WEBHOOK_URL=w", "TROC_NOTIFY_WEBHOOK_HEADERS=h", "TROC_NOTIFY_SLACK_WEBHOOK=s"}
	want := []string{"PATH=/bin", "TROC_NOTIFY_SLACK_CHANNEL=#ops"}
	if got := withoutSecrets(env); !slices.Equal(got, want) {
		t.Errorf("withoutSecrets = %q, want %q", got, want)
	}
}

func cmpDuration(d, otherwise time.Duration) time.Duration {
	if d == 0 {
		return otherwise
	}
	return d
}

// TestNoticesReadTheLogOnce: a --notify-log job with a message channel and
// a ping reads its log once, for the ping's longer tail; the message
// carries that tail's last lines, counting the ones before them.
func TestNoticesReadTheLogOnce(t *testing.T) {
	cfg := notifyConfig(t, map[string]string{"notify.ping.url": "http://127.0.0.1:9/ping", "notify.webhook.url": "http://127.0.0.1:9/hook"})
	job := Job{Name: "backup", NotifyLog: true}
	n, _ := testNotifier(t, cfg, job)
	const total = 100
	reads := 0
	logTail := func(n int) ([]string, int) {
		reads++
		var lines []string
		for i := max(total-n, 0); i < total; i++ {
			lines = append(lines, strconv.Itoa(i+1))
		}
		return lines, max(total-n, 0)
	}
	run := &Run{ID: 1, Job: "backup", Status: StatusFailed, Start: time.Now(), End: time.Now()}
	m, pm := n.notices(context.Background(), nil, job, run, logTail)
	if reads != 1 {
		t.Errorf("the log's tail was read %d times, want once", reads)
	}
	if m == nil || pm == nil {
		t.Fatalf("notices %v, %v; want a message and a ping", m, pm)
	}
	if len(pm.pingTail) != total || pm.pingEarlier != 0 {
		t.Errorf("ping's tail: %d lines after %d, want %d after 0", len(pm.pingTail), pm.pingEarlier, total)
	}
	if want := []string{"81", "100"}; len(m.tail) != logTailLines || m.tail[0] != want[0] || m.tail[len(m.tail)-1] != want[1] || m.earlier != total-logTailLines {
		t.Errorf("message's tail: %q after %d, want lines 81 to 100 after %d", m.tail, m.earlier, total-logTailLines)
	}
}
