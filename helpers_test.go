package main

// What the tests share: a sandbox to run troc in, its results, and small
// helpers for files, processes and the history.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// sandbox is a fresh home for troc: its own HOME, config directory,
// TMPDIR and so database, locks and logs.
type sandbox struct {
	t    *testing.T
	dir  string
	home string
	tmp  string
	env  []string // extra variables, KEY=VALUE, added after the defaults
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	return newSandboxIn(t, t.TempDir())
}

// newSandboxIn is newSandbox in dir, which exists or is made.
func newSandboxIn(t *testing.T, dir string) *sandbox {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &sandbox{t: t, dir: dir, home: filepath.Join(dir, "home"), tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{s.home, s.tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// configDir is where troc keeps its config and database by default.
func (s *sandbox) configDir() string { return filepath.Join(s.home, ".config", "troc") }

// environ is the environment troc runs with: the test's own, less any
// TROC_ or XDG_ variable, plus the sandbox's.
func (s *sandbox) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TROC_") || strings.HasPrefix(kv, "XDG_") ||
			strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "TMPDIR=") {
			continue
		}
		env = append(env, kv)
	}
	// Logs in the sandbox too: root's default is /var/log/troc.
	env = append(env, "TROC_TEST_MAIN=1", "HOME="+s.home, "TMPDIR="+s.tmp, "TROC_LOGDIR="+s.tmp)
	return append(env, s.env...)
}

// command returns troc with args, ready to start.
func (s *sandbox) command(args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = s.environ()
	cmd.Dir = s.dir
	return cmd
}

// result is what a finished troc said and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

// troc runs troc with args to completion.
func (s *sandbox) troc(args ...string) result {
	s.t.Helper()
	return runResult(s.t, s.command(args...))
}

// runResult runs cmd to completion and returns what it said and its exit
// status; a command that could not be run fails the test.
func runResult(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%q: %v", cmd.Args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
}

// run parses troc exec's stdout, which must be exactly one JSON object.
func (r result) run(t *testing.T) runJSON {
	t.Helper()
	var v runJSON
	jsonOf(t, r, &v)
	return v
}

// history opens the sandbox's database as troc would.
func (s *sandbox) history() *DB {
	s.t.Helper()
	db, err := openDB(filepath.Join(s.configDir(), "troc.db"), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { db.Close() })
	return db
}

// openRaw opens a database file without troc's migrations.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// runs returns every run in the history, oldest first.
func (s *sandbox) runs() []*Run {
	s.t.Helper()
	db := s.history()
	rows, err := db.sql.Query(`SELECT id FROM runs ORDER BY id`)
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var runs []*Run
	for _, id := range ids {
		r, err := db.getRun(context.Background(), id)
		if err != nil {
			s.t.Fatal(err)
		}
		runs = append(runs, r)
	}
	return runs
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (the machine may be slow; the condition is what matters).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether process pid exists (and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z'
}

// syncBuffer is a bytes.Buffer a test may read while a process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fileContent returns the file's content, failing the test if it cannot.
func fileContent(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// misuse is a command line troc must refuse: the exit status it must give
// (2 for misuse, 1 for something not there) and what its error must say.
type misuse struct {
	name string
	args []string
	code int
	want string
}

// refuses runs each command line and checks that troc exits as it should
// with its error, "troc: " and want, on a line of its own: the first line,
// unless the usage came first.
func (s *sandbox) refuses(cases []misuse) {
	s.t.Helper()
	for _, tc := range cases {
		s.t.Run(tc.name, func(t *testing.T) {
			res := s.troc(tc.args...)
			if res.code != tc.code || !strings.Contains("\n"+res.stderr, "\ntroc: "+tc.want) {
				t.Errorf("troc %q: exit %d, stderr:\n%s\nwant exit %d and %q", tc.args, res.code, res.stderr, tc.code, tc.want)
			}
			if first, _, _ := strings.Cut(res.stderr, "\n"); !strings.HasPrefix(res.stderr, "Usage:") && !strings.HasPrefix(first, "troc: ") {
				t.Errorf("troc %q: first line %q is not the error", tc.args, first)
			}
		})
	}
}

// sparePort returns a loopback port that nothing listens on now.
func sparePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// jsonOf parses a command's stdout as JSON into v, failing the test if it
// is not exactly that.
func jsonOf(t *testing.T, res result, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\nstdout:\n%.2000s\nstderr:\n%.2000s", err, res.stdout, res.stderr)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("stdout has more than one JSON value: %q", rest)
	}
}

// mustTroc runs troc and fails the test unless it exits with want.
func (s *sandbox) mustTroc(want int, args ...string) result {
	s.t.Helper()
	res := s.troc(args...)
	if res.code != want {
		s.t.Fatalf("troc %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, res.code, want, res.stdout, res.stderr)
	}
	return res
}

// startJob starts troc exec in the background and returns it once its
// run is recorded as Running, with the run.
func (s *sandbox) startJob(name, command string) (*exec.Cmd, *Run) {
	s.t.Helper()
	cmd := s.command("exec", "--name", name, command)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitFor(s.t, "the history", func() bool {
		_, err := os.Stat(filepath.Join(s.configDir(), "troc.db"))
		return err == nil
	})
	db := s.history()
	var run *Run
	waitFor(s.t, "run of "+name+" to be recorded", func() bool {
		runs, err := db.runningRuns(context.Background())
		for _, r := range runs {
			if r.Job == name && r.PID != 0 {
				run = r
			}
		}
		return err == nil && run != nil
	})
	return cmd, run
}

func ptr[T any](v T) *T { return &v }

// contentOf is the file's content, "" if it cannot be read (yet).
func contentOf(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// checkGoldenFile compares got with the golden file at path or, with
// update (the test's flag, named flagName), rewrites the file.
func checkGoldenFile(t *testing.T, path, got string, update bool, flagName string) {
	t.Helper()
	if update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s %s to create it)", err, t.Name(), flagName)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// lockJob takes the job's lock in dir without waiting, as troc exec does
// (lockFile), for a test to hold it.
func lockJob(dir, name string) (*os.File, error) {
	return lockFile(filepath.Join(dir, name+".lock"))
}

// flags is the command's flag set with its flags defined.
func (c *command) flags() *flag.FlagSet {
	fs := c.flagSet()
	c.build(fs)
	return fs
}
