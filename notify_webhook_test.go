package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWebhookJSON posts a notice and checks its keys (the run's, as
// troc exec prints them, and the notification's), values and headers.
func TestWebhookJSON(t *testing.T) {
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Header.Get("Authorization") != "Bearer in-house" {
			http.Error(w, "who are you", http.StatusUnauthorized)
		}
	})
	cfg := notifyConfig(t, map[string]string{
		"notify.webhook.url":     srv.URL + "/hook?x=1",
		"notify.webhook.headers": "Authorization: Bearer in-house; X-Team: ops ; ",
	})
	ch, err := newWebhookChannel(&cfg.Notify, newPoster(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := failedNotice()
	m.failures = 3
	m.tail = []string{"rsync: connection refused", "exit 2"}
	if err := ch.send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	hits := srv.take()
	if len(hits) != 1 {
		t.Fatalf("%d requests, want 1", len(hits))
	}
	h := hits[0]
	if h.method != "POST" || h.path != "/hook?x=1" || h.header.Get("X-Team") != "ops" ||
		h.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("request %s %s with headers %v; want POST /hook?x=1, X-Team ops and a JSON content type", h.method, h.path, h.header)
	}

	var got map[string]any
	if err := json.Unmarshal(h.body, &got); err != nil {
		t.Fatal(err)
	}
	var want []string
	rt := reflect.TypeFor[runJSON]()
	for i := range rt.NumField() {
		// Keys that a run has only when it used them (job control) are
		// absent from this one's.
		if tag := rt.Field(i).Tag.Get("json"); !strings.HasSuffix(tag, ",omitempty") {
			want = append(want, strings.Split(tag, ",")[0])
		}
	}
	want = append(want, "event", "hostname", "text", "failures", "log_tail")
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	for k, v := range map[string]any{
		"id": 84.0, "job": "daily-sync", "status": "Failed", "exit_code": 2.0, "signal": nil,
		"start_time": "2026-03-01T02:00:00.000Z", "duration_ms": 3000.0, "command": "rsync -a /a /b",
		"event": "failure", "hostname": "web1", "failures": 3.0,
		"text":     "daily-sync@web1: run 84 - ❌: Failed (exit 2) after 3s\n3 failures in a row\nLog: /tmp/daily-sync.log",
		"log_tail": []any{"rsync: connection refused", "exit 2"},
	} {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}

	m.tail = nil
	ch.send(context.Background(), m)
	json.Unmarshal(srv.take()[0].body, &got)
	if v, ok := got["log_tail"]; !ok || v != nil {
		t.Errorf("log_tail without notify-log = %#v, want null", v)
	}
}

func TestWebhookUnauthorized(t *testing.T) {
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "who are you", http.StatusUnauthorized)
	})
	cfg := notifyConfig(t, map[string]string{"notify.webhook.url": srv.URL})
	ch, _ := newWebhookChannel(&cfg.Notify, newPoster(nil))
	err := ch.send(context.Background(), failedNotice())
	if want := "POST " + strings.TrimPrefix(srv.URL, "http://") + ": HTTP 401 Unauthorized"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		name, in string
		want     http.Header
		wantErr  string
	}{
		{name: "empty", in: " ", want: http.Header{}},
		{name: "two", in: "Authorization: Bearer a:b; x-title: Backups", want: http.Header{"Authorization": {"Bearer a:b"}, "X-Title": {"Backups"}}},
		{name: "repeated", in: "X-Tag: a; X-Tag: b", want: http.Header{"X-Tag": {"a", "b"}}},
		{name: "empty value", in: "X-Empty:", want: http.Header{"X-Empty": {""}}},
		{name: "no colon", in: "X-A: b; Bearer SECRET", wantErr: `entry 2: want "Name: value"`},
		{name: "bad name", in: "X A: SECRET", wantErr: "entry 1: invalid header name"},
		{name: "newline", in: "X-A: a\nInjected: SECRET", wantErr: "entry 1: invalid character in the value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHeaders(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseHeaders(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestWebhookTimes: the run's times are in local time when localtime is
// on, as troc exec prints them.
func TestWebhookTimes(t *testing.T) {
	m := failedNotice()
	m.loc = time.FixedZone("AEDT", 11*3600)
	if got := *m.jsonView().StartTime; got != "2026-03-01T13:00:00.000+11:00" {
		t.Errorf("start_time = %s, want %s", got, "2026-03-01T13:00:00.000+11:00")
	}
}

// TestWebhookPrivateCA: an HTTPS receiver whose certificate comes from a
// private CA is trusted once notify.ca_file names the CA's certificate.
func TestWebhookPrivateCA(t *testing.T) {
	ca := newTestCA(t)
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	srv.TLS = ca.server
	srv.StartTLS()
	defer srv.Close()
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+srv.URL+"/hook")
	if r := s.troc("notify", "test"); r.code != 1 || !strings.Contains(r.stdout, "webhook: failed: ") || !strings.Contains(r.stdout, "certificate signed by unknown authority") {
		t.Errorf("without the CA: exit %d, stdout %q; want 1 and the certificate's error", r.code, r.stdout)
	}
	caFile := filepath.Join(s.dir, "ca.pem")
	writeFile(t, caFile, ca.pem)
	s.env = append(s.env, "TROC_NOTIFY_CA_FILE="+caFile)
	if r := s.troc("notify", "test"); r.code != 0 || r.stdout != "webhook: ok\n" || hits.Load() != 1 {
		t.Errorf("with notify.ca_file: exit %d, stdout %q, %d requests; want 0, webhook: ok, one request", r.code, r.stdout, hits.Load())
	}
	writeFile(t, caFile, "not a certificate\n")
	if r := s.troc("notify", "test"); r.code != exitConfig || !strings.Contains(r.stderr, "troc: notify.ca_file: "+caFile+" holds no PEM certificate") {
		t.Errorf("a CA file without a certificate: exit %d, stderr %q; want 78 naming the key", r.code, r.stderr)
	}
}
