package main

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRetryDelay: the delay doubles after each retry, capped at ten
// times the first.
func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		first time.Duration
		n     int
		want  time.Duration
	}{
		{time.Second, 1, time.Second},
		{time.Second, 2, 2 * time.Second},
		{time.Second, 4, 8 * time.Second},
		{time.Second, 5, 10 * time.Second},
		{time.Second, 50, 10 * time.Second},
		{0, 1, defaultRetryDelay},
		{0, 3, 4 * defaultRetryDelay},
	} {
		if got := (jobControl{RetryDelay: tc.first}).retryDelay(tc.n); got != tc.want {
			t.Errorf("retryDelay(%d) after %s = %s, want %s", tc.n, tc.first, got, tc.want)
		}
	}
}

// counting is a job that fails until its nth run, counting its runs in a
// file in dir.
func counting(dir string, n int) string {
	c := filepath.Join(dir, "count")
	return "n=$(cat " + c + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " + c + "; [ $n -ge " + strconv.Itoa(n) + " ] || exit 4"
}

// TestExecRetry: a failed job runs again up to --retry times; each
// attempt is a run linked to the first; troc exits with the last one's
// status; check and notifications see only the final outcome.
func TestExecRetry(t *testing.T) {
	hook := newReceiver(t, nil)
	s := newSandbox(t)
	s.env = append(s.env, "TROC_NOTIFY_WEBHOOK_URL="+hook.URL+"/hook")

	t.Run("succeeds at the third", func(t *testing.T) {
		res := s.troc("exec", "--name", "flaky", "--notify", "--retry", "3", "--retry-delay", "50ms", counting(t.TempDir(), 3))
		r := res.run(t)
		if res.code != 0 || r.Status != StatusSucceeded || deref(r.Attempt) != 3 || r.RetryOf == nil {
			t.Fatalf("exit %d, status %s, attempt %v, retry_of %v; want 0, Succeeded, 3, the first's id\n%s", res.code, r.Status, r.Attempt, r.RetryOf, res.stderr)
		}
		var attempts []int
		for _, run := range s.runs() {
			if run.Job != "flaky" {
				continue
			}
			attempts = append(attempts, run.Attempt)
			wantRetried := run.Attempt < 3
			if run.Retried != wantRetried || run.Attempt > 1 && run.RetryOf != *r.RetryOf || run.Attempt == 1 && run.ID != *r.RetryOf {
				t.Errorf("attempt %d: status %s, retried %t, retry_of %d; want retried %t, linked to run %d", run.Attempt, run.Status, run.Retried, run.RetryOf, wantRetried, *r.RetryOf)
			}
		}
		if !slices.Equal(attempts, []int{1, 2, 3}) {
			t.Errorf("attempts %v, want [1 2 3]", attempts)
		}
		if got := events(t, hook.take()); !slices.Equal(got, []string{"end/0"}) {
			t.Errorf("notices %q, want one, of the success (no failure before it counted)", got)
		}
		if res := s.troc("check"); res.code != 0 {
			t.Errorf("check: exit %d, want 0: the job's outcome is its last attempt's\n%s", res.code, res.stdout)
		}
	})

	t.Run("fails every time", func(t *testing.T) {
		res := s.troc("exec", "--name", "broken", "--notify", "--retry", "2", "--retry-delay", "20ms", "exit 5")
		if r := res.run(t); res.code != 5 || r.Status != StatusFailed || deref(r.Attempt) != 3 {
			t.Errorf("exit %d, status %s, attempt %v; want 5, Failed, 3", res.code, r.Status, r.Attempt)
		}
		if got := events(t, hook.take()); !slices.Equal(got, []string{"failure/1"}) {
			t.Errorf("notices %q, want one failure, the first", got)
		}
	})

	t.Run("job setting", func(t *testing.T) {
		s.mustTroc(0, "job", "add", "--name", "set", "--retry", "1", "--retry-delay", "10ms")
		if r := s.troc("exec", "--name", "set", "exit 6").run(t); deref(r.Attempt) != 2 {
			t.Errorf("attempt %v, want 2: the job's --retry 1", r.Attempt)
		}
		if r := s.troc("exec", "--name", "set", "--retry", "0", "exit 6").run(t); r.Attempt != nil {
			t.Errorf("with --retry 0: attempt %v, want none", r.Attempt)
		}
	})

	t.Run("not after a signal", func(t *testing.T) {
		if r := s.troc("exec", "--name", "killed", "--retry", "3", "kill -TERM $$").run(t); r.Status != StatusTerminated || deref(r.Attempt) != 1 {
			t.Errorf("status %s, attempt %v; want Terminated, no retry", r.Status, r.Attempt)
		}
	})

	t.Run("not after a failed start", func(t *testing.T) {
		res := s.troc("exec", "--name", "nostart", "--retry", "2", "--retry-delay", "10ms", "--", filepath.Join(t.TempDir(), "missing"))
		if r := res.run(t); res.code == 0 || r.Status != StatusFailed || deref(r.Attempt) != 1 {
			t.Errorf("exit %d, status %s, attempt %v; want a failure, Failed, attempt 1 only", res.code, r.Status, r.Attempt)
		}
		n := 0
		for _, r := range s.runs() {
			if r.Job == "nostart" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d runs of a job that could not start, want 1: it is not retried", n)
		}
	})

	t.Run("lock held between attempts", func(t *testing.T) {
		cmd := s.command("exec", "--name", "slowretry", "--retry", "1", "--retry-delay", "1h", "exit 3")
		var out, errb syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		waitFor(t, "the first attempt to fail", func() bool { return strings.Contains(errb.String(), "trying again in 1h") })
		if res := s.troc("exec", "--name", "slowretry", "true"); res.code != exitSkipped {
			t.Errorf("another run during the retry delay: exit %d, want %d", res.code, exitSkipped)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		r := result{stdout: out.String()}.run(t)
		if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) || r.Status != StatusTerminated || deref(r.Attempt) != 2 {
			t.Errorf("exit %d, status %s, attempt %v; want %d, Terminated, 2", code, r.Status, r.Attempt, 128+int(syscall.SIGTERM))
		}
	})
}

