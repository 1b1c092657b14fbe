package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// slackAPI is a loopback server speaking chat.postMessage: it checks the
// token and the body as Slack does, and answers with respond when it is
// not nil.
func slackAPI(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	t.Helper()
	return newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch {
		case r.URL.Path != "/api/chat.postMessage":
			http.Error(w, `{"ok":false,"error":"unknown_method"}`, http.StatusNotFound)
		case r.Header.Get("Authorization") != "Bearer xoxb-test-token":
			io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
		case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
			io.WriteString(w, `{"ok":false,"error":"invalid_form_data"}`)
		case respond != nil:
			respond(w, r, n)
		default:
			io.WriteString(w, `{"ok":true,"channel":"C0001","ts":"1.2"}`)
		}
	})
}

// slackNotifier returns a Slack channel posting to srv's /api.
func slackNotifier(t *testing.T, srv *receiver, settings map[string]string) *slackChannel {
	t.Helper()
	s := map[string]string{"notify.slack.token": "xoxb-test-token", "notify.slack.channel": "#ops", "notify.slack.api_url": srv.URL + "/api"}
	for k, v := range settings {
		s[k] = v
	}
	ch, err := newSlackChannel(&notifyConfig(t, s).Notify, newPoster(nil))
	if err != nil {
		t.Fatal(err)
	}
	sc := ch.(*slackChannel)
	sc.p.backoff = time.Millisecond
	return sc
}

func failedNotice() *notice {
	code := 2
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	return &notice{event: eventFailure, failures: 1, host: "web1", tag: true, loc: time.UTC,
		run: Run{ID: 84, Job: "daily-sync", Status: StatusFailed, Start: start, End: start.Add(3 * time.Second),
			ExitCode: &code, LogFile: "/tmp/daily-sync.log", Host: "web1", Command: "rsync -a /a /b"}}
}

func TestSlackPostMessage(t *testing.T) {
	srv := slackAPI(t, nil)
	sc := slackNotifier(t, srv, nil)
	if err := sc.send(context.Background(), failedNotice()); err != nil {
		t.Fatal(err)
	}
	hits := srv.take()
	if len(hits) != 1 {
		t.Fatalf("%d requests, want 1", len(hits))
	}
	var msg slackMessage
	if err := json.Unmarshal(hits[0].body, &msg); err != nil {
		t.Fatal(err)
	}
	want := "<!channel> daily-sync@web1: run 84 - ❌: Failed (exit 2) after 3s\nLog: /tmp/daily-sync.log"
	if msg.Channel != "#ops" || msg.Text != want {
		t.Errorf("posted %+v, want channel #ops and text %q", msg, want)
	}
}

