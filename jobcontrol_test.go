package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// holdLock starts troc exec with args and a job that runs until release
// exists, and returns once the job runs; the caller ends it with release.
func (s *sandbox) holdLock(args ...string) (release func()) {
	s.t.Helper()
	ready, done := filepath.Join(s.t.TempDir(), "ready"), filepath.Join(s.t.TempDir(), "release")
	cmd := s.command(append(append([]string{"exec"}, args...),
		"touch "+ready+"; while [ ! -e "+done+" ]; do sleep 0.02; done")...)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(s.t, "the holder's job to start", func() bool { _, err := os.Stat(ready); return err == nil })
	return func() {
		os.WriteFile(done, nil, 0o600)
		cmd.Wait()
	}
}

// TestExecSkipExit: a Skipped run exits 75, or --skip-exit's status, or
// the job's setting, which the run's flag overrides.
func TestExecSkipExit(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "job", "add", "--name", "set", "--skip-exit", "3")
	releaseHeld := s.holdLock("--name", "held")
	releaseSet := s.holdLock("--name", "set")
	defer releaseHeld()
	defer releaseSet()
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"default", []string{"--name", "held"}, exitSkipped},
		{"flag", []string{"--name", "held", "--skip-exit", "0"}, 0},
		{"job setting", []string{"--name", "set"}, 3},
		{"flag over job", []string{"--name", "set", "--skip-exit", "9"}, 9},
		{"flag back to default", []string{"--name", "set", "--skip-exit", "default"}, exitSkipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.troc(append(append([]string{"exec"}, tc.args...), "true")...)
			if r := res.run(t); res.code != tc.want || r.Status != StatusSkipped {
				t.Errorf("exit = %d, status %s; want %d, Skipped\n%s", res.code, r.Status, tc.want, res.stderr)
			}
		})
	}
}

// TestExecLockWait: a run waits for its lock up to --lock-wait, starts
// when it has it, and records the wait; Skipped when the wait runs out.
func TestExecLockWait(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "warm", "true")

	t.Run("gets the lock", func(t *testing.T) {
		release := s.holdLock("--name", "w")
		cmd := s.command("exec", "--name", "w", "--lock-wait", "20s", "true")
		var out, errb syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "troc to wait", func() bool { return strings.Contains(errb.String(), "Waiting up to 20s for the lock") })
		time.Sleep(300 * time.Millisecond) // a wait to measure, not a wait for something
		release()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("exec: %v", err)
		}
		r := result{stdout: out.String()}.run(t)
		if r.Status != StatusSucceeded || r.WaitedMS == nil || *r.WaitedMS < 250 || *r.WaitedMS > 15000 {
			t.Errorf("status %s, waited_ms %v; want Succeeded after about 300 ms", r.Status, r.WaitedMS)
		}
		if *r.DurationMS > 5000 {
			t.Errorf("duration_ms = %d, want the run's own, from when it had the lock", *r.DurationMS)
		}
	})

	t.Run("runs out", func(t *testing.T) {
		release := s.holdLock("--name", "w")
		defer release()
		begin := time.Now()
		res := s.troc("exec", "--name", "w", "--lock-wait", "500ms", "true")
		r := res.run(t)
		if res.code != exitSkipped || r.Status != StatusSkipped || r.WaitedMS == nil || *r.WaitedMS < 500 {
			t.Errorf("exit %d, status %s, waited_ms %v; want %d, Skipped, 500 ms or more", res.code, r.Status, r.WaitedMS, exitSkipped)
		}
		if took := time.Since(begin); took > 5*time.Second {
			t.Errorf("troc took %s, want about 500ms", took)
		}
		if runs := s.runs(); runs[len(runs)-1].Waited < 500*time.Millisecond {
			t.Errorf("the history's waited = %s, want 500ms or more", runs[len(runs)-1].Waited)
		}
	})

	t.Run("signal", func(t *testing.T) {
		release := s.holdLock("--name", "w")
		defer release()
		cmd := s.command("exec", "--name", "w", "--lock-wait", "1h", "true")
		var out, errb syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "troc to wait", func() bool { return strings.Contains(errb.String(), "Waiting up to 1h0m0s for the lock") })
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if took := time.Since(sent); took > 3*time.Second {
			t.Errorf("troc took %s to end after SIGTERM, want at once", took)
		}
		r := result{stdout: out.String()}.run(t)
		if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) || r.Status != StatusSkipped ||
			!strings.Contains(deref(r.Note), "troc received SIGTERM while waiting for the lock") {
			t.Errorf("exit %d, status %s, note %q; want %d, Skipped, and why\n%s", code, r.Status, deref(r.Note), 128+int(syscall.SIGTERM), errb.String())
		}
	})

	t.Run("job setting", func(t *testing.T) {
		s.mustTroc(0, "job", "add", "--name", "ws", "--lock-wait", "400ms")
		release := s.holdLock("--name", "ws")
		defer release()
		res := s.troc("exec", "--name", "ws", "true")
		if r := res.run(t); r.Status != StatusSkipped || r.WaitedMS == nil || *r.WaitedMS < 400 {
			t.Errorf("status %s, waited_ms %v; want Skipped after the job's 400ms", r.Status, r.WaitedMS)
		}
		res = s.troc("exec", "--name", "ws", "--lock-wait", "0", "true")
		if r := res.run(t); r.Status != StatusSkipped || r.WaitedMS != nil {
			t.Errorf("with --lock-wait 0: status %s, waited_ms %v; want Skipped at once", r.Status, r.WaitedMS)
		}
	})
}