// TestExecRetrySpooled: with the history busy, each attempt goes to the
// spool, and every one reaches the history, as its own run, once it is
// free.
func TestExecRetrySpooled(t *testing.T) {
	s := newSandbox(t)
	s.env = append(s.env, "TROC_BUSY_TIMEOUT=500ms")
	s.troc("exec", "--name", "warm", "true")
	release := holdHistory(t, s)
	res := s.troc("exec", "--name", "spooled", "--retry", "2", "--retry-delay", "10ms", "exit 4")
	if r := res.run(t); res.code != 4 || deref(r.Attempt) != 3 || r.ID != nil {
		t.Fatalf("exit %d, attempt %v, id %v; want 4, 3, not recorded yet\n%s", res.code, r.Attempt, r.ID, res.stderr)
	}
	if n := strings.Count(res.stderr, "Run spooled to "); n != 3 {
		t.Errorf("%d runs spooled, want 3\n%s", n, res.stderr)
	}
	release()
	s.mustTroc(0, "run", "list")
	var got []string
	for _, r := range s.runs() {
		if r.Job == "spooled" {
			got = append(got, fmt.Sprintf("%d %s %t", r.Attempt, r.Status, r.Retried))
		}
	}
	slices.Sort(got) // the spool is replayed in no particular order
	if want := []string{"1 Failed true", "2 Failed true", "3 Failed false"}; !slices.Equal(got, want) {
		t.Errorf("runs %q, want %q", got, want)
	}
	if res := s.troc("check"); res.code != 1 || !strings.Contains(res.stdout, "failing") {
		t.Errorf("check: exit %d, want 1 and the job failing\n%s", res.code, res.stdout)
	}
}

