package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// What troc exec shows under cron, where whatever it prints is mailed.

// TestExecQuietStderr: with -q, troc's informational lines stay out of
// stderr, its warnings do not, and a summary of an empty log says so.
func TestExecQuietStderr(t *testing.T) {
	s := newSandbox(t)
	if res := s.troc("exec", "-q", "--name", "job", "true"); res.stdout != "" || res.stderr != "" {
		t.Errorf("a quiet success printed:\n%s\n%s", res.stdout, res.stderr)
	}
	s.env = append(s.env, "TROC_LOGDRI=/srv")
	res := s.troc("exec", "-q", "--name", "job", "exit 4")
	if !strings.Contains(res.stderr, "TROC_LOGDRI names no setting") || strings.Contains(res.stderr, "level=INFO") {
		t.Errorf("stderr = %q, want the warning and no informational line", res.stderr)
	}
	s.env = s.env[:len(s.env)-1]
	res = s.troc("exec", "-q", "--name", "job", "exit 4")
	if !strings.Contains(res.stdout, "last lines of ") || !strings.HasSuffix(res.stdout, ":\n(the log is empty)\n") {
		t.Errorf("summary of an empty log = %q, want it to say the log is empty", res.stdout)
	}
}

// TestExecLogTailOnFullDisk: when the disk fills, the end of the output,
// which people read first, is kept: written after a gap line if space
// comes back before the job ends, else shown from memory.
func TestExecLogTailOnFullDisk(t *testing.T) {
	s := newSandbox(t)
	logs := mountTmpfs(t, s.dir, "256k")
	s.env = append(s.env, "TROC_LOGDIR="+logs)
	s.troc("exec", "--name", "first", "true") // the private directory and its files exist
	fill(t, logs)
	filler, _ := filepath.Glob(filepath.Join(logs, "filler*"))

	job := "head -c 300000 /dev/zero; echo; echo the end; exit 2"
	res := s.troc("exec", "-q", "--name", "full", job)
	if !strings.Contains(res.stdout, "last lines of the output, which the log could not take:") || !strings.HasSuffix(res.stdout, "\nthe end\n") {
		t.Errorf("summary = %q, want the end of the output from memory", res.stdout)
	}

	// Space comes back while the job runs.
	ready, proceed := filepath.Join(s.dir, "ready"), filepath.Join(s.dir, "go")
	job = "head -c 300000 /dev/zero; touch " + ready + "; while [ ! -e " + proceed + " ]; do sleep 0.01; done; echo; echo the end"
	cmd := s.command("exec", "--name", "full", job)
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to fill the disk", func() bool { _, err := os.Stat(ready); return err == nil })
	for _, f := range filler {
		os.Remove(f)
	}
	os.WriteFile(proceed, nil, 0o600)
	cmd.Wait()
	r := result{stdout: out.String()}.run(t)
	log := fileContent(t, *r.LogFile)
	if !strings.Contains(deref(r.Note), "follow the gap") || !strings.Contains(log, "bytes missing here:") || !strings.HasSuffix(log, "\nthe end\n") {
		t.Errorf("note %q, log ends %q; want the end written after the gap", deref(r.Note), log[max(len(log)-200, 0):])
	}
}

// TestExecSignalCaught: a job that catches the SIGTERM troc forwards and
// exits by itself has an exit code and no signal.
func TestExecSignalCaught(t *testing.T) {
	s := newSandbox(t)
	ready := filepath.Join(s.dir, "ready")
	cmd := s.command("exec", "--name", "job", "trap 'exit 3' TERM; touch "+ready+"; sleep 30 & wait")
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to start", func() bool { _, err := os.Stat(ready); return err == nil })
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	r := result{stdout: out.String()}.run(t)
	if r.Status != StatusTerminated || r.Signal != nil || deref(r.ExitCode) != 3 || cmd.ProcessState.ExitCode() != 3 {
		t.Errorf("run = %s, signal %v, exit code %v, troc's %d; want Terminated, no signal, 3, 3",
			r.Status, deref(r.Signal), deref(r.ExitCode), cmd.ProcessState.ExitCode())
	}
}

// TestExecTimeoutZero: --timeout 0 lifts the job's own timeout for one run.
func TestExecTimeoutZero(t *testing.T) {
	s := newSandbox(t)
	s.troc("job", "add", "--name", "job", "--timeout", "1s")
	if r := s.troc("exec", "--name", "job", "sleep 1.5").run(t); r.Status != StatusTimedOut {
		t.Fatalf("status = %s with the job's timeout, want TimedOut", r.Status)
	}
	if r := s.troc("exec", "--name", "job", "--timeout", "0", "sleep 1.5").run(t); r.Status != StatusSucceeded {
		t.Errorf("status = %s with --timeout 0, want Succeeded", r.Status)
	}
}