// TestExecSharedLock: jobs naming one --lock never run at once; the
// Skipped run's note names the job that holds it; and a lock's name never
// meets a job's.
func TestExecSharedLock(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "warm", "true")
	release := s.holdLock("--name", "backup", "--lock", "disk")

	var holder *Run
	waitFor(t, "the holder's run in the history", func() bool {
		for _, r := range s.runs() {
			if r.Job == "backup" && r.Status == StatusRunning {
				holder = r
			}
		}
		return holder != nil
	})
	res := s.troc("exec", "--name", "maint", "--lock", "disk", "true")
	r := res.run(t)
	want := fmt.Sprintf("the lock disk is held by run %d of job backup (pid %d)", holder.ID, holder.PID)
	if res.code != exitSkipped || r.Status != StatusSkipped || deref(r.Note) != want ||
		deref(r.Lock) != "disk" {
		t.Errorf("exit %d, status %s, note %q, lock %v; want %d, Skipped, %q", res.code, r.Status, deref(r.Note), r.Lock, exitSkipped, want)
	}
	// A job named as the lock has a lock of its own.
	if res := s.troc("exec", "--name", "disk", "true"); res.code != 0 {
		t.Errorf("job disk: exit %d, want 0\n%s", res.code, res.stderr)
	}
	// The job's own lock is held too.
	if res := s.troc("exec", "--name", "backup", "true"); res.code != exitSkipped {
		t.Errorf("second run of backup: exit %d, want %d", res.code, exitSkipped)
	}
	// Job setting, and a wait for the shared lock.
	s.mustTroc(0, "job", "add", "--name", "report", "--lock", "disk", "--lock-wait", "30s")
	cmd := s.command("exec", "--name", "report", "true")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "troc to wait", func() bool {
		return strings.Contains(errb.String(), "for the lock: the lock disk is held by a run of job backup")
	})
	release()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("report: %v", err)
	}
	if r := (result{stdout: out.String()}).run(t); r.Status != StatusSucceeded || deref(r.Lock) != "disk" || r.WaitedMS == nil {
		t.Errorf("report: status %s, lock %v, waited %v; want Succeeded under disk after a wait", r.Status, r.Lock, r.WaitedMS)
	}
	s.refuses([]misuse{
		{name: "bad lock name", args: []string{"exec", "--name", "x", "--lock", "../x", "true"}, code: exitUsage, want: `invalid lock name "../x"`},
		{name: "bad lock name in job", args: []string{"job", "add", "--name", "x", "--lock", "_x"}, code: exitUsage, want: `invalid lock name "_x"`},
	})
}

// TestExecJitter: troc sleeps below --jitter before the lock and records
// it; a signal in the sleep ends troc with a Skipped run.
func TestExecJitter(t *testing.T) {
	s := newSandbox(t)
	begin := time.Now()
	res := s.mustTroc(0, "exec", "--name", "j", "--jitter", "300ms", "true")
	took := time.Since(begin)
	r := res.run(t)
	if r.JitterMS == nil || *r.JitterMS < 0 || *r.JitterMS >= 300 {
		t.Fatalf("jitter_ms = %v, want in [0, 300)", r.JitterMS)
	}
	if took < time.Duration(*r.JitterMS)*time.Millisecond {
		t.Errorf("troc took %s, less than the jitter it recorded (%d ms)", took, *r.JitterMS)
	}
	if kept := s.runs()[len(s.runs())-1]; kept.Jitter.Milliseconds() != *r.JitterMS {
		t.Errorf("the history's jitter is %s, want the %d ms printed", kept.Jitter, *r.JitterMS)
	}
	cmd := s.command("exec", "--name", "j", "--jitter", "1h", "true")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "troc to sleep", func() bool { return strings.Contains(errb.String(), "before taking the lock (jitter)") })
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	r = result{stdout: out.String()}.run(t)
	if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGINT) || r.Status != StatusSkipped || r.JitterMS == nil ||
		!strings.Contains(deref(r.Note), "troc received SIGINT while sleeping before taking the lock") {
		t.Errorf("exit %d, status %s, jitter %v, note %q; want %d, Skipped, the jitter and why", code, r.Status, r.JitterMS, deref(r.Note), 128+int(syscall.SIGINT))
	}
}

