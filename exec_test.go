package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestExecFirstRun(t *testing.T) {
	s := newSandbox(t)
	res := s.troc("exec", "--name", "test", "echo 'Testing...'")
	if res.code != 0 {
		t.Fatalf("exit = %d, want 0\n%s", res.code, res.stderr)
	}
	for _, want := range []string{
		"Creating config directory at " + s.configDir(),
		"Creating initial config file at " + filepath.Join(s.configDir(), "config.yaml"),
		"Creating: " + filepath.Join(s.configDir(), "troc.db"),
		"Applying: 0001_initial.sql",
		"Applied: 0001_initial.sql in ",
		"Job not registered. Created new job test",
		"Run 1 completed: Succeeded",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	for _, f := range []string{filepath.Join(s.configDir(), "config.yaml"), filepath.Join(s.configDir(), "troc.db")} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %04o, want 0600", f, got)
		}
	}

	// The keys are a promise to scripts: exactly these, in this order.
	keys := regexp.MustCompile(`(?m)^    "([a-z_]+)":`).FindAllStringSubmatch(res.stdout, -1)
	var got []string
	for _, k := range keys {
		got = append(got, k[1])
	}
	want := "id job status exit_code signal start_time end_time duration_ms log_file system_log_file pid host command output_bytes note resources"
	if strings.Join(got, " ") != want {
		t.Errorf("keys = %v, want %s", got, want)
	}

	r := res.run(t)
	if r.ID == nil || *r.ID != 1 || r.Job != "test" || r.Status != "Succeeded" || r.ExitCode == nil || *r.ExitCode != 0 {
		t.Errorf("run = %+v, want run 1 of test, Succeeded, exit 0", r)
	}
	if r.Signal != nil || r.Note != nil {
		t.Errorf("signal, note = %v, %v; want null, null", r.Signal, r.Note)
	}
	if r.Command != "echo 'Testing...'" || r.PID == nil || r.Host == "" || r.OutputBytes != 11 {
		t.Errorf("command, pid, host, output_bytes = %q, %v, %q, %d; want %q, a pid, a host, 11", r.Command, r.PID, r.Host, r.OutputBytes, "echo 'Testing...'")
	}
	start, err1 := time.Parse(time.RFC3339, *r.StartTime)
	end, err2 := time.Parse(time.RFC3339, *r.EndTime)
	if err1 != nil || err2 != nil || end.Before(start) || *r.DurationMS != end.Sub(start).Milliseconds() {
		t.Errorf("start, end, duration = %v, %v, %v; want RFC 3339 times, end not before start, duration end - start", *r.StartTime, *r.EndTime, *r.DurationMS)
	}
	if got := fileContent(t, *r.LogFile); got != "Testing...\n" {
		t.Errorf("log = %q, want %q", got, "Testing...\n")
	}
	if sys := fileContent(t, *r.SystemLogFile); !strings.Contains(sys, "Applying: 0001_initial.sql") || !strings.Contains(sys, "Run 1 completed") {
		t.Errorf("system log lacks troc's lines:\n%s", sys)
	}
	if strings.HasPrefix(strings.TrimPrefix(*r.LogFile, s.tmp), "/troc-") {
		t.Errorf("log %s is in a private subdirectory of a private TMPDIR", *r.LogFile)
	}

	var mode string
	openRaw(t, filepath.Join(s.configDir(), "troc.db")).QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}

	// The history agrees with what was printed.
	runs := s.runs()
	if len(runs) != 1 || runs[0].Status != StatusSucceeded || runs[0].PIDStart == 0 || runs[0].LogFile != *r.LogFile {
		t.Fatalf("history = %+v, want one Succeeded run with a pid start and log %s", runs, *r.LogFile)
	}

	// A second run creates nothing.
	res = s.troc("exec", "--name", "test", "true")
	if res.code != 0 || strings.Contains(res.stderr, "Creating") || strings.Contains(res.stderr, "Applying") {
		t.Errorf("second run: exit %d, stderr:\n%s\nwant exit 0 and no Creating or Applying", res.code, res.stderr)
	}
	if r := res.run(t); *r.ID != 2 {
		t.Errorf("second run id = %d, want 2", *r.ID)
	}
}

