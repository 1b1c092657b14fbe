package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0ms"},
		{340 * time.Millisecond, "340ms"},
		{12500 * time.Millisecond, "12.5s"},
		{3*time.Minute + 4*time.Second, "3m04s"},
		{2*time.Hour + 3*time.Minute + 59*time.Second, "2h03m"},
		{47 * time.Hour, "47h00m"},
		{3*24*time.Hour + 4*time.Hour, "3d04h"},
		{-2 * time.Second, "-2.0s"},
	} {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zoneinfo:", err)
	}
	for _, tc := range []struct {
		name, in string
		loc      *time.Location
		want     time.Time
	}{
		{"duration", "90m", time.UTC, now.Add(-90 * time.Minute)},
		{"days", "2d", time.UTC, now.Add(-48 * time.Hour)},
		{"date", "2026-11-20", time.UTC, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{"date in the display's zone", "2026-11-20", berlin, time.Date(2026, 11, 19, 23, 0, 0, 0, time.UTC)},
		{"minutes", "2026-11-20 14:30", time.UTC, time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)},
		{"seconds", "2026-11-20T14:30:05", time.UTC, time.Date(2026, 11, 20, 14, 30, 5, 0, time.UTC)},
		{"RFC 3339 with its own zone", "2026-11-20T14:30:00+02:00", berlin, time.Date(2026, 11, 20, 12, 30, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSince(tc.in, now, tc.loc)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("parseSince(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "5 minutes", "-3h"} {
		if _, err := parseSince(bad, now, time.UTC); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "sigkill": syscall.SIGKILL, "Hup": syscall.SIGHUP,
		"SIGUSR1": syscall.SIGUSR1, "9": syscall.SIGKILL, "2": syscall.SIGINT,
	} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "65", "TERMINATE", "-9", "SIG"} {
		if _, err := parseSignal(bad); err == nil {
			t.Errorf("parseSignal(%q) accepted", bad)
		}
	}
}

func TestWriteTable(t *testing.T) {
	d := display{color: true, emoji: true, cfg: DisplayConfig{Color: map[Status]string{StatusFailed: "red", StatusSucceeded: "none"}}}
	var b strings.Builder
	writeTable(&b, []string{"ID", "STATUS", "EXIT"}, [][]cell{
		{{text: "1"}, d.status(StatusSucceeded), {text: "0"}},
		{{text: "12"}, d.status(StatusFailed), {text: "3"}},
	})
	want := "ID  STATUS        EXIT\n" +
		"1   ✅ Succeeded  0\n" +
		"12  \x1b[31m❌ Failed\x1b[0m     3\n"
	if b.String() != want {
		t.Errorf("table =\n%q\nwant\n%q", b.String(), want)
	}
	d.emoji, d.color = false, false
	if c := d.status(StatusFailed); c.text != "Failed" || c.color != "" {
		t.Errorf("plain status = %+v", c)
	}
}

func TestTermText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"\x1b]0;pwned\x07", "?]0;pwned?"},
		{"\x1b[2J", "?[2J"},
		{"a\tb", "a       b"},
		{"line\nbreak\r", "line?break?"},
		{"del\x7f c1\u009b[2J", "del? c1?[2J"},
		{"ünïcødé ✅", "ünïcødé ✅"},
		{"bad \xff byte", "bad \uFFFD byte"},
	} {
		if got := termText(tc.in); got != tc.want {
			t.Errorf("termText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTerminalEscapesE2E: a job whose description and command hold
// terminal escapes (a title change, a screen clear), and a remote host
// whose answers and errors hold them, never reach the terminal raw: every
// table, job show, the run kill question, and the lines relayed from the
// other host show them escaped, as troc ui does; --json keeps them
// exactly.
func TestTerminalEscapesE2E(t *testing.T) {
	const evil = "\x1b]0;pwned\x07\x1b[2J"
	desc := "nightly " + evil + " backup"
	command := ": '" + evil + "'"
	s := newSandbox(t)
	s.mustTroc(0, "job", "add", "--name", "evil", "--description", desc)
	s.mustTroc(0, "exec", "--name", "evil", command)
	job, run := s.startJob("evil", "sleep 30; "+command)
	defer job.Process.Kill()
	id := strconv.FormatInt(run.ID, 10)

	shown := func(t *testing.T, what string, r result) {
		t.Helper()
		if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07") {
			t.Errorf("%s shows a raw escape:\nstdout: %q\nstderr: %q", what, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{{"run", "list"}, {"job", "list"}, {"job", "show", "--name", "evil"}, {"check"}} {
		shown(t, strings.Join(args, " "), s.troc(args...))
	}
	if r := s.troc("job", "show", "--name", "evil"); !strings.Contains(r.stdout, "nightly ?]0;pwned??[2J backup") {
		t.Errorf("job show does not show the description escaped:\n%s", r.stdout)
	}

	// --json: the text exactly.
	var jobs []jobJSON
	jsonOf(t, s.troc("job", "list", "--json"), &jobs)
	var runs []runJSON
	jsonOf(t, s.troc("run", "list", "--json"), &runs)
	var one jobShowJSON
	jsonOf(t, s.troc("job", "show", "--name", "evil", "--json"), &one)
	if len(jobs) != 1 || jobs[0].Description != desc || one.Description != desc || len(runs) != 2 ||
		runs[0].Command != "sleep 30; "+command || runs[1].Command != command || one.Runs[1].Command != command {
		t.Errorf("--json changed the text:\njob list %+v\nrun list %+v\njob show %+v", jobs, runs, one)
	}

	// run kill's question, on a terminal.
	master, slave := openPTY(t)
	cmd := s.command("run", "kill", "-r", id)
	cmd.Stdin = slave
	master.WriteString("n\n")
	r := runResult(t, cmd)
	shown(t, "run kill's question", r)
	if want := "Send SIGTERM to run " + id + " of evil (process group " + strconv.Itoa(run.PID) + ": sleep 30; : '?]0;pwned??[2J')? [y/N] "; r.code != 1 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("run kill: exit %d, stderr %q; want 1 and the question %q", r.code, r.stderr, want)
	}
	if !alive(run.PID) {
		t.Error("run kill signalled the run without a yes")
	}

	// Another host whose answer and whose errors hold escapes: an ssh
	// that answers for it.
	for i := range jobs {
		jobs[i].Name = "far" + evil
	}
	answer, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	answerFile := filepath.Join(s.dir, "answer.json")
	if err := os.WriteFile(answerFile, answer, 0o600); err != nil {
		t.Fatal(err)
	}
	ssh := filepath.Join(s.dir, "ssh")
	script := "#!/bin/sh\nfor last; do :; done\ncase \"$last\" in\n" +
		"*\" job list\"*) cat " + answerFile + "; printf 'troc: warning \\033]0;pwned\\007 from afar\\n' >&2 ;;\n" +
		"*\" run term\"*) printf 'troc: run 1 \\033[2J is gone\\n' >&2; exit 1 ;;\n" +
		"*) printf 'troc: \\033[2Jbroken\\n' >&2; exit 1 ;;\nesac\n"
	if err := os.WriteFile(ssh, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	s.env = append(s.env, "TROC_REMOTE_SSH="+ssh)
	r = s.troc("--host", "far", "job", "list")
	shown(t, "job list of another host", r)
	if !strings.Contains(r.stdout, "far?]0;pwned??[2J") || !strings.Contains(r.stderr, "far: troc: warning ?]0;pwned? from afar") {
		t.Errorf("job list of another host:\nstdout: %q\nstderr: %q", r.stdout, r.stderr)
	}
	var far []jobJSON
	jsonOf(t, s.troc("--host", "far", "job", "list", "--json"), &far)
	if len(far) != 1 || far[0].Name != "far"+evil {
		t.Errorf("job list --json of another host changed the name: %+v", far)
	}
	r = s.troc("--host", "far", "run", "list")
	shown(t, "a failing host", r)
	if !strings.Contains(r.stderr, "troc: far: ?[2Jbroken") {
		t.Errorf("a failing host's error: %q", r.stderr)
	}
	r = s.troc("--host", "far", "run", "term", "1")
	shown(t, "run term on another host", r)
	if !strings.Contains(r.stderr, "troc: run 1 ?[2J is gone") {
		t.Errorf("run term's error from another host: %q", r.stderr)
	}

	s.mustTroc(0, "run", "kill", "-r", id, "--force")
}