// TestJobControlSettings: job add and update keep the settings; job show
// and --json show them.
func TestJobControlSettings(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "job", "add", "--name", "j", "--lock", "disk", "--lock-wait", "5m", "--skip-exit", "0",
		"--jitter", "30s", "--retry", "3", "--retry-delay", "1m", "--skip-when-paused")
	var v jobShowJSON
	jsonOf(t, s.mustTroc(0, "job", "show", "--name", "j", "--json"), &v)
	c := v.controlJSON
	if deref(c.Lock) != "disk" || deref(c.LockWaitMS) != 300000 || c.SkipExit == nil || *c.SkipExit != 0 || deref(c.JitterMS) != 30000 ||
		deref(c.Retry) != 3 || deref(c.RetryDelayMS) != 60000 || !c.SkipWhenPaused {
		t.Errorf("settings = %+v", c)
	}
	text := s.mustTroc(0, "job", "show", "--name", "j").stdout
	for _, want := range []string{"shared lock:   disk", "lock wait:     5m00s", "skip exit:     0", "jitter:        30.0s", "retry:         3 times, first after 1m00s", "when paused:   runs are Skipped"} {
		if !strings.Contains(text, want) {
			t.Errorf("job show lacks %q:\n%s", want, text)
		}
	}
	s.mustTroc(0, "job", "update", "--name", "j", "--lock", "", "--lock-wait", "0", "--skip-exit", "default", "--jitter", "0",
		"--retry", "0", "--retry-delay", "0", "--skip-when-paused=false")
	v = jobShowJSON{}
	jsonOf(t, s.mustTroc(0, "job", "show", "--name", "j", "--json"), &v)
	if v.controlJSON != (controlJSON{}) {
		t.Errorf("after clearing, settings = %+v, want none", v.controlJSON)
	}
	s.refuses([]misuse{
		{name: "skip-exit", args: []string{"job", "update", "--name", "j", "--skip-exit", "256"}, code: exitUsage, want: `--skip-exit: "256" is not an exit status`},
		{name: "retry", args: []string{"exec", "--name", "j", "--retry", "x", "true"}, code: exitUsage, want: `--retry: "x" is not a number`},
		{name: "retry over 100", args: []string{"exec", "--name", "j", "--retry", "101", "true"}, code: exitUsage, want: `--retry: "101" is not a number of retries from 0 to 100`},
		{name: "lock-wait", args: []string{"exec", "--name", "j", "--lock-wait", "soon", "true"}, code: exitUsage, want: `--lock-wait: `},
	})
}

// TestExecSharedLockTrocKilled: a shared lock lives as long as the job of
// the run that took it, as a job's own lock does, though its troc is gone.
func TestExecSharedLockTrocKilled(t *testing.T) {
	s := newSandbox(t)
	pidFile, stop := filepath.Join(s.dir, "pid"), filepath.Join(s.dir, "stop")
	cmd := s.command("exec", "--name", "backup", "--lock", "disk", "echo $$ > "+pidFile+"; while [ ! -e "+stop+" ]; do sleep 0.05; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to start", func() bool { return strings.HasSuffix(contentOf(pidFile), "\n") })
	job := strings.TrimSpace(contentOf(pidFile))
	waitFor(t, "the job's pid in the shared lock", func() bool {
		return strings.HasPrefix(contentOf(filepath.Join(s.configDir(), "locks", "_disk.lock")), job+" ")
	})
	cmd.Process.Kill()
	cmd.Wait()
	defer os.WriteFile(stop, nil, 0o600)

	res := s.troc("exec", "--name", "maint", "--lock", "disk", "true")
	want := "the lock disk is held by a run of job backup whose troc died; its job (pid " + job + ") still runs"
	if r := res.run(t); res.code != exitSkipped || r.Status != StatusSkipped || !strings.Contains(deref(r.Note), want) {
		t.Errorf("exit %d, %s, note %q; want %d, Skipped, %q", res.code, r.Status, deref(r.Note), exitSkipped, want)
	}
	os.WriteFile(stop, nil, 0o600)
	waitFor(t, "the shared lock to be free", func() bool {
		return s.troc("exec", "--name", "maint", "--lock", "disk", "true").code == 0
	})
}
