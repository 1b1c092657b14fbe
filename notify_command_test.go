package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCommandChannel(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TROC_NOTIFY_PING_URL", "https://hc-ping.com/ENVSECRET")
	cfg := notifyConfig(t, map[string]string{
		"notify.command": "cat > " + dir + "/stdin; env > " + dir + "/env",
	})
	ch, err := newCommandChannel(&cfg.Notify)
	if err != nil {
		t.Fatal(err)
	}
	m := failedNotice()
	m.run.Note = "disk; full"
	if err := ch.send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var v noticeJSON
	if err := json.Unmarshal([]byte(fileContent(t, dir+"/stdin")), &v); err != nil {
		t.Fatal(err)
	}
	if v.Event != "failure" || v.Job != "daily-sync" || *v.ID != 84 || v.Hostname != "web1" {
		t.Errorf("stdin = %+v, want a failure of daily-sync, run 84, on web1", v)
	}
	env := "\n" + fileContent(t, dir+"/env")
	for _, want := range []string{
		"TROC_EVENT=failure", "TROC_JOB=daily-sync", "TROC_HOST=web1", "TROC_RUN_ID=84", "TROC_STATUS=Failed",
		"TROC_EXIT_CODE=2", "TROC_SIGNAL=", "TROC_START_TIME=2026-03-01T02:00:00.000Z", "TROC_DURATION_MS=3000",
		"TROC_LOG_FILE=/tmp/daily-sync.log", "TROC_NOTE=disk; full", "TROC_FAILURES=1",
		"TROC_MESSAGE=daily-sync@web1: run 84 - ❌: Failed (exit 2) after 3s",
	} {
		if !strings.Contains(env, "\n"+want+"\n") {
			t.Errorf("environment lacks %s", want)
		}
	}
	if strings.Contains(env, "ENVSECRET") {
		t.Error("the command's environment holds the ping URL")
	}
}

func TestCommandFails(t *testing.T) {
	cfg := notifyConfig(t, map[string]string{"notify.command": "echo first; echo 'no route to pager' >&2; exit 4"})
	ch, _ := newCommandChannel(&cfg.Notify)
	err := ch.send(context.Background(), failedNotice())
	if want := "exit status 4: no route to pager"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// TestCommandTimeout: a command past the timeout is killed with the
// children it started, promptly.
func TestCommandTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	cfg := notifyConfig(t, map[string]string{"notify.command": "sleep 60 & echo $! > " + pidFile + "; wait"})
	ch, _ := newCommandChannel(&cfg.Notify)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ch.send(ctx, failedNotice())
	if err == nil || err.Error() != "timed out; killed" {
		t.Errorf("error = %v, want timed out", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s, want at most 5s", d)
	}
	b, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file: %q", b)
	}
	waitFor(t, "the command's child to die", func() bool { return !alive(pid) })
}

// TestCommandIgnoresStdin: a command that does not read its stdin works.
func TestCommandIgnoresStdin(t *testing.T) {
	cfg := notifyConfig(t, map[string]string{"notify.command": "exit 0"})
	ch, _ := newCommandChannel(&cfg.Notify)
	m := failedNotice()
	m.tail = []string{strings.Repeat("x", 1000)}
	for i := 0; i < 8; i++ {
		m.tail = append(m.tail, m.tail...)
	}
	if err := ch.send(context.Background(), m); err != nil {
		t.Errorf("error = %v", err)
	}
}
