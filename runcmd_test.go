package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunList(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "alpha", "echo a")
	s.mustTroc(3, "exec", "--name", "beta", "exit 3")
	s.mustTroc(0, "exec", "--name", "alpha", "echo b")
	s.mustTroc(exitTimedOut, "exec", "--name", "gamma", "--timeout", "50ms", "sleep 5")

	ids := func(res result) string {
		t.Helper()
		var runs []runJSON
		jsonOf(t, res, &runs)
		var out []string
		for _, r := range runs {
			out = append(out, strconv.FormatInt(*r.ID, 10)+":"+r.Job+":"+string(r.Status))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"all, newest first", nil, "4:gamma:TimedOut 3:alpha:Succeeded 2:beta:Failed 1:alpha:Succeeded"},
		{"one job", []string{"--name", "alpha"}, "3:alpha:Succeeded 1:alpha:Succeeded"},
		{"statuses, any case", []string{"--status", "failed,TIMEDOUT"}, "4:gamma:TimedOut 2:beta:Failed"},
		{"job and status", []string{"--name", "alpha", "--status", "Failed"}, ""},
		{"limit", []string{"--limit", "2"}, "4:gamma:TimedOut 3:alpha:Succeeded"},
		{"limit 0 is all", []string{"--limit", "0"}, "4:gamma:TimedOut 3:alpha:Succeeded 2:beta:Failed 1:alpha:Succeeded"},
		{"since a duration", []string{"--since", "1h"}, "4:gamma:TimedOut 3:alpha:Succeeded 2:beta:Failed 1:alpha:Succeeded"},
		{"since a time to come", []string{"--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, ""},
		{"since a past date", []string{"--since", "2001-01-01"}, "4:gamma:TimedOut 3:alpha:Succeeded 2:beta:Failed 1:alpha:Succeeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.mustTroc(0, append([]string{"run", "list", "--json"}, tc.args...)...)
			if got := ids(res); got != tc.want {
				t.Errorf("runs = %q, want %q", got, tc.want)
			}
		})
	}

	// The default limit is 20.
	for i := 0; i < 21; i++ {
		s.mustTroc(0, "exec", "-q", "--name", "many", "true")
	}
	var runs []runJSON
	jsonOf(t, s.mustTroc(0, "run", "list", "--json"), &runs)
	if len(runs) != 20 || *runs[0].ID != 25 {
		t.Errorf("default list: %d runs from %d, want 20 from 25", len(runs), *runs[0].ID)
	}

	// The table: a header, a row per run, no colour into a pipe.
	res := s.mustTroc(0, "run", "list", "--name", "beta")
	lines := strings.Split(strings.TrimRight(res.stdout, "\n"), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^ID +JOB +STATUS +START +DURATION +EXIT$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^2 +beta +❌ Failed +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\S+ +3$`).MatchString(lines[1]) {
		t.Errorf("table:\n%s\nwant a header and one row of beta, Failed with exit 3", res.stdout)
	}
	if strings.Contains(res.stdout, "\x1b[") {
		t.Errorf("colour codes in a pipe:\n%q", res.stdout)
	}
	s.env = append(s.env, "TROC_DISPLAY_EMOJI=false")
	if res := s.mustTroc(0, "run", "list", "--name", "gamma"); !strings.Contains(res.stdout, "  TimedOut  ") || !strings.Contains(res.stdout, "SIGKILL") && !strings.Contains(res.stdout, "SIGTERM") {
		t.Errorf("table without emoji:\n%s\nwant \"  TimedOut  \" and SIGKILL or SIGTERM", res.stdout)
	}
}

// TestRunCommandErrors: bad input is one line naming the bad value, exit
// 2 for misuse and 1 for what is not there, and changes nothing.
func TestRunCommandErrors(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "alpha", "echo a")
	before := s.dump()
	s.refuses([]misuse{
		{"bad status", []string{"run", "list", "--status", "ok"}, 2, `invalid --status: unknown status "ok": want a comma-separated list of running, skipped, succeeded, failed, terminated, timedout, or none`},
		{"bad since", []string{"run", "list", "--since", "yesterday"}, 2, `invalid --since "yesterday": want a duration`},
		{"bad limit", []string{"run", "list", "--limit", "-1"}, 2, "invalid --limit -1"},
		{"status none", []string{"run", "list", "--status", "none"}, 2, "invalid --status: none selects nothing"},
		{"unknown job", []string{"run", "list", "--name", "nope"}, 1, `no job named "nope"`},
		{"bad job name", []string{"run", "list", "--name", "../x"}, 2, `invalid job name "../x"`},
		{"no id", []string{"run", "show"}, 2, "no run id given"},
		{"bad id", []string{"run", "show", "-r", "x1"}, 2, `invalid run id "x1": want a positive whole number`},
		{"two ids", []string{"run", "show", "-r", "1", "2"}, 2, "give one run id"},
		{"unknown id", []string{"run", "show", "-r", "99"}, 1, "no run 99 in the history"},
		{"log of unknown id", []string{"run", "log", "99"}, 1, "no run 99 in the history"},
		{"bad tail", []string{"run", "log", "1", "--tail", "-2"}, 2, "invalid --tail -2"},
		{"watch unknown id", []string{"run", "watch", "-r", "99"}, 1, "no run 99 in the history"},
		{"term a finished run", []string{"run", "term", "-r", "1"}, 1, "run 1 is not running: it ended Succeeded"},
		{"kill a finished run", []string{"run", "kill", "-r", "1", "--force"}, 1, "run 1 is not running: it ended Succeeded"},
		{"bad signal", []string{"run", "kill", "-r", "1", "--signal", "NOPE"}, 2, `invalid --signal "NOPE"`},
		{"unknown subcommand", []string{"run", "frob"}, 2, `unknown command "run frob"`},
		{"unknown flag", []string{"run", "list", "--colour"}, 2, "flag provided but not defined: -colour"},
	})
	if s.dump() != before {
		t.Error("a failed command changed the history")
	}
}

func TestRunShow(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "job", "add", "--name", "nightly", "--timeout", "1h", "--notify-log", "--description", "backs up /srv")
	exec := s.mustTroc(4, "exec", "--name", "nightly", "echo out; exit 4").run(t)

	for _, args := range [][]string{{"run", "show", "-r", "1"}, {"run", "show", "1"}, {"run", "show", "1", "--json"}} {
		res := s.mustTroc(0, args...)
		var got runShowJSON
		jsonOf(t, res, &got)
		want := runShowJSON{runJSON: exec, JobSettings: jobSettingsJSON{
			Name: "nightly", Description: "backs up /srv", TimeoutMS: ptr(int64(3600000)), NotifyLog: true,
		}}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("%q:\n got %s\nwant %s", args, gotJSON, wantJSON)
		}
	}
}

// dump returns every row of the history's tables, to compare before and
// after a command that must change nothing.
func (s *sandbox) dump() string {
	s.t.Helper()
	db := openRaw(s.t, filepath.Join(s.configDir(), "troc.db"))
	var b strings.Builder
	for _, table := range []string{"jobs", "runs", "job_days"} {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			s.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			fmt.Fprintln(&b, table, vals)
		}
		rows.Close()
	}
	db.Close()
	return b.String()
}

func TestRunLog(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "lines", "for i in 1 2 3 4 5; do echo line $i; done; echo err >&2")
	if got := s.mustTroc(0, "run", "log", "-r", "1").stdout; got != "line 1\nline 2\nline 3\nline 4\nline 5\nerr\n" {
		t.Errorf("log = %q, want %q", got, "line 1\nline 2\nline 3\nline 4\nline 5\nerr\n")
	}
	if got := s.mustTroc(0, "run", "log", "1", "--tail", "2").stdout; got != "line 5\nerr\n" {
		t.Errorf("tail = %q, want %q", got, "line 5\nerr\n")
	}

	// A skipped run has no log; a deleted log is said to be gone.
	cmd, _ := s.startJob("busy", "sleep 30")
	s.mustTroc(exitSkipped, "exec", "--name", "busy", "true")
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	res := s.mustTroc(1, "run", "log", "-r", "3")
	if !strings.Contains(res.stderr, "troc: run 3 was Skipped: it never ran, so it has no log") {
		t.Errorf("skipped run's log: stderr = %q, want it to contain %q", res.stderr, "troc: run 3 was Skipped: it never ran, so it has no log")
	}
	// Its watch exits as its troc exec did, 75, as the README says.
	res = s.troc("run", "watch", "-r", "3")
	if want := "troc: run 3 was Skipped: it never ran, so it has no log\n"; res.code != exitSkipped || res.stderr != want || res.stdout != "" {
		t.Errorf("skipped run's watch: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", res.code, res.stdout, res.stderr, exitSkipped, want)
	}
	os.Remove(s.runs()[0].LogFile)
	res = s.mustTroc(1, "run", "log", "-r", "1")
	if !strings.Contains(res.stderr, "troc: log of run 1 is gone: "+s.runs()[0].LogFile+" was deleted or pruned") {
		t.Errorf("deleted log: stderr = %q, want it to contain %q", res.stderr, "troc: log of run 1 is gone: "+s.runs()[0].LogFile+" was deleted or pruned")
	}
}

func TestRunWatch(t *testing.T) {
	s := newSandbox(t)
	gate := filepath.Join(s.dir, "gate")
	// The job prints, waits for the test to open the gate, prints again
	// and exits 3.
	job, run := s.startJob("slow", "echo first; while [ ! -e "+gate+" ]; do sleep 0.01; done; echo second; exit 3")

	watch := s.command("run", "watch", "-r", strconv.FormatInt(run.ID, 10))
	var out syncBuffer
	watch.Stdout = &out
	watch.Stderr = &out
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first line", func() bool { return out.String() == "first\n" })
	os.WriteFile(gate, nil, 0o600)
	err := watch.Wait()
	if code := watch.ProcessState.ExitCode(); code != 3 {
		t.Errorf("watch exit = %d (%v), want the run's 3\n%s", code, err, out.String())
	}
	if got := out.String(); got != "first\nsecond\n" {
		t.Errorf("watch printed %q, want %q", got, "first\nsecond\n")
	}
	job.Wait()

	// A finished run: its log, at once, with its status.
	res := s.troc("run", "watch", "1")
	if res.code != 3 || res.stdout != "first\nsecond\n" {
		t.Errorf("watch of a finished run: exit, stdout = %d, %q; want 3, %q", res.code, res.stdout, "first\nsecond\n")
	}
	s.mustTroc(0, "exec", "--name", "quick", "echo done")
	if res := s.troc("run", "watch", "-r", "2"); res.code != 0 || res.stdout != "done\n" {
		t.Errorf("watch of a succeeded run: exit, stdout = %d, %q; want 0, %q", res.code, res.stdout, "done\n")
	}
}

// A watch whose reader has gone (the end of a pipeline quit, the ssh of a
// remote watch was interrupted) leaves at once, by SIGPIPE's status, and
// not at the run's next output, which may be hours away.
func TestRunWatchReaderGone(t *testing.T) {
	s := newSandbox(t)
	gate := filepath.Join(s.dir, "gate")
	job, run := s.startJob("quiet", "echo hello; while [ ! -e "+gate+" ]; do sleep 0.01; done")
	t.Cleanup(func() { os.WriteFile(gate, nil, 0o600) })

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	watch := s.command("run", "watch", "-r", strconv.FormatInt(run.ID, 10))
	watch.Stdout = w
	var stderr syncBuffer
	watch.Stderr = &stderr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if line, err := bufio.NewReader(r).ReadString('\n'); line != "hello\n" {
		t.Fatalf("watch's first line = %q (%v), want %q", line, err, "hello\n")
	}
	r.Close()
	done := make(chan error, 1)
	go func() { done <- watch.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		watch.Process.Kill()
		<-done
		t.Fatal("watch still running 10s after its reader left")
	}
	if code := watch.ProcessState.ExitCode(); code != 128+int(syscall.SIGPIPE) || stderr.String() != "" {
		t.Errorf("watch left with %d, stderr %q; want %d and nothing said", code, stderr.String(), 128+int(syscall.SIGPIPE))
	}
	if got := s.runs()[0]; got.Status != StatusRunning {
		t.Errorf("the run is %s: a watch that leaves must not touch it", got.Status)
	}
	os.WriteFile(gate, nil, 0o600)
	if err := job.Wait(); err != nil {
		t.Errorf("job: %v", err)
	}
}

func TestRunTerm(t *testing.T) {
	s := newSandbox(t)
	gate := filepath.Join(s.dir, "gate")
	job, run := s.startJob("long", "while [ ! -e "+gate+" ]; do sleep 0.01; done")
	res := s.mustTroc(0, "run", "term", "-r", strconv.FormatInt(run.ID, 10))
	if res.stdout != "run 1 of long marked Terminated\n" {
		t.Errorf("stdout = %q, want %q", res.stdout, "run 1 of long marked Terminated\n")
	}
	r := s.runs()[0]
	if r.Status != StatusTerminated || r.End.IsZero() || !strings.Contains(r.Note, "marked Terminated by hand") {
		t.Errorf("after term: status, end, note = %s, %v, %q; want Terminated, an end, a note containing \"marked Terminated by hand\"", r.Status, r.End, r.Note)
	}
	if !alive(run.PID) {
		t.Error("run term touched the process")
	}
	// Its real end still comes in when it ends.
	os.WriteFile(gate, nil, 0o600)
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if r := s.runs()[0]; r.Status != StatusSucceeded || r.ExitCode == nil || *r.ExitCode != 0 {
		t.Errorf("after the real end: status, exit = %s, %d; want Succeeded, 0", r.Status, deref(r.ExitCode))
	}
	var jobs []jobJSON
	jsonOf(t, s.mustTroc(0, "job", "list", "--json"), &jobs)
	if jobs[0].Failures30d != 0 || jobs[0].Runs30d != 1 || jobs[0].LastSuccess == nil {
		t.Errorf("tallies after the real end: %d failures of %d runs, last success %v; want 0 of 1, a last success", jobs[0].Failures30d, jobs[0].Runs30d, jobs[0].LastSuccess)
	}
}

func TestRunKill(t *testing.T) {
	s := newSandbox(t)
	// A tree: the job's shell and two sleeps in its process group.
	pids := filepath.Join(s.dir, "pids")
	job, run := s.startJob("tree", "sleep 300 & echo $! >> "+pids+"; sleep 300 & echo $! >> "+pids+"; wait")
	waitFor(t, "both children", func() bool {
		b, _ := os.ReadFile(pids)
		return strings.Count(string(b), "\n") == 2
	})
	var children []int
	for _, f := range strings.Fields(fileContent(t, pids)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, pid)
	}
	res := s.mustTroc(0, "run", "kill", "-r", "1", "--force")
	if want := "sent SIGTERM to run 1 of tree (process group " + strconv.Itoa(run.PID) + ")\n"; res.stdout != want {
		t.Errorf("stdout = %q, want %q", res.stdout, want)
	}
	job.Wait()
	for _, pid := range children {
		waitFor(t, "child "+strconv.Itoa(pid)+" to end", func() bool { return !alive(pid) })
	}
	r := s.runs()[0]
	if r.Status != StatusFailed && r.Status != StatusTerminated {
		t.Errorf("killed run = %s, want Failed or Terminated", r.Status)
	}

	// --signal takes names and numbers.
	job, _ = s.startJob("usr1", "trap 'exit 7' USR1; while :; do sleep 0.01; done")
	s.mustTroc(0, "run", "kill", "-r", "2", "--signal", "usr1")
	job.Wait()
	if r := s.runs()[1]; r.ExitCode == nil || *r.ExitCode != 7 {
		t.Errorf("after SIGUSR1: status, exit = %s, %d; want exit 7", r.Status, deref(r.ExitCode))
	}
}

// TestRunKillPIDReuse: a Running row whose pid now belongs to an unrelated
// process gets no signal, and is marked as the orphan it is.
func TestRunKillPIDReuse(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "old", "true")
	bystander := exec.Command("sleep", "300")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	defer bystander.Process.Kill()
	start, err := procStartTime(bystander.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	db := s.history()
	host, _ := os.Hostname()
	// The run "was" that pid, but its process started at another time.
	r := &Run{Job: "old", Status: StatusRunning, Start: time.Now().Add(-time.Hour), PID: bystander.Process.Pid, PIDStart: start - 100, Host: host, Command: "sleep 300"}
	if err := db.insertRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	res := s.troc("run", "kill", "-r", strconv.FormatInt(r.ID, 10), "--force", "--signal", "KILL")
	if res.code != 1 || !strings.Contains(res.stderr, "is not running: it ended Terminated") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and \"is not running: it ended Terminated\"", res.code, res.stderr)
	}
	if !alive(bystander.Process.Pid) {
		t.Fatal("the unrelated process was signalled")
	}
	got, _ := db.getRun(context.Background(), r.ID)
	if got.Status != StatusTerminated || got.Note != orphanNote {
		t.Errorf("row = %s %q, want Terminated %q", got.Status, got.Note, orphanNote)
	}
}

// TestRunKillUnknownPIDStart: a Running run whose pid's start time was
// not recorded (NULL, or 0) is refused, since nothing tells whether its
// pid is still the run's: a process that now has that pid lives on.
func TestRunKillUnknownPIDStart(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "old", "true")
	host, _ := os.Hostname()
	raw := openRaw(t, filepath.Join(s.configDir(), "troc.db"))
	for _, tc := range []struct{ name, pidStart string }{{"NULL", "NULL"}, {"zero", "0"}} {
		t.Run(tc.name, func(t *testing.T) {
			bystander := exec.Command("sleep", "300")
			if err := bystander.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { bystander.Process.Kill(); bystander.Wait() }()
			pid := bystander.Process.Pid
			if _, err := raw.Exec(`UPDATE runs SET status = 'Running', end_ms = NULL, exit_code = NULL,
				pid = ?, pid_start = `+tc.pidStart+`, host = ? WHERE id = 1`, pid, host); err != nil {
				t.Fatal(err)
			}
			res := s.troc("run", "kill", "-r", "1", "--force", "--signal", "KILL")
			want := fmt.Sprintf("troc: run 1: the start time of process %d was not recorded, so troc cannot tell that it is still the run's; no signal sent\n"+
				"troc: hint: see with ps -o lstart,args -p %d whether it is the job, and signal it yourself; troc run term -r 1 marks the run Terminated\n", pid, pid)
			if res.code != 1 || res.stderr != want || res.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1, nothing on stdout, stderr:\n%s", res.code, res.stdout, res.stderr, want)
			}
			if !alive(pid) {
				t.Fatal("the process that has the run's pid was signalled")
			}
		})
	}
}

// TestOrphans: a troc killed with SIGKILL leaves a Running row; once its
// job is gone too, the next command that reads runs marks it Terminated.
func TestOrphans(t *testing.T) {
	s := newSandbox(t)
	gate := filepath.Join(s.dir, "gate")
	troc, run := s.startJob("victim", "while [ ! -e "+gate+" ]; do sleep 0.01; done")
	troc.Process.Kill()
	troc.Wait()

	// The job outlives its troc: while it runs, the run is Running.
	var runs []runJSON
	jsonOf(t, s.mustTroc(0, "run", "list", "--json"), &runs)
	if runs[0].Status != StatusRunning {
		t.Fatalf("status while the job runs = %s, want Running", runs[0].Status)
	}
	os.WriteFile(gate, nil, 0o600)
	waitFor(t, "the job to end", func() bool { return !alive(run.PID) })

	res := s.mustTroc(0, "run", "list", "--json")
	jsonOf(t, res, &runs)
	if runs[0].Status != StatusTerminated || runs[0].Note == nil || *runs[0].Note != orphanNote || runs[0].EndTime == nil {
		t.Errorf("orphan = %s, note %q, end %q; want Terminated, %q, an end", runs[0].Status, deref(runs[0].Note), deref(runs[0].EndTime), orphanNote)
	}
	if !strings.Contains(res.stderr, "Run 1 of victim marked Terminated: "+orphanNote) {
		t.Errorf("stderr = %q, want it to contain %q", res.stderr, "Run 1 of victim marked Terminated: "+orphanNote)
	}
}

// TestOrphansWhileLocked: a run whose process is gone while its job's lock
// is still held has a troc recording its end: it is left alone until the
// lock is free.
func TestOrphansWhileLocked(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "finishing", "true")
	lock, err := lockJob(filepath.Join(s.configDir(), "locks"), "finishing")
	if err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	gone.Run()
	host, _ := os.Hostname()
	r := &Run{Job: "finishing", Status: StatusRunning, Start: time.Now(), PID: gone.Process.Pid, PIDStart: 1, Host: host, Command: "c"}
	if err := s.history().insertRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	var runs []runJSON
	jsonOf(t, s.mustTroc(0, "run", "list", "--json"), &runs)
	if runs[0].Status != StatusRunning {
		t.Errorf("with its lock held: %s, want Running", runs[0].Status)
	}
	lock.Close()
	jsonOf(t, s.mustTroc(0, "run", "list", "--json"), &runs)
	if runs[0].Status != StatusTerminated {
		t.Errorf("with its lock free: %s, want Terminated", runs[0].Status)
	}
}

// TestRunListDisplay: colour only on a terminal without NO_COLOR, and
// times in local time unless localtime is false.
func TestRunListDisplay(t *testing.T) {
	s := newSandbox(t)
	s.env = append(s.env, "TZ=Asia/Tokyo")
	s.mustTroc(3, "exec", "--name", "red", "exit 3")
	onTerminal := func(env ...string) string {
		t.Helper()
		master, slave := openPTY(t)
		cmd := s.command("run", "list")
		cmd.Env = append(cmd.Env, env...)
		cmd.Stdout = slave
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		b, _ := io.ReadAll(master) // ends with EIO once the slave is closed
		return string(b)
	}
	if out := onTerminal(); !strings.Contains(out, "\x1b[31m❌ Failed\x1b[0m") {
		t.Errorf("on a terminal, no red Failed:\n%q", out)
	}
	if out := onTerminal("NO_COLOR=1"); strings.Contains(out, "\x1b[") || !strings.Contains(out, "❌ Failed") {
		t.Errorf("with NO_COLOR:\n%q\nwant no colour codes and \"❌ Failed\"", out)
	}

	var runs []runJSON
	jsonOf(t, s.mustTroc(0, "run", "list", "--json"), &runs)
	if !strings.HasSuffix(*runs[0].StartTime, "+09:00") {
		t.Errorf("local start time = %s, want Tokyo's +09:00", *runs[0].StartTime)
	}
	s.env = append(s.env, "TROC_LOCALTIME=false")
	jsonOf(t, s.mustTroc(0, "run", "list", "--json"), &runs)
	if !strings.HasSuffix(*runs[0].StartTime, "Z") {
		t.Errorf("UTC start time = %s, want Z", *runs[0].StartTime)
	}
}
