package main

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPingRuns runs whole runs through begin and finish, with a real
// history, and checks the pings in order with their bodies.
func TestPingRuns(t *testing.T) {
	code := func(c int) *int { return &c }
	tests := []struct {
		name      string
		status    Status
		exit      *int
		signal    syscall.Signal
		notifyLog bool
		want      []string // path and body of each ping
	}{
		{name: "success", status: StatusSucceeded, exit: code(0), want: []string{"/uuid/start ", "/uuid "}},
		{name: "failure with exit code and log", status: StatusFailed, exit: code(3), notifyLog: true,
			want: []string{"/uuid/start ", "/uuid/3 copying\nno space left\n"}},
		{name: "killed by a signal", status: StatusFailed, signal: syscall.SIGSEGV, want: []string{"/uuid/start ", "/uuid/fail "}},
		{name: "timed out", status: StatusTimedOut, signal: syscall.SIGTERM, want: []string{"/uuid/start ", "/uuid/fail "}},
		{name: "terminated with exit 0", status: StatusTerminated, exit: code(0), want: []string{"/uuid/start ", "/uuid/fail "}},
		{name: "skipped", status: StatusSkipped, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newReceiver(t, nil)
			cfg := notifyConfig(t, map[string]string{"notify.ping.url": srv.URL + "/uuid"})
			db := testDB(t)
			if err := db.addJob(context.Background(), "backup", jobChange{}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if tt.notifyLog {
				db.sql.Exec(`UPDATE jobs SET notify_log = 1`)
			}
			n, _ := testNotifier(t, cfg, Job{Name: "backup"})
			run := addRun(t, db, "backup", StatusRunning, time.Now())
			if tt.status != StatusSkipped {
				n.begin(context.Background(), run)
			}
			run.Status, run.End, run.ExitCode, run.Signal = tt.status, run.Start.Add(time.Second), tt.exit, tt.signal
			if err := db.finishRun(context.Background(), run); err != nil {
				t.Fatal(err)
			}
			n.finish(context.Background(), db, run, func(int) ([]string, int) { return []string{"copying", "no space left"}, 0 })
			var got []string
			rids := map[string]bool{}
			for _, h := range srv.take() {
				path, rid := cutRID(t, h.path)
				rids[rid] = true
				got = append(got, path+" "+string(h.body))
				if h.method != "POST" {
					t.Errorf("%s %s, want POST", h.method, h.path)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pings %q, want %q", got, tt.want)
			}
			if len(got) > 0 && len(rids) != 1 {
				t.Errorf("rids %v, want one for the start and the end", rids)
			}
			if run.Note != "" {
				t.Errorf("note = %q, want none", run.Note)
			}
		})
	}
}

// TestPingFailureNoted: a ping that fails is noted, begin's too.
func TestPingFailureNoted(t *testing.T) {
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "not found", http.StatusNotFound)
	})
	cfg := notifyConfig(t, map[string]string{"notify.ping.url": srv.URL + "/uuid-0123456789"})
	db := testDB(t)
	n, _ := testNotifier(t, cfg, Job{Name: "backup"})
	run := addRun(t, db, "backup", StatusRunning, time.Now())
	n.begin(context.Background(), run)
	run.Status, run.End = StatusSucceeded, run.Start.Add(time.Second)
	db.finishRun(context.Background(), run)
	n.finish(context.Background(), db, run, nil)
	host := strings.TrimPrefix(srv.URL, "http://")
	want := "start notification by ping failed: POST " + host + ": HTTP 404 Not Found; " +
		"end notification by ping failed: POST " + host + ": HTTP 404 Not Found"
	if run.Note != want {
		t.Errorf("note = %q, want %q", run.Note, want)
	}
	stored, _ := db.getRun(context.Background(), run.ID)
	if stored.Note != want {
		t.Errorf("stored note = %q, want %q", stored.Note, want)
	}
}

// cutRID splits a ping's path from its rid= query, which must be a UUID.
func cutRID(t *testing.T, path string) (string, string) {
	t.Helper()
	p, rid, ok := strings.Cut(path, "?rid=")
	if !ok || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(rid) {
		t.Fatalf("ping %q has no rid=UUID", path)
	}
	return p, rid
}

// TestPingBody: the ping's body is the log's tail cut to 100 kB, with a
// line counting what was left out.
func TestPingBody(t *testing.T) {
	tail := make([]string, pingTailLines)
	for i := range tail {
		tail[i] = strings.Repeat("é", 400) // 800 bytes, 400 characters
	}
	body := pingBody(tail, 10)
	if len(body) > pingBodyLimit || len(body) < pingBodyLimit*9/10 {
		t.Fatalf("body is %d bytes, want at most %d and not much less", len(body), pingBodyLimit)
	}
	if !strings.HasPrefix(body, "... ") || !strings.Contains(body, "earlier lines\n") {
		t.Fatalf("body starts %q, want the count of earlier lines", body[:40])
	}
	if got := pingBody([]string{"a", "b"}, 0); got != "a\nb\n" {
		t.Fatalf("body = %q, want %q", got, "a\nb\n")
	}
}
