package main

import (
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestRunGrep: run grep prints RUN:LINE:TEXT, newest run first, with the
// filters of run list, -i and -l, and exits as grep does.
func TestRunGrep(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "db", "printf 'dump start\\nERROR: disk full\\ndump end\\n'") // run 1
	s.mustTroc(3, "exec", "--name", "db", "printf 'dump start\\nerror: no route\\n'; exit 3")     // run 2
	s.mustTroc(0, "exec", "--name", "web", "printf 'GET / 200\\nerror page served\\nlast line'")  // run 3, no final line feed
	gone := s.mustTroc(0, "exec", "--name", "web", "echo error in a pruned log").run(t)           // run 4
	if err := os.Remove(*gone.LogFile); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantOut  string
		wantExit int
	}{
		{"newest first", []string{"error"}, "3:2:error page served\n2:2:error: no route\n", 0},
		{"-i", []string{"-i", "ERROR"}, "3:2:error page served\n2:2:error: no route\n1:2:ERROR: disk full\n", 0},
		{"-l", []string{"-l", "-i", "error"}, "3\n2\n1\n", 0},
		{"-il, as grep takes it", []string{"-il", "error"}, "3\n2\n1\n", 0},
		{"a pattern after --", []string{"--", "-i"}, "", 1},
		{"--name", []string{"--name", "db", "-i", "error"}, "2:2:error: no route\n1:2:ERROR: disk full\n", 0},
		{"--status", []string{"--status", "failed", "dump"}, "2:1:dump start\n", 0},
		{"flags after the pattern", []string{"dump end", "--name", "db"}, "1:3:dump end\n", 0},
		{"anchors are per line", []string{"^dump (start|end)$"}, "2:1:dump start\n1:1:dump start\n1:3:dump end\n", 0},
		{"a last line without its line feed", []string{"line$"}, "3:3:last line\n", 0},
		{"no match", []string{"segfault"}, "", 1},
		{"--since in the future", []string{"--since", "2099-01-01", "error"}, "", 1},
		{"bad pattern", []string{"(unclosed"}, "", 2},
		{"no pattern", nil, "", 2},
		{"unknown job", []string{"--name", "nope", "x"}, "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.troc(append([]string{"run", "grep"}, tc.args...)...)
			if res.code != tc.wantExit || res.stdout != tc.wantOut {
				t.Fatalf("exit %d, stdout %q; want %d, %q\nstderr: %s", res.code, res.stdout, tc.wantExit, tc.wantOut, res.stderr)
			}
			if tc.wantExit == 2 && !strings.HasPrefix(res.stderr, "troc: ") {
				t.Fatalf("stderr = %q, want a troc: line saying why", res.stderr)
			}
		})
	}
}

// TestGrepLines: lines that straddle reads, and one longer than the
// buffer, are numbered and matched whole; a pattern anchored at the
// text's start or end matches each line's.
func TestGrepLines(t *testing.T) {
	long := strings.Repeat("x", 50) + "needle" + strings.Repeat("y", 50)
	text := "a needle\nb\n" + long + "\nc\nneedle at the end"
	for _, size := range []int{4, 7, 16, 1 << 20} {
		for pattern, want := range map[string][]string{
			"needle": {"1:a needle", "3:" + long, "5:needle at the end"},
			// Anchored at the text's start or end: each line's, not the
			// block's.
			`\Ab\z`:        {"2:b"},
			`(?-m)^c$`:     {"4:c"},
			`\Aneedle\b`:   {"5:needle at the end"},
			`(?-m)needle$`: {"1:a needle"},
		} {
			re, err := compileGrep(pattern, false)
			if err != nil {
				t.Fatal(err)
			}
			g := newGrep(re)
			g.buf = make([]byte, size)
			var got []string
			err = g.lines(strings.NewReader(text), func(n int, line []byte) bool {
				got = append(got, strconv.Itoa(n)+":"+string(line))
				return true
			})
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("buffer %d, %s: lines %q, %v; want %q", size, pattern, got, err, want)
			}
		}
	}
}

// TestRemoteRunGrep: run grep through --host: one host's answer as it
// is, several hosts' lines after HOST:, and grep's exit statuses.
func TestRemoteRunGrep(t *testing.T) {
	_, s := sharedRemote(t)
	if r := s.troc("--host", "web1", "run", "grep", "hello"); r.code != 0 || r.stdout != "1:1:hello from web1\n" {
		t.Errorf("one host: exit %d, stdout %q", r.code, r.stdout)
	}
	r := s.troc("--host", "web1", "--host", "web2", "run", "grep", "-i", "HELLO", "--name", "backup")
	if want := "web1:1:1:hello from web1\nweb2:1:1:hello from web2\n"; r.code != 0 || r.stdout != want {
		t.Errorf("two hosts: exit %d, stdout %q, want %q\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	if r := s.troc("--host", "web1", "--host", "web2", "run", "grep", "nowhere"); r.code != 1 || r.stdout != "" {
		t.Errorf("no match: exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
	}
	if r := s.troc("--host", "web1", "--host", "down", "run", "grep", "hello"); r.code != 2 || r.stdout != "web1:1:1:hello from web1\n" {
		t.Errorf("a host down: exit %d, stdout %q; want 2 and web1's line", r.code, r.stdout)
	}
}

// TestRunLogNotTroc: a run's log that is no longer the file troc made,
// one of another user or a FIFO in its place, is not read: run log says
// why, and run grep searches the other logs and exits 2, as grep does for
// a file it cannot read.
func TestRunLogNotTroc(t *testing.T) {
	needRoot(t)
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "a", "echo needle one")
	planted := s.mustTroc(0, "exec", "--name", "b", "echo needle two").run(t)
	fifo := s.mustTroc(0, "exec", "--name", "c", "echo needle three").run(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	if err := os.Chown(*planted.LogFile, uid, -1); err != nil {
		t.Fatal(err)
	}
	os.Remove(*fifo.LogFile)
	if err := syscall.Mkfifo(*fifo.LogFile, 0o600); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(*planted.ID, 10)
	if res := s.troc("run", "log", "-r", id); res.code == 0 || res.stdout != "" || !strings.Contains(res.stderr, "belongs to another user; troc does not read it") {
		t.Errorf("run log of another user's file: exit %d, stdout %q, stderr %q; want a refusal", res.code, res.stdout, res.stderr)
	}
	if res := s.troc("run", "log", "-r", strconv.FormatInt(*fifo.ID, 10)); res.code == 0 || !strings.Contains(res.stderr, "(a named pipe); troc does not open it") {
		t.Errorf("run log of a FIFO: exit %d, stderr %q; want a refusal, at once", res.code, res.stderr)
	}
	res := s.troc("run", "grep", "needle")
	if res.code != exitGrepError || res.stdout != "1:1:needle one\n" || strings.Count(res.stderr, "troc: run ") != 2 {
		t.Errorf("run grep: exit %d, stdout %q, stderr %q; want %d, run 1's line, and why runs 2 and 3 were not read", res.code, res.stdout, res.stderr, exitGrepError)
	}
}