func TestExecStatuses(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		status   Status
		exitCode int // -1: null
		signal   string
	}{
		{"success", []string{"true"}, 0, "Succeeded", 0, ""},
		{"failure", []string{"exit 3"}, 3, "Failed", 3, ""},
		{"killed", []string{"kill -KILL $$"}, 128 + 9, "Terminated", -1, "SIGKILL"},
		{"terminated", []string{"kill -TERM $$"}, 128 + 15, "Terminated", -1, "SIGTERM"},
		{"crashed", []string{"kill -SEGV $$"}, 128 + 11, "Failed", -1, "SIGSEGV"},
		{"direct", []string{"--", "sh", "-c", "exit 4"}, 4, "Failed", 4, ""},
		{"not found", []string{"--", "/nonexistent/prog"}, 127, "Failed", 127, ""},
		{"not executable", []string{"--", "/etc/passwd"}, 126, "Failed", 126, ""},
		{"shell not found", []string{"/nonexistent/prog"}, 127, "Failed", 127, ""},
	}
	s := newSandbox(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.troc(append([]string{"exec", "--name", "j"}, tt.args...)...)
			if res.code != tt.code {
				t.Errorf("exit = %d, want %d\n%s", res.code, tt.code, res.stderr)
			}
			r := res.run(t)
			if r.Status != tt.status {
				t.Errorf("status = %q, want %q", r.Status, tt.status)
			}
			switch {
			case tt.exitCode < 0 && r.ExitCode != nil:
				t.Errorf("exit_code = %d, want null", *r.ExitCode)
			case tt.exitCode >= 0 && (r.ExitCode == nil || *r.ExitCode != tt.exitCode):
				t.Errorf("exit_code = %v, want %d", r.ExitCode, tt.exitCode)
			}
			if got := deref(r.Signal); got != tt.signal {
				t.Errorf("signal = %q, want %q", got, tt.signal)
			}
			if r.EndTime == nil {
				t.Error("end_time is null")
			}
		})
	}
}

func TestExecArguments(t *testing.T) {
	s := newSandbox(t)
	// The seed's crontab line: flags after the command string.
	res := s.troc("exec", "--name", "daily-sync", "echo rsync -avh /tmp/source-dir /tmp/dest-dir", "--notify")
	if res.code != 0 {
		t.Fatalf("exit = %d, want 0\n%s", res.code, res.stderr)
	}
	r := res.run(t)
	if r.Command != "echo rsync -avh /tmp/source-dir /tmp/dest-dir" {
		t.Errorf("command = %q, want %q", r.Command, "echo rsync -avh /tmp/source-dir /tmp/dest-dir")
	}
	if got := fileContent(t, *r.LogFile); got != "rsync -avh /tmp/source-dir /tmp/dest-dir\n" {
		t.Errorf("log = %q, want %q", got, "rsync -avh /tmp/source-dir /tmp/dest-dir\n")
	}

	// After --, arguments go to the program untouched, flags included.
	res = s.troc("exec", "--name", "direct", "--", "printf", "%s|", "a b", "--notify", "it's")
	r = res.run(t)
	if got := fileContent(t, *r.LogFile); got != "a b|--notify|it's|" {
		t.Errorf("log = %q, want %q", got, "a b|--notify|it's|")
	}
	if want := `printf '%s|' 'a b' --notify 'it'\''s'`; r.Command != want {
		t.Errorf("command = %q, want %q", r.Command, want)
	}

	// stdout and stderr share the log in the order they were written.
	res = s.troc("exec", "--name", "order", "echo a; echo b >&2; echo c; echo d >&2")
	r = res.run(t)
	if got := fileContent(t, *r.LogFile); got != "a\nb\nc\nd\n" {
		t.Errorf("log = %q, want a b c d in order", got)
	}
}

func TestExecUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"true"}, "--name is required"},
		{"empty name", []string{"--name", "", "true"}, "--name is required"},
		{"dot dot", []string{"--name", "../x", "true"}, `invalid job name "../x"`},
		{"slash", []string{"--name", "a/b", "true"}, `invalid job name "a/b"`},
		{"space", []string{"--name", "a b", "true"}, `invalid job name "a b"`},
		{"leading dot", []string{"--name", ".hidden", "true"}, `invalid job name ".hidden"`},
		{"leading dash", []string{"--name", "-x", "true"}, `invalid job name "-x"`},
		{"control", []string{"--name", "a\x01b", "true"}, `invalid job name "a\x01b"`},
		{"newline", []string{"--name", "a\nb", "true"}, `invalid job name "a\nb"`},
		{"unicode", []string{"--name", "café", "true"}, `invalid job name "café"`},
		{"too long", []string{"--name", strings.Repeat("a", 65), "true"}, "longer than 64 characters"},
		{"no command", []string{"--name", "x"}, "no command to run"},
		{"empty command", []string{"--name", "x", " "}, "the command string is empty"},
		{"two commands", []string{"--name", "x", "echo", "hi"}, "expected one command string"},
		{"both forms", []string{"--name", "x", "echo hi", "--", "true"}, "not both"},
		{"bad flag", []string{"--name", "x", "--bogus", "true"}, "flag provided but not defined: -bogus"},
		{"bad timeout", []string{"--name", "x", "--timeout", "soon", "true"}, "--timeout"},
		{"empty timeout", []string{"--name", "x", "--timeout", "", "true"}, `--timeout: invalid duration "": empty`},
		{"bad kill-after", []string{"--name", "x", "--kill-after", "-1s", "true"}, "--kill-after"},
		{"tee and quiet", []string{"--name", "x", "--tee", "-q", "true"}, "--tee and -q cannot be used together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			res := s.troc(append([]string{"exec"}, tt.args...)...)
			if res.code != exitUsage {
				t.Errorf("exit = %d, want %d", res.code, exitUsage)
			}
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", res.stderr, tt.want)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing", res.stdout)
			}
			// Nothing was written: no config, no database, no lock, no log.
			for _, d := range []string{s.home, s.tmp} {
				if entries, _ := os.ReadDir(d); len(entries) != 0 {
					t.Errorf("%s holds %v, want nothing", d, entries)
				}
			}
		})
	}
	// The longest name is fine.
	s := newSandbox(t)
	if res := s.troc("exec", "--name", strings.Repeat("a", 64), "true"); res.code != 0 {
		t.Errorf("64-character name: exit = %d, want 0\n%s", res.code, res.stderr)
	}
	if res := s.troc("exec", "-h"); res.code != 0 || !strings.Contains(res.stdout, "--name") {
		t.Errorf("exec -h: exit, stdout = %d, %q; want 0, it to contain \"--name\"", res.code, res.stdout)
	}
}

