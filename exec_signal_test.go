package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExecSignalToTroc(t *testing.T) {
	// SIGQUIT (Ctrl-\) and SIGABRT would end a Go program with a dump of
	// its goroutines, leaving the job unsupervised and its lock free.
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGABRT} {
		t.Run(signalName(sig), func(t *testing.T) {
			s := newSandbox(t)
			pidFile := filepath.Join(s.dir, "child.pid")
			// The job and a child of its own: both must get the signal.
			cmd := s.command("exec", "--name", "long", "sh -c 'echo $$ > "+pidFile+"; exec sleep 300'; echo after")
			var out, errb syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the job's child", func() bool {
				b, _ := os.ReadFile(pidFile)
				return strings.HasSuffix(string(b), "\n")
			})
			child, _ := strconv.Atoi(strings.TrimSpace(fileContent(t, pidFile)))
			// While it runs, the history names the job's process exactly.
			var runs []*Run
			waitFor(t, "the run's start in the history", func() bool {
				runs = s.runs()
				return len(runs) == 1
			})
			if runs[0].Status != StatusRunning || !processAlive(runs[0].PID, runs[0].PIDStart) {
				t.Errorf("history while running = %+v, want Running with a live process", runs[0])
			}
			cmd.Process.Signal(sig)
			cmd.Wait()
			if got, want := cmd.ProcessState.ExitCode(), 128+int(sig); got != want {
				t.Errorf("exit = %d, want %d\n%s", got, want, errb.String())
			}
			if strings.Contains(errb.String(), "goroutine ") {
				t.Errorf("troc died with a dump:\n%s", errb.String())
			}
			r := result{stdout: out.String()}.run(t)
			if r.Status != "Terminated" || deref(r.Signal) != signalName(sig) {
				t.Errorf("status, signal = %s, %s; want Terminated, %s", r.Status, deref(r.Signal), signalName(sig))
			}
			if !strings.Contains(deref(r.Note), "troc received "+signalName(sig)) {
				t.Errorf("note = %q, want it to contain %q", deref(r.Note), "troc received "+signalName(sig))
			}
			waitFor(t, "the job's child to die", func() bool { return !alive(child) })
		})
	}
}

func TestExecTimeout(t *testing.T) {
	s := newSandbox(t)
	pidFile := filepath.Join(s.dir, "child.pid")
	// The job ignores SIGTERM and starts a child that ignores it too and
	// keeps the output pipe open.
	start := time.Now()
	res := s.troc("exec", "--name", "slow", "--timeout", "300ms", "--kill-after", "500ms",
		"trap '' TERM; sleep 300 & echo $! > "+pidFile+"; while :; do sleep 0.1; done")
	if res.code != exitTimedOut {
		t.Errorf("exit = %d, want %d\n%s", res.code, exitTimedOut, res.stderr)
	}
	r := res.run(t)
	if r.Status != "TimedOut" || deref(r.Signal) != "SIGKILL" {
		t.Errorf("status, signal = %s, %s; want TimedOut, SIGKILL", r.Status, deref(r.Signal))
	}
	if !strings.Contains(deref(r.Note), "SIGKILL sent after 500ms") {
		t.Errorf("note = %q, want it to contain %q", deref(r.Note), "SIGKILL sent after 500ms")
	}
	child, _ := strconv.Atoi(strings.TrimSpace(fileContent(t, pidFile)))
	waitFor(t, "the background child to die", func() bool { return !alive(child) })
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("troc took %v for a 300ms timeout", d)
	}

	// A job whose default timeout is stored is held to it.
	db := s.history()
	if _, err := db.sql.Exec(`UPDATE jobs SET timeout_ms = 200 WHERE name = 'slow'`); err != nil {
		t.Fatal(err)
	}
	res = s.troc("exec", "--name", "slow", "sleep 300")
	if r := res.run(t); res.code != exitTimedOut || r.Status != "TimedOut" || deref(r.Signal) != "SIGTERM" {
		t.Errorf("job default timeout: exit, status, signal = %d, %s, %s; want %d, TimedOut, SIGTERM", res.code, r.Status, deref(r.Signal), exitTimedOut)
	}
}

// TestExecSignalDuringSetup sends SIGTERM while troc is still setting up
// (here: reading a config file that is a FIFO, so troc waits on it): the
// job must not start at all.
func TestExecSignalDuringSetup(t *testing.T) {
	s := newSandbox(t)
	fifo := filepath.Join(s.dir, "setup")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = append(s.env, "TEST_TROC_SETUP_FIFO="+fifo, "TROC_LOCALTIME=false")
	marker := filepath.Join(s.dir, "ran")
	cmd := s.command("exec", "--name", "j", "touch "+marker)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Opening a FIFO's write end without blocking succeeds only once a
	// reader has it open: then troc is setting up, and has long been
	// watching for signals.
	var w *os.File
	waitFor(t, "troc to reach its set-up", func() bool {
		var err error
		w, err = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		return err == nil
	})
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "troc to take the signal", func() bool {
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		return bytes.Contains(status, []byte("\nShdPnd:\t0000000000000000\n"))
	})
	w.Close()
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 128+15 {
		t.Errorf("exit = %d, want %d\n%s", code, 128+15, errb.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the job ran after troc was told to stop")
	}
	r := result{stdout: out.String()}.run(t)
	if r.Status != StatusTerminated || deref(r.Signal) != "SIGTERM" || r.PID != nil || !strings.HasSuffix(*r.StartTime, "Z") {
		t.Errorf("status, signal, pid, start = %s, %s, %v, %s; want Terminated, SIGTERM, nil, a UTC time", r.Status, deref(r.Signal), r.PID, *r.StartTime)
	}
}

// TestExecSignalDispositions: the job starts with the signal dispositions
// troc was given (nohup's ignored SIGHUP stays ignored), and with none of
// troc's own (SIGPIPE and SIGXFSZ, which troc catches, are default again).
func TestExecSignalDispositions(t *testing.T) {
	s := newSandbox(t)
	exe, _ := os.Executable()
	cmd := exec.Command("sh", "-c", `trap "" HUP; exec "$0" exec --name sig "grep SigIgn /proc/self/status"`, exe)
	cmd.Env = s.environ()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	r := result{stdout: string(out)}.run(t)
	line := strings.TrimSpace(fileContent(t, *r.LogFile))
	mask, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "SigIgn:")), 16, 64)
	if err != nil {
		t.Fatalf("cannot read the job's ignored signals from %q", line)
	}
	ignored := func(sig syscall.Signal) bool { return mask&(1<<(sig-1)) != 0 }
	if !ignored(syscall.SIGHUP) {
		t.Error("SIGHUP, ignored by troc's parent, is not ignored by the job")
	}
	for _, sig := range []syscall.Signal{syscall.SIGPIPE, syscall.SIGXFSZ, syscall.SIGTERM, syscall.SIGINT} {
		if ignored(sig) {
			t.Errorf("the job ignores %s", signalName(sig))
		}
	}
}
