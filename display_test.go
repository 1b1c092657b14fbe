package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

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
		t.Errorf("plain status = %+v, want text Failed and no colour", c)
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
		t.Errorf("job list of another host:\nstdout: %q\nstderr: %q\nwant %q on stdout and %q on stderr", r.stdout, r.stderr, "far?]0;pwned??[2J", "far: troc: warning ?]0;pwned? from afar")
	}
	var far []jobJSON
	jsonOf(t, s.troc("--host", "far", "job", "list", "--json"), &far)
	if len(far) != 1 || far[0].Name != "far"+evil {
		t.Errorf("job list --json of another host changed the name: %+v", far)
	}
	r = s.troc("--host", "far", "run", "list")
	shown(t, "a failing host", r)
	if !strings.Contains(r.stderr, "troc: far: ?[2Jbroken") {
		t.Errorf("a failing host's error = %q, want it to contain %q", r.stderr, "troc: far: ?[2Jbroken")
	}
	r = s.troc("--host", "far", "run", "term", "1")
	shown(t, "run term on another host", r)
	if !strings.Contains(r.stderr, "troc: run 1 ?[2J is gone") {
		t.Errorf("run term's error from another host = %q, want it to contain %q", r.stderr, "troc: run 1 ?[2J is gone")
	}

	s.mustTroc(0, "run", "kill", "-r", id, "--force")
}