func TestExecBackgroundChildDoesNotHold(t *testing.T) {
	s := newSandbox(t)
	pidFile := filepath.Join(s.dir, "child.pid")
	done := make(chan result, 1)
	go func() { done <- s.troc("exec", "--name", "bg", "sleep 300 & echo $! > "+pidFile+"; echo hi") }()
	var res result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("troc waited for the background sleep")
	}
	child, _ := strconv.Atoi(strings.TrimSpace(fileContent(t, pidFile)))
	defer syscall.Kill(child, syscall.SIGKILL)
	r := res.run(t)
	if res.code != 0 || r.Status != "Succeeded" {
		t.Errorf("exit, status = %d, %s; want 0, Succeeded", res.code, r.Status)
	}
	if got := fileContent(t, *r.LogFile); got != "hi\n" {
		t.Errorf("log = %q, want %q", got, "hi\n")
	}
	if !alive(child) {
		t.Error("the background child was killed; troc should leave it alone")
	}
	// The lock was released with the run: the next run is not skipped.
	if res := s.troc("exec", "--name", "bg", "true"); res.code != 0 {
		t.Errorf("next run: exit = %d, want 0\n%s", res.code, res.stderr)
	}
}

func TestExecConcurrentSameJob(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "warm", "true") // config and database exist
	release := filepath.Join(s.dir, "release")
	const n = 100
	codes := make(chan int, n)
	stderrs := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := s.troc("exec", "--name", "one", "while [ ! -e "+release+" ]; do sleep 0.05; done")
			codes <- res.code
			if res.code != 0 && res.code != exitSkipped || strings.Contains(res.stderr, "level=WARN") || strings.Contains(res.stderr, "level=ERROR") {
				stderrs <- res.stderr
			}
		}()
	}
	// Every process but the one running the job exits 75 on its own.
	skipped := 0
	for skipped < n-1 {
		select {
		case code := <-codes:
			if code != exitSkipped {
				t.Fatalf("exit = %d before the job was released, want %d", code, exitSkipped)
			}
			skipped++
		case msg := <-stderrs:
			t.Fatalf("a troc complained:\n%s", msg)
		case <-time.After(120 * time.Second):
			t.Fatalf("only %d runs skipped within 120s, want %d", skipped, n-1)
		}
	}
	os.WriteFile(release, nil, 0o600)
	wg.Wait()
	close(codes)
	close(stderrs)
	if code := <-codes; code != 0 {
		t.Errorf("the run's exit = %d, want 0", code)
	}
	for msg := range stderrs {
		t.Errorf("a troc complained:\n%s", msg)
	}
	count := map[Status]int{}
	for _, r := range s.runs() {
		if r.Job == "one" {
			count[r.Status]++
			if r.Status == StatusSkipped && (!r.End.Equal(r.Start) || r.LogFile != "") {
				t.Errorf("skipped run %d: start %v end %v log %q; want end = start and no log", r.ID, r.Start, r.End, r.LogFile)
			}
		}
	}
	if count[StatusSucceeded] != 1 || count[StatusSkipped] != n-1 || len(count) != 2 {
		t.Errorf("runs by status = %v, want 1 Succeeded, %d Skipped", count, n-1)
	}
	// Nor is a Skipped run's log made and left behind.
	if logs, _ := filepath.Glob(filepath.Join(s.tmp, "one.*.log")); len(logs) != 1 {
		t.Errorf("%d run logs of job one, want 1", len(logs))
	}
}