// TestRetriedNotRecent: an attempt that troc ran again is not in the
// job's recent runs (its strip), and its start is not one that makes
// the job "started too often": the last attempt stands for the run.
func TestRetriedNotRecent(t *testing.T) {
	s := newSandbox(t)
	res := s.troc("exec", "--name", "flaky", "--retry", "2", "--retry-delay", "20ms", counting(t.TempDir(), 2))
	last := res.run(t)
	if res.code != 0 || deref(last.Attempt) != 2 {
		t.Fatalf("exit %d, attempt %v; want 0, 2\n%s", res.code, last.Attempt, res.stderr)
	}
	var jobs []jobJSON
	jsonOf(t, s.mustTroc(0, "job", "list", "--json"), &jobs)
	if len(jobs) != 1 || len(jobs[0].RecentRuns) != 1 || jobs[0].RecentRuns[0].ID != deref(last.ID) {
		t.Fatalf("recent runs %+v, want only the last attempt, run %d", jobs, deref(last.ID))
	}

	// Two hourly runs, each retried once a minute after it started, in a
	// history whose schedule was set before them.
	db := s.history()
	ctx := context.Background()
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	for i := range 2 {
		first := start.Add(time.Duration(i) * time.Hour)
		var firstID int64
		for attempt := 1; attempt <= 2; attempt++ {
			code, status := 0, StatusSucceeded
			if attempt == 1 {
				code, status = 4, StatusFailed
			}
			r := &Run{Job: "hourly", Status: status, Start: first.Add(time.Duration(attempt-1) * time.Minute), ExitCode: &code,
				Host: "h", Command: "sync", Attempt: attempt, RetryOf: firstID, Retried: attempt == 1}
			r.End = r.Start.Add(10 * time.Second)
			if err := db.insertRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			if attempt == 1 {
				firstID = r.ID
			}
		}
	}
	if _, err := db.sql.Exec(`UPDATE jobs SET schedule = '@every 1h', schedule_ms = ? WHERE name = 'hourly'`,
		start.Add(-time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	var checked []checkJSON
	jsonOf(t, s.mustTroc(0, "check", "--json"), &checked)
	for _, c := range checked {
		if c.Health != HealthOK {
			t.Errorf("check: %s is %s (%s), want ok: retries are not early starts", c.Job, c.Health, deref(c.Reason))
		}
	}
}

// TestNextAttempt checks what an attempt keeps of the one before it: who
// and what runs, linked to the first attempt; nothing of how it went.
func TestNextAttempt(t *testing.T) {
	code := 3
	first := Run{ID: 7, Job: "backup", Status: StatusFailed, Start: time.Unix(100, 0), End: time.Unix(160, 0),
		ExitCode: &code, PID: 42, PIDStart: 9, Host: "web1", Command: "backup.sh", LogFile: "/var/log/troc/a.log",
		SystemLogFile: "/var/log/troc/trocsys_a.log", OutputBytes: 10, Note: "retried", SpoolKey: "k",
		Usage: &Usage{MaxRSS: 1}, Waited: time.Second, Jitter: time.Second, LockName: "db", Attempt: 1,
		Retried: true, Environment: "--cwd /srv", TrocPID: 40, TrocStart: 8}
	want := Run{Job: "backup", Host: "web1", Command: "backup.sh", SystemLogFile: "/var/log/troc/trocsys_a.log",
		LockName: "db", Attempt: 2, RetryOf: 7, Environment: "--cwd /srv", TrocPID: 40, TrocStart: 8}
	second := first.nextAttempt()
	if !reflect.DeepEqual(second, want) {
		t.Errorf("second attempt:\n got %+v\nwant %+v", second, want)
	}
	second.ID = 8
	third := second.nextAttempt()
	want.Attempt, want.RetryOf = 3, 7
	if !reflect.DeepEqual(third, want) {
		t.Errorf("third attempt:\n got %+v\nwant %+v", third, want)
	}
}
