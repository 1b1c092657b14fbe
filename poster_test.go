package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRedaction sends through channels that fail in every way a request
// can, with secrets in their URLs and token, and checks that no error,
// log line or note shows them.
func TestRedaction(t *testing.T) {
	const token = "xoxb-TOKEN-SECRET-0042"
	const hookSecret = "HOOKSECRET0123456789"
	const pingUUID = "0f7e1c2a-5d8e-4d5a-9d0b-PINGSECRET"
	echo := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		// A server that repeats what it got, in its error.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":false,"error":"bad auth %s for %s"}`, r.Header.Get("Authorization"), r.URL.Path)
	})
	closed := fmt.Sprintf("127.0.0.1:%d", sparePort(t))
	cfg := notifyConfig(t, map[string]string{
		"notify.slack.token":     token,
		"notify.slack.channel":   "#ops",
		"notify.slack.api_url":   echo.URL,
		"notify.webhook.url":     "http://user:PWSECRET@" + closed + "/hooks/" + hookSecret + "?key=QUERYSECRET",
		"notify.webhook.headers": "Authorization: Bearer HEADERSECRET",
		"notify.ping.url":        echo.URL + "/" + pingUUID,
	})
	echoPing := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "no check "+r.URL.Path, http.StatusNotFound)
	})
	cfg.Notify.Ping = echoPing.URL + "/" + pingUUID
	n, logs := testNotifier(t, cfg, Job{Name: "backup"})
	run := &Run{ID: 1, Job: "backup", Status: StatusFailed, Start: time.Now(), End: time.Now()}
	n.begin(context.Background(), run)
	n.finish(context.Background(), nil, run, nil)
	all := logs.String() + "\n" + run.Note
	for _, s := range []string{token, hookSecret, pingUUID, "PINGSECRET", "PWSECRET", "QUERYSECRET", "HEADERSECRET"} {
		if strings.Contains(all, s) {
			t.Errorf("%q shown:\n%s", s, all)
		}
	}
	for _, want := range []string{"slack failed: POST 127.0.0.1", "webhook failed: POST " + closed + ": ", "ping failed: POST 127.0.0.1"} {
		if !strings.Contains(run.Note, want) {
			t.Errorf("note lacks %q:\n%s", want, run.Note)
		}
	}
	// What the servers said is not quoted at all: neither the ping's
	// 404 page nor Slack's "error", which is no error code.
	for _, not := range []string{"no check", "bad auth"} {
		if strings.Contains(all, not) {
			t.Errorf("%q quoted from a response:\n%s", not, all)
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	tests := []struct {
		name      string
		respond   func(w http.ResponseWriter, r *http.Request, n int)
		timeout   time.Duration
		wantHits  int
		wantError string // "" for success
	}{
		{name: "500 then ok", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				http.Error(w, "oops", 500)
			}
		}, wantHits: 2},
		{name: "always 502", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			http.Error(w, "bad gateway", 502)
		}, wantHits: 3, wantError: "HTTP 502 Bad Gateway (3 attempts)"},
		{name: "400 is final", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			http.Error(w, "no_text", 400)
		}, wantHits: 1, wantError: "HTTP 400 Bad Request"},
		{name: "redirect is refused", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, wantHits: 1, wantError: "HTTP 302 Found: redirected; give the final URL"},
		{name: "hanging server", respond: func(w http.ResponseWriter, r *http.Request, n int) {
			<-r.Context().Done()
		}, timeout: 200 * time.Millisecond, wantHits: 1, wantError: "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.respond)
			u, _ := parseHTTPURL("test", rc.URL+"/x")
			p := newPoster(nil)
			p.backoff = time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), cmpDuration(tt.timeout, 5*time.Second))
			defer cancel()
			start := time.Now()
			err := p.post(ctx, u, nil, []byte("{}"), checkStatus)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("post took %s, want at most 3s", d)
			}
			if got := len(rc.take()); got != tt.wantHits {
				t.Errorf("%d requests, want %d", got, tt.wantHits)
			}
			switch {
			case tt.wantError == "" && err != nil:
				t.Errorf("error = %v, want none", err)
			case tt.wantError != "" && (err == nil || !strings.HasSuffix(err.Error(), tt.wantError)):
				t.Errorf("error = %v, want one ending %q", err, tt.wantError)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "POST "+u.Host+": ") {
				t.Errorf("error %q does not start with the method and host", err)
			}
		})
	}
}