func TestExecConcurrentJobs(t *testing.T) {
	s := newSandbox(t) // fresh: the first processes race to create everything
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := s.troc("exec", "--name", fmt.Sprintf("job-%d", i), "echo "+strconv.Itoa(i))
			if res.code != 0 || strings.Contains(res.stderr, "level=WARN") || strings.Contains(res.stderr, "level=ERROR") {
				errs <- fmt.Sprintf("job-%d: exit %d\n%s", i, res.code, res.stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	runs := s.runs()
	seen := map[string]bool{}
	for _, r := range runs {
		if r.Status != StatusSucceeded {
			t.Errorf("run %d of %s: status = %s, want Succeeded", r.ID, r.Job, r.Status)
		}
		seen[r.Job] = true
	}
	if len(runs) != n || len(seen) != n {
		t.Errorf("%d runs of %d jobs, want %d of %d", len(runs), len(seen), n, n)
	}
	if entries, _ := os.ReadDir(s.configDir()); len(entries) > 5 {
		t.Errorf("config directory holds %d entries, want config.yaml, the database files and locks/", len(entries))
	}
}

func TestExecQuiet(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "warm", "true")
	for _, args := range [][]string{
		{"exec", "-q", "--name", "ok", "echo noisy; echo noisy >&2"},
		{"exec", "--name", "ok", "--quiet", "--", "echo", "noisy"},
	} {
		res := s.troc(args...)
		if res.code != 0 || res.stdout != "" || res.stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 0 and nothing", args, res.code, res.stdout, res.stderr)
		}
	}
	// A skipped run is quiet too (this test holds the job's lock).
	held, err := lockJob(filepath.Join(s.configDir(), "locks"), "busy")
	if err != nil {
		t.Fatal(err)
	}
	res := s.troc("exec", "-q", "--name", "busy", "true")
	held.Close()
	if res.code != exitSkipped || res.stdout != "" || res.stderr != "" {
		t.Errorf("skipped: exit %d, stdout %q, stderr %q; want %d and nothing", res.code, res.stdout, res.stderr, exitSkipped)
	}

	res = s.troc("exec", "--name", "bad", "-q", "for i in $(seq 1 30); do echo line $i; done; exit 5")
	if res.code != 5 || res.stderr != "" {
		t.Errorf("exit %d, stderr %q; want 5 and nothing", res.code, res.stderr)
	}
	for _, want := range []string{"bad", "Failed (exit 5)", "line 11\n", "line 30\n"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "line 10\n") {
		t.Errorf("summary has more than the last 20 lines:\n%s", res.stdout)
	}
}

func TestExecTee(t *testing.T) {
	s := newSandbox(t)
	res := s.troc("exec", "--name", "t", "--tee", "echo out; echo err >&2")
	if !strings.HasPrefix(res.stdout, "out\n{") {
		t.Errorf("stdout = %q, want the job's stdout, then the run", res.stdout)
	}
	if !strings.Contains(res.stderr, "err\n") {
		t.Errorf("stderr = %q, want the job's stderr", res.stderr)
	}
	var r runJSON
	res.stdout = strings.TrimPrefix(res.stdout, "out\n")
	r = res.run(t)
	if got := fileContent(t, *r.LogFile); got != "out\nerr\n" && got != "err\nout\n" {
		t.Errorf("log = %q, want %q or %q", got, "out\nerr\n", "err\nout\n")
	}
}

// TestExecClosedOutput: a stdout and stderr whose reader has gone (a
// pager that quit, a terminal closed) end neither troc nor its run: troc
// tees what it can, the job runs to its end and the run is recorded.
func TestExecClosedOutput(t *testing.T) {
	s := newSandbox(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd := s.command("exec", "--name", "closed", "--tee", "echo out; echo err >&2; sleep 0.1; echo done")
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	w.Close()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit = %d (%v), want 0", code, err)
	}
	runs := s.runs()
	if len(runs) != 1 || runs[0].Status != StatusSucceeded {
		t.Fatalf("runs = %+v, want one Succeeded", runs)
	}
	if log := fileContent(t, runs[0].LogFile); !strings.HasSuffix(log, "done\n") {
		t.Errorf("log = %q, want the job's whole output", log)
	}
}

func TestExecLargeOutput(t *testing.T) {
	for _, tee := range []bool{false, true} {
		t.Run(fmt.Sprintf("tee=%v", tee), func(t *testing.T) {
			s := newSandbox(t)
			args := []string{"exec", "--name", "big", "head -c 50000000 /dev/zero"}
			if tee {
				args = append(args, "--tee")
			}
			cmd := s.command(args...)
			var out bytes.Buffer
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			b := out.Bytes()
			if tee {
				if len(b) < 50000000 {
					t.Fatalf("tee copied %d bytes, want 50000000", len(b))
				}
				b = b[50000000:]
			}
			r := result{stdout: string(b)}.run(t)
			fi, err := os.Stat(*r.LogFile)
			if err != nil || fi.Size() != 50000000 || r.OutputBytes != 50000000 {
				t.Errorf("log size %v, output_bytes %d, want 50000000 (%v)", fi.Size(), r.OutputBytes, err)
			}
		})
	}
}