func TestSlackErrors(t *testing.T) {
	tests := []struct {
		name     string
		respond  func(w http.ResponseWriter, r *http.Request, n int)
		settings map[string]string
		timeout  time.Duration
		wantHits int
		wantErr  string // suffix of the error; "" for none
		minTime  time.Duration
	}{
		{name: "channel not found", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
		}, wantHits: 1, wantErr: ": slack says channel_not_found"},
		{name: "bad token", settings: map[string]string{"notify.slack.token": "xoxb-wrong"},
			wantHits: 1, wantErr: ": slack says invalid_auth"},
		{name: "429 then ok, after Retry-After", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
				return
			}
			io.WriteString(w, `{"ok":true}`)
		}, wantHits: 2, minTime: time.Second},
		{name: "429 past the timeout", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}, timeout: 2 * time.Second, wantHits: 1, wantErr: "HTTP 429 Too Many Requests (no time left for attempt 2 after 30s)"},
		{name: "500 three times", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			http.Error(w, "internal", 500)
		}, wantHits: 3, wantErr: "HTTP 500 Internal Server Error (3 attempts)"},
		{name: "not JSON", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			io.WriteString(w, "<html>proxy says no</html>")
		}, wantHits: 1, wantErr: ": unexpected answer: not the JSON of Slack's API"},
		{name: "hanging", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			<-r.Context().Done()
		}, timeout: 300 * time.Millisecond, wantHits: 1, wantErr: ": timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := slackAPI(t, tt.respond)
			sc := slackNotifier(t, srv, tt.settings)
			ctx, cancel := context.WithTimeout(context.Background(), cmpDuration(tt.timeout, 10*time.Second))
			defer cancel()
			start := time.Now()
			err := sc.send(ctx, failedNotice())
			elapsed := time.Since(start)
			if got := len(srv.take()); got != tt.wantHits {
				t.Errorf("%d requests, want %d", got, tt.wantHits)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.HasSuffix(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one ending %q", err, tt.wantErr)
			}
			if elapsed < tt.minTime {
				t.Errorf("took %s, want at least %s (Retry-After)", elapsed, tt.minTime)
			}
			if err != nil && strings.Contains(err.Error(), "xoxb-") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

// TestSlackWebhook posts through an incoming webhook, which answers "ok"
// as text, and errors with text too.
func TestSlackWebhook(t *testing.T) {
	const secretPath = "/services/T0001/B0001/WEBHOOKSECRET0001"
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path != secretPath {
			http.Error(w, "no_service", http.StatusNotFound)
			return
		}
		var msg slackMessage
		if json.NewDecoder(r.Body).Decode(&msg); msg.Text == "" {
			http.Error(w, "no_text", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	})
	for _, tt := range []struct {
		name, path, wantErr string
	}{
		{"ok", secretPath, ""},
		{"wrong URL", "/services/T0001/B0001/WRONGSECRET0002", "POST " + strings.TrimPrefix(srv.URL, "http://") + ": HTTP 404 Not Found: no_service"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := newSlackChannel(&notifyConfig(t, map[string]string{"notify.slack.webhook": srv.URL + tt.path}).Notify, newPoster(nil))
			if err != nil {
				t.Fatal(err)
			}
			err = ch.send(context.Background(), failedNotice())
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	hits := srv.take()
	if len(hits) != 2 || hits[0].header.Get("Authorization") != "" {
		t.Fatalf("requests = %+v, want 2, the first without Authorization", hits)
	}
	var msg map[string]any
	json.Unmarshal(hits[0].body, &msg)
	if _, ok := msg["channel"]; ok {
		t.Errorf("webhook post names a channel: %s", hits[0].body)
	}
}

// TestSlackLogTail: the tail goes in a code block, escaped, cut to what
// Slack takes with a marker for the lines left out.
func TestSlackLogTail(t *testing.T) {
	m := failedNotice()
	m.tag = false
	m.tail = []string{"a <b> & c", "```", "last"}
	got := slackText(m)
	want := "daily-sync@web1: run 84 - ❌: Failed (exit 2) after 3s\nLog: /tmp/daily-sync.log\n```\na &lt;b&gt; &amp; c\n`\u200b``\nlast\n```"
	if got != want {
		t.Errorf("text =\n%q\nwant\n%q", got, want)
	}

	m.tail = nil
	for i := range 200 {
		m.tail = append(m.tail, fmt.Sprintf("line %03d %s", i, strings.Repeat("é", 100)))
	}
	got = slackText(m)
	if n := utf8.RuneCountInString(got); n > slackTextLimit {
		t.Errorf("text is %d characters, want at most %d", n, slackTextLimit)
	}
	if !strings.Contains(got, "\n```\n... ") || !strings.Contains(got, " earlier lines\n") || !strings.HasSuffix(got, "line 199 "+strings.Repeat("é", 100)+"\n```") {
		t.Errorf("text does not end with the newest lines after a marker:\n%s", got)
	}

	m.tail = []string{}
	if got := slackText(m); !strings.HasSuffix(got, "```\n(the log is empty)\n```") {
		t.Errorf("empty log: text = %q, want it to end with %q", got, "```\n(the log is empty)\n```")
	}
}

// TestSlackEarlierLinesE2E: a job prints 30 long lines; the post shows
// what fits of the last ones, after a marker counting every line of the
// log before the first shown, not only those of the tail troc read.
func TestSlackEarlierLinesE2E(t *testing.T) {
	srv := slackAPI(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_SLACK_TOKEN=xoxb-test-token", "TROC_NOTIFY_SLACK_CHANNEL=#ops",
		"TROC_NOTIFY_SLACK_API_URL="+srv.URL+"/api")
	s.mustTroc(0, "job", "add", "--name", "noisy", "--notify", "--notify-log")
	s.mustTroc(1, "exec", "--name", "noisy", `for i in $(seq 1 30); do printf 'line %02d %0490d\n' $i 0; done; exit 1`)
	hits := srv.take()
	if len(hits) != 1 {
		t.Fatalf("%d posts, want 1", len(hits))
	}
	var msg slackMessage
	if err := json.Unmarshal(hits[0].body, &msg); err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(msg.Text, "```\n")
	lines := strings.Split(strings.TrimSuffix(block, "\n```"), "\n")
	shown := len(lines) - 1
	if shown < 1 || shown >= logTailLines {
		t.Fatalf("%d lines shown, want some but not all of the tail:\n%s", shown, msg.Text)
	}
	if want := fmt.Sprintf("... %d earlier lines", 30-shown); lines[0] != want || !strings.HasPrefix(lines[1], fmt.Sprintf("line %02d ", 31-shown)) {
		t.Errorf("post starts %q, %.10q; want %q, then line %02d", lines[0], lines[1], want, 31-shown)
	}
}