// TestExecDiskFull fills a small file system with the log: the job must
// neither notice nor slow down, and the run must say where the log was cut.
func TestExecDiskFull(t *testing.T) {
	s := newSandbox(t)
	full := mountTmpfs(t, s.dir, "256k")
	s.env = append(s.env, "TROC_LOGDIR="+full)
	for _, tee := range []string{"", "--tee"} {
		args := []string{"exec", "--name", "fill", "head -c 2000000 /dev/zero; echo done >&2"}
		if tee != "" {
			args = append(args, tee)
		}
		cmd := s.command(args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s: exit %d, want 0\n%s", tee, code, errb.String())
		}
		b := out.Bytes()
		if tee != "" {
			b = b[bytes.LastIndex(b, []byte("{\n    \"id\"")):]
		}
		r := result{stdout: string(b)}.run(t)
		if r.Status != "Succeeded" || r.OutputBytes != 2000005 {
			t.Errorf("%s: status %s, output_bytes %d; want Succeeded, 2000005", tee, r.Status, r.OutputBytes)
		}
		if note := deref(r.Note); !strings.Contains(note, "log cut at ") || !strings.Contains(note, "no space left on device") {
			t.Errorf("%s: note = %q, want it to contain \"log cut at \" and \"no space left on device\"", tee, note)
		}
		os.Remove(*r.LogFile)
	}
	if len(s.runs()) != 2 {
		t.Errorf("history has %d runs, want 2", len(s.runs()))
	}
}

// TestExecHistoryUnavailable: a corrupt database and one from a newer
// troc. The job runs anyway, its run is spooled, and the next troc
// command replays it into the repaired history.
func TestExecHistoryUnavailable(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "first", "true")
	dbPath := filepath.Join(s.configDir(), "troc.db")

	good := filepath.Join(s.dir, "good.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Rename(dbPath+suffix, good+suffix)
	}
	os.WriteFile(dbPath, bytes.Repeat([]byte("not a database "), 1000), 0o600)
	res := s.troc("exec", "--name", "spooled", "echo ran")
	if res.code != 0 {
		t.Fatalf("exit = %d, want 0\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "History database unavailable") || !strings.Contains(res.stderr, "Run spooled to ") {
		t.Errorf("stderr does not say the run was spooled:\n%s", res.stderr)
	}
	r := res.run(t)
	if r.ID != nil || r.Status != "Succeeded" || fileContent(t, *r.LogFile) != "ran\n" {
		t.Errorf("run = %+v, want no id, Succeeded, logged", r)
	}

	// A database from the future is refused and left as it is.
	os.Remove(dbPath)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Rename(good+suffix, dbPath+suffix)
	}
	db := s.history()
	db.sql.Exec(`PRAGMA user_version = 99`)
	db.Close()
	before := fileContent(t, dbPath)
	res = s.troc("exec", "--name", "spooled", "echo again")
	if !strings.Contains(res.stderr, "database schema is newer than this troc") || res.code != 0 {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and stderr containing \"database schema is newer than this troc\"", res.code, res.stderr)
	}
	if fileContent(t, dbPath) != before {
		t.Error("the newer database was changed")
	}

	// Repaired: the next troc command replays both.
	// openDB refuses a newer database, so set the version back by hand.
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	raw := openRaw(t, dbPath)
	raw.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(ms)))
	raw.Close()
	res = s.troc("exec", "--name", "after", "true")
	if res.code != 0 || strings.Count(res.stderr, "Replayed spooled run of spooled") != 2 {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and \"Replayed spooled run of spooled\" twice", res.code, res.stderr)
	}
	var logs []string
	for _, r := range s.runs() {
		logs = append(logs, r.Job+":"+string(r.Status))
	}
	// Replayed after troc recorded its own run: never before a job starts.
	if got, want := strings.Join(logs, " "), "first:Succeeded after:Succeeded spooled:Succeeded spooled:Succeeded"; got != want {
		t.Errorf("history = %s, want %s", got, want)
	}
	// Replaying again changes nothing.
	if res := s.troc("exec", "--name", "after", "true"); strings.Contains(res.stderr, "Replayed") {
		t.Errorf("replayed twice:\n%s", res.stderr)
	}
}

func TestExecSymlinks(t *testing.T) {
	t.Run("lock", func(t *testing.T) {
		s := newSandbox(t)
		target := filepath.Join(s.dir, "target")
		os.WriteFile(target, []byte("precious"), 0o600)
		os.MkdirAll(filepath.Join(s.configDir(), "locks"), 0o700)
		os.Symlink(target, filepath.Join(s.configDir(), "locks", "j.lock"))
		res := s.troc("exec", "--name", "j", "echo should not run")
		if res.code != exitSetup {
			t.Errorf("exit = %d, want %d\n%s", res.code, exitSetup, res.stderr)
		}
		r := res.run(t)
		if r.Status != "Failed" || !strings.Contains(deref(r.Note), "is a symlink") || r.PID != nil {
			t.Errorf("status, note, pid = %s, %q, %v; want Failed, a note containing \"is a symlink\", nil", r.Status, deref(r.Note), r.PID)
		}
		if fileContent(t, target) != "precious" {
			t.Error("the symlink's target was changed")
		}
	})
}

func TestExecBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		config string
		mode   os.FileMode
		want   string
	}{
		{"syntax", "database: [a, b]\n", 0o600, "config.yaml:1: "},
		{"unknown key", "lockdir: /tmp\nnotify:\n  slak:\n    token: x\n", 0o600, `unknown key "notify.slak.token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			os.MkdirAll(s.configDir(), 0o700)
			path := filepath.Join(s.configDir(), "config.yaml")
			os.WriteFile(path, []byte(tt.config), tt.mode)
			os.Chmod(path, tt.mode)
			res := s.troc("exec", "--name", "j", "touch "+filepath.Join(s.dir, "ran"))
			if res.code != exitConfig {
				t.Errorf("exit = %d, want %d", res.code, exitConfig)
			}
			if !strings.Contains(res.stderr, tt.want) || !strings.Contains(res.stderr, path) {
				t.Errorf("stderr = %q, want the path and %q", res.stderr, tt.want)
			}
			if strings.Contains(res.stderr, "secret-value") {
				t.Errorf("stderr shows the token: %q", res.stderr)
			}
			if _, err := os.Stat(filepath.Join(s.dir, "ran")); err == nil {
				t.Error("the job ran with a broken configuration")
			}
		})
	}
}

func TestExecLockNotInherited(t *testing.T) {
	s := newSandbox(t)
	// The job lists its open files: the lock must not be among them.
	res := s.troc("exec", "--name", "fds", "ls -l /proc/$$/fd/")
	r := res.run(t)
	if log := fileContent(t, *r.LogFile); strings.Contains(log, ".lock") || !strings.Contains(log, "pipe:") {
		t.Errorf("the job's open files =\n%s\nwant a pipe: and no .lock", log)
	}
}

func TestExecLogJSON(t *testing.T) {
	s := newSandbox(t)
	s.env = append(s.env, "TROC_LOGJSON=true")
	res := s.troc("exec", "--name", "j", "true")
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	for _, line := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil || v["msg"] == nil || v["level"] == nil {
			t.Errorf("stderr line is not a JSON log record: %q", line)
		}
	}
	r := res.run(t)
	if sys := fileContent(t, *r.SystemLogFile); strings.Count(sys, "\n") != len(lines) || !strings.HasPrefix(sys, "{") {
		t.Errorf("system log:\n%s\nwant the %d lines of stderr", sys, len(lines))
	}
}

// TestExecHistoryUnwritable makes the database files immutable, which
// stops even root from writing them: the run is spooled, then replayed.
func TestExecHistoryUnwritable(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "first", "true")
	files, _ := filepath.Glob(filepath.Join(s.configDir(), "troc.db*"))
	for _, f := range files {
		if out, err := exec.Command("chattr", "+i", f).CombinedOutput(); err != nil {
			t.Skipf("cannot make files immutable here: %v: %s", err, out)
		}
		defer exec.Command("chattr", "-i", f).Run()
	}
	res := s.troc("exec", "--name", "blocked", "echo ran; exit 3")
	if res.code != 3 || !strings.Contains(res.stderr, "Run spooled to ") {
		t.Fatalf("exit %d, want 3 and a spooled run\n%s", res.code, res.stderr)
	}
	if r := res.run(t); r.Status != "Failed" || fileContent(t, *r.LogFile) != "ran\n" {
		t.Errorf("status, log = %s, %q; want Failed, %q", r.Status, fileContent(t, *r.LogFile), "ran\n")
	}
	for _, f := range files {
		exec.Command("chattr", "-i", f).Run()
	}
	res = s.troc("exec", "--name", "first", "true")
	if !strings.Contains(res.stderr, "Replayed spooled run of blocked") {
		t.Errorf("stderr = %q, want it to contain %q", res.stderr, "Replayed spooled run of blocked")
	}
	runs := s.runs()
	if len(runs) != 3 || runs[2].Job != "blocked" || runs[2].Status != StatusFailed || *runs[2].ExitCode != 3 {
		t.Errorf("history = %+v, want 3 runs, the last of blocked, Failed with exit 3", runs)
	}
}

// TestExecNoLogDirectory: a logdir that cannot be used is replaced by the
// next one that can (the default, then logs/ beside the history), and when
// none can, the job still runs, without logs. As nobody, whose home
// directory does not exist, so that the defaults can be made to fail.
func TestExecNoLogDirectory(t *testing.T) {
	nobody := asUser(t, "nobody")
	dir := sharedDir(t)
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	env := []string{"TROC_CONFIG_PATH=" + filepath.Join(dir, "troc"), "TROC_LOGDIR=" + notDir}
	res := nobody.troc(env, "exec", "--name", "j", "echo hi")
	r := res.run(t)
	besideHistory := filepath.Join(dir, "troc", "logs")
	if res.code != 0 || filepath.Dir(deref(r.LogFile)) != besideHistory ||
		!strings.Contains(deref(r.Note), "logdir "+notDir+" not used: ") || !strings.Contains(res.stderr, "; using "+besideHistory) {
		t.Errorf("exit %d, log %s, note %q; want 0, the log in %s and why\n%s", res.code, deref(r.LogFile), deref(r.Note), besideHistory, res.stderr)
	}

	os.RemoveAll(besideHistory)
	os.WriteFile(besideHistory, nil, 0o644) // now nothing will do
	res = nobody.troc(env, "exec", "--name", "j", "head -c 3000000 /dev/zero; exit 2")
	if res.code != 2 {
		t.Fatalf("exit = %d, want 2\n%s", res.code, res.stderr)
	}
	r = res.run(t)
	if r.Status != StatusFailed || r.LogFile != nil || r.SystemLogFile != nil || r.OutputBytes != 3000000 {
		t.Errorf("run = %+v, want Failed, no log files, output_bytes 3000000", r)
	}
	if !strings.Contains(deref(r.Note), "no log") || !strings.Contains(res.stderr, "No log directory can be used") {
		t.Errorf("note, stderr = %q, %q; want a note containing \"no log\", stderr containing \"No log directory can be used\"", deref(r.Note), res.stderr)
	}
}

// FuzzCheckJobName holds checkJobName to the documented rule, which job
// names become file names under.
func FuzzCheckJobName(f *testing.F) {
	for _, s := range []string{"daily-sync", "a", "../x", "a/b", "", ".x", "-x", "a b", "a\x00", strings.Repeat("z", 65), "A.b_c-9"} {
		f.Add(s)
	}
	rule := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	f.Fuzz(func(t *testing.T, name string) {
		err := checkJobName(name)
		if got, want := err == nil, rule.MatchString(name); got != want {
			t.Fatalf("checkJobName(%q) = %v, want accepted = %v", name, err, want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("error is not one line: %q", err)
		}
	})
}

// TestExecFileSizeLimit runs troc under `ulimit -f`: the log stops at the
// limit, troc survives (no SIGXFSZ death) and the job knows nothing of it.
func TestExecFileSizeLimit(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "warm", "true") // the database grows before the limit applies
	exe, _ := os.Executable()
	cmd := exec.Command("sh", "-c", `ulimit -f 64; exec "$0" exec --name capped "head -c 200000 /dev/zero"`, exe)
	cmd.Env = s.environ()
	out, _ := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit = %d, want 0", code)
	}
	r := result{stdout: string(out)}.run(t)
	if r.Status != StatusSucceeded || r.OutputBytes != 200000 || !strings.Contains(deref(r.Note), "file too large") {
		t.Errorf("status, output_bytes, note = %s, %d, %q; want Succeeded, 200000, a note containing \"file too large\"", r.Status, r.OutputBytes, deref(r.Note))
	}
	if fi, err := os.Stat(*r.LogFile); err != nil || fi.Size() != 64*512 {
		t.Errorf("log size = %v, want %d (%v)", fi.Size(), 64*512, err)
	}
}

// TestExecConvertsToWAL: a history in rollback-journal mode (made by the
// sqlite3 tool, say) is switched to WAL by the next troc.
func TestExecConvertsToWAL(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "j", "true")
	path := filepath.Join(s.configDir(), "troc.db")
	raw := openRaw(t, path)
	mode := func() string {
		var m string
		raw.QueryRow(`PRAGMA journal_mode`).Scan(&m)
		return m
	}
	raw.Exec(`PRAGMA journal_mode = DELETE`)
	if m := mode(); m != "delete" {
		t.Fatalf("journal_mode = %q, want delete to start with", m)
	}
	raw.Close()
	if res := s.troc("exec", "--name", "j", "true"); res.code != 0 {
		t.Fatalf("exit = %d, want 0\n%s", res.code, res.stderr)
	}
	raw = openRaw(t, path)
	if m := mode(); m != "wal" {
		t.Errorf("journal_mode = %q, want wal", m)
	}
}

// TestWaitExited: waitExited returns when the job exits, not before,
// leaving it for wait4 to reap; given the pidfd that start asked the
// fork for, it waits in the poller (no thread of troc's sits in waitid
// for the job meanwhile) and closes the pidfd.
func TestWaitExited(t *testing.T) {
	// pidfd_open(2) on troc's own pid: whether this kernel has pidfds.
	probe, _, errno := syscall.Syscall(434, uintptr(os.Getpid()), 0, 0)
	if errno == 0 {
		syscall.Close(int(probe))
	}
	for _, poll := range []bool{true, false} {
		t.Run(fmt.Sprintf("poller=%t", poll), func(t *testing.T) {
			null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer null.Close()
			o := &execOptions{command: "exec sleep 300"}
			pid, pidfd, err := o.start(&execEnv{}, null, null, null)
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(pid, syscall.SIGKILL)
			switch {
			case !poll:
				syscall.Close(pidfd)
				pidfd = -1
			case pidfd < 0 && errno == 0:
				t.Fatal("start gave no pidfd on a kernel that has them")
			case pidfd < 0:
				t.Skip("this kernel has no pidfds: waitExited blocks in waitid")
			}
			done := make(chan struct{})
			go func() {
				waitExited(pid, pidfd)
				close(done)
			}()
			if poll {
				for range 10 {
					time.Sleep(10 * time.Millisecond)
					if waitingInWaitid(t, pid) {
						t.Fatal("a thread sits in waitid for the job")
					}
				}
			} else {
				waitFor(t, "a thread in waitid for the job", func() bool { return waitingInWaitid(t, pid) })
			}
			select {
			case <-done:
				t.Fatal("waitExited returned while the job runs")
			default:
			}
			syscall.Kill(pid, syscall.SIGKILL)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("waitExited did not return after the job was killed")
			}
			var ws syscall.WaitStatus
			if got, err := syscall.Wait4(pid, &ws, 0, nil); got != pid || ws.Signal() != syscall.SIGKILL {
				t.Errorf("wait4 = %d, %v (%v); want the job, killed by SIGKILL", got, ws, err)
			}
			if link, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", pidfd)); poll && link == "anon_inode:[pidfd]" {
				t.Errorf("the pidfd %d is still open", pidfd)
			}
		})
	}
}

// waitingInWaitid reports whether a thread of this process is blocked in
// waitid(P_PID, pid, ...), as /proc/self/task/TID/syscall shows it.
func waitingInWaitid(t *testing.T, pid int) bool {
	tasks, err := filepath.Glob("/proc/self/task/*/syscall")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no /proc/self/task/*/syscall: %v", err)
	}
	want := fmt.Sprintf("%d 0x1 0x%x ", syscall.SYS_WAITID, pid)
	for _, task := range tasks {
		if b, _ := os.ReadFile(task); strings.HasPrefix(string(b), want) {
			return true
		}
	}
	return false
}

// TestForkWithPidfd: the job is forked with its pidfd asked for; where
// clone(CLONE_PIDFD) is refused (a sandbox, an emulated kernel), it starts
// all the same without one, and waitExited waits for it in waitid; a job
// that cannot start fails with its own error either way.
func TestForkWithPidfd(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	fd := null.Fd()
	attr := func() *syscall.ProcAttr {
		return &syscall.ProcAttr{Files: []uintptr{fd, fd, fd}, Sys: &syscall.SysProcAttr{Setpgid: true}}
	}
	var calls, withPidfd int
	counting := func(refuse bool) func(string, []string, *syscall.ProcAttr) (int, error) {
		calls, withPidfd = 0, 0
		return func(path string, argv []string, a *syscall.ProcAttr) (int, error) {
			calls++
			if a.Sys.PidFD != nil {
				withPidfd++
				if refuse {
					return 0, syscall.EINVAL
				}
			}
			return syscall.ForkExec(path, argv, a)
		}
	}
	sh := []string{"/bin/sh", "-c", "exit 3"}
	exits := func(pid, pidfd int) {
		t.Helper()
		waitExited(pid, pidfd)
		var ws syscall.WaitStatus
		if got, err := syscall.Wait4(pid, &ws, 0, nil); got != pid || ws.ExitStatus() != 3 {
			t.Errorf("wait4 = %d, %v (%v); want the job, exit 3", got, ws, err)
		}
	}

	pid, pidfd, err := forkWithPidfd(counting(false), sh[0], sh, attr())
	if err != nil || calls != 1 || withPidfd != 1 {
		t.Fatalf("fork: %v after %d forks (%d with the pidfd asked for); want one, with it", err, calls, withPidfd)
	}
	exits(pid, pidfd)

	pid, pidfd, err = forkWithPidfd(counting(true), sh[0], sh, attr())
	if err != nil || pidfd != -1 || calls != 2 || withPidfd != 1 {
		t.Fatalf("refused: %v, pidfd %d after %d forks (%d with it); want the job, no pidfd, after 2 (1)", err, pidfd, calls, withPidfd)
	}
	exits(pid, pidfd)

	missing := []string{"/nonexistent/job"}
	if _, _, err := forkWithPidfd(counting(false), missing[0], missing, attr()); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("a missing program: %v, want ENOENT", err)
	}
}
