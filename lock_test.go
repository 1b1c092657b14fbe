package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	if held, err := lockHeld(dir, "j"); err != nil || held {
		t.Errorf("no lock file: held = %t, %v; want false, nil", held, err)
	}
	f, err := lockJob(dir, "j")
	if err != nil {
		t.Fatal(err)
	}
	if held, err := lockHeld(dir, "j"); err != nil || !held {
		t.Errorf("while locked: held = %t, %v; want true, nil", held, err)
	}
	if held, _ := lockHeld(dir, "other"); held {
		t.Error("another job's lock counts")
	}
	f.Close()
	if held, err := lockHeld(dir, "j"); err != nil || held {
		t.Errorf("after release: held = %t, %v; want false, nil", held, err)
	}
}

// TestExecTrocKilled: troc SIGKILLed while its job runs (the OOM killer,
// kill -9) frees its flock, but not the job's lock: the next run is
// Skipped while the job lives, and orphan marking ends the first run once
// the job has gone.
func TestExecTrocKilled(t *testing.T) {
	s := newSandbox(t)
	pidFile, stop := filepath.Join(s.dir, "pid"), filepath.Join(s.dir, "stop")
	cmd := s.command("exec", "--name", "long", "echo $$ > "+pidFile+"; while [ ! -e "+stop+" ]; do sleep 0.05; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to start", func() bool { return strings.HasSuffix(contentOf(pidFile), "\n") })
	waitFor(t, "the job's pid in its lock", func() bool {
		return strings.HasPrefix(contentOf(filepath.Join(s.configDir(), "locks", "long.lock")), strings.TrimSpace(contentOf(pidFile))+" ")
	})
	waitFor(t, "the run in the history", func() bool { return len(s.runs()) == 1 })
	cmd.Process.Kill()
	cmd.Wait()
	job, _ := strconv.Atoi(strings.TrimSpace(contentOf(pidFile)))
	if !alive(job) {
		t.Fatal("the job died with troc; the test needs it alive")
	}

	res := s.troc("exec", "--name", "long", "echo second")
	r := res.run(t)
	want := fmt.Sprintf("the previous run's troc died and its job (pid %d) still runs", job)
	if res.code != exitSkipped || r.Status != StatusSkipped || !strings.Contains(deref(r.Note), want) {
		t.Errorf("exit %d, %s, note %q; want %d, Skipped, %q", res.code, r.Status, deref(r.Note), exitSkipped, want)
	}
	// A run that starts no job still has its system log, whole: it is
	// made beside the set-up, and the run waits for it before it is
	// recorded.
	if r.SystemLogFile == nil {
		t.Errorf("the Skipped run has no system log")
	} else if sys := contentOf(*r.SystemLogFile); !strings.Contains(sys, "Logging to "+*r.SystemLogFile) || !strings.Contains(sys, "still running") {
		t.Errorf("system log of the Skipped run = %q, want its Logging to line and the skip", sys)
	}
	if runs := s.runs(); runs[0].Status != StatusRunning {
		t.Errorf("first run = %s while its job runs, want Running", runs[0].Status)
	}

	os.WriteFile(stop, nil, 0o600)
	waitFor(t, "the job to end", func() bool { return !alive(job) })
	s.mustTroc(0, "run", "list")
	if runs := s.runs(); runs[0].Status != StatusTerminated {
		t.Errorf("first run = %s once its job ended, want Terminated", runs[0].Status)
	}
	if r := s.troc("exec", "--name", "long", "true").run(t); r.Status != StatusSucceeded {
		t.Errorf("a run after the job ended: %s, want Succeeded", r.Status)
	}
}

// TestExecLockIgnoresTMPDIR: the lock does not follow the caller's TMPDIR
// (libpam-tmpdir, a login shell), and survives a tmp cleaner emptying it.
func TestExecLockIgnoresTMPDIR(t *testing.T) {
	s := newSandbox(t)
	ready, stop := filepath.Join(s.dir, "ready"), filepath.Join(s.dir, "stop")
	first := s.command("exec", "--name", "j", "touch "+ready+"; while [ ! -e "+stop+" ]; do sleep 0.05; done")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { os.WriteFile(stop, nil, 0o600); first.Wait() }()
	waitFor(t, "the first run to start", func() bool { _, err := os.Stat(ready); return err == nil })

	other := t.TempDir()
	s.env = append(s.env, "TMPDIR="+other)
	if res := s.troc("exec", "--name", "j", "true"); res.code != exitSkipped {
		t.Errorf("with another TMPDIR: exit %d, want %d (Skipped)\n%s", res.code, exitSkipped, res.stderr)
	}
	entries, _ := os.ReadDir(s.tmp)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(s.tmp, e.Name()))
	}
	if res := s.troc("exec", "--name", "j", "true"); res.code != exitSkipped {
		t.Errorf("with TMPDIR emptied: exit %d, want %d (Skipped)\n%s", res.code, exitSkipped, res.stderr)
	}
}

// TestLockFileReplaced: a lock taken on a file that is no longer at its
// path does not count; lockJob takes the one that is.
func TestLockFileReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.lock")
	f, err := lockJob(dir, "j")
	if err != nil {
		t.Fatal(err)
	}
	held, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if !isFileAt(held, path) {
		t.Fatalf("isFileAt = false on the file just locked; want true")
	}
	os.Remove(path)
	os.WriteFile(path, nil, 0o600)
	if isFileAt(held, path) {
		t.Error("isFileAt says a replaced file is the one locked")
	}
	f.Close()
}

// TestMarkStarting: the mark written just before the fork names the job's
// output pipe and the moment, lockedJob reads them back, and pipeHolder
// finds the process that writes to that pipe, only if it started since.
func TestMarkStarting(t *testing.T) {
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "j.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("123456789 987654321\nj\n") // the previous run's, longer than "0 0"
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := markStarting([]*os.File{f}, w, "j"); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	syscall.Fstat(int(w.Fd()), &st)
	prev := lockedJob(f)
	if prev == nil || prev.pid != 0 || prev.job != "j" || prev.pipe != st.Ino || prev.since <= 0 {
		t.Fatalf("lockedJob after markStarting = %+v; want pid 0, job j, pipe %d, a moment", prev, st.Ino)
	}
	if pid, _ := pipeHolder(prev.pipe, prev.since); pid != 0 {
		t.Errorf("pipeHolder found pid %d before any process has the pipe (the test's own is not one)", pid)
	}
	job := exec.Command("sleep", "30")
	job.Stdout = w
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer func() { job.Process.Kill(); job.Wait() }()
	pid, start := pipeHolder(prev.pipe, prev.since)
	if pid != job.Process.Pid || !processAlive(pid, start) {
		t.Errorf("pipeHolder = %d, %d; want the job, %d, alive", pid, start, job.Process.Pid)
	}
	if pid, _ := pipeHolder(prev.pipe, start+1); pid != 0 {
		t.Errorf("pipeHolder found pid %d, which started before the mark's moment", pid)
	}
	if err := markLocks([]*os.File{f}, job.Process.Pid, start, "j"); err != nil {
		t.Fatal(err)
	}
	// Every mark has the same length, and covers the one before whole.
	want := fmt.Sprintf("%d %d\nj\n", job.Process.Pid, start)
	want += strings.Repeat(" ", markSize-1-len(want)) + "\n"
	if got := contentOf(f.Name()); got != want {
		t.Errorf("after markLocks the lock file holds %q, want %q", got, want)
	}
}

// TestPipeHolderOtherUser: a process of another user that has the job's
// pipe is not taken for the job, even by root's troc, which can see it.
func TestPipeHolderOtherUser(t *testing.T) {
	needRoot(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var st syscall.Stat_t
	syscall.Fstat(int(w.Fd()), &st)
	since, err := bootTicks()
	if err != nil {
		t.Fatal(err)
	}
	theirs := exec.Command("sleep", "30")
	theirs.Stdout = w
	theirs.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if err := theirs.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { theirs.Process.Kill(); theirs.Wait() }()
	if pid, _ := pipeHolder(st.Ino, since); pid != 0 {
		t.Errorf("pipeHolder = %d, nobody's sleep; want 0", pid)
	}
	ours := exec.Command("sleep", "30")
	ours.Stdout = w
	if err := ours.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ours.Process.Kill(); ours.Wait() }()
	if pid, _ := pipeHolder(st.Ino, since); pid != ours.Process.Pid {
		t.Errorf("pipeHolder = %d; want %d, root's sleep beside nobody's", pid, ours.Process.Pid)
	}
}

// TestExecTrocKilledAtStart: troc SIGKILLed between marking the job's
// start and writing its pid (the fork's few microseconds) leaves the lock
// free and no pid in it. The next run finds the job by its output pipe and
// is Skipped while it lives; once it has gone, runs start again.
func TestExecTrocKilledAtStart(t *testing.T) {
	s := newSandbox(t)
	s.mustTroc(0, "exec", "--name", "long", "true")
	lock := filepath.Join(s.configDir(), "locks", "long.lock")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// What the killed troc left: its mark, and its job writing to its pipe.
	f, err := os.OpenFile(lock, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = markStarting([]*os.File{f}, w, "long")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	mark := contentOf(lock)
	job := exec.Command("sleep", "30")
	job.Stdout = w
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r.Close()
	defer func() { job.Process.Kill(); job.Wait() }()

	res := s.troc("exec", "--name", "long", "echo second")
	run := res.run(t)
	want := fmt.Sprintf("the previous run's troc died and its job (pid %d) still runs", job.Process.Pid)
	if res.code != exitSkipped || run.Status != StatusSkipped || !strings.Contains(deref(run.Note), want) {
		t.Errorf("exit %d, %s, note %q; want %d, Skipped, %q", res.code, run.Status, deref(run.Note), exitSkipped, want)
	}
	if got := contentOf(lock); got != mark {
		t.Errorf("the Skipped run changed the lock file to %q, want %q kept", got, mark)
	}

	job.Process.Kill()
	job.Wait()
	if run := s.troc("exec", "--name", "long", "true").run(t); run.Status != StatusSucceeded {
		t.Errorf("a run after the job ended: %s, want Succeeded", run.Status)
	}
	var pid, start int
	if got := contentOf(lock); strings.Contains(got, "starting") || !strings.HasSuffix(strings.TrimRight(got, " \n"), "\nlong") {
		t.Errorf("after a run the lock file holds %q, want its job's pid and name only", got)
	} else if _, err := fmt.Sscanf(got, "%d %d\n", &pid, &start); err != nil || pid == 0 {
		t.Errorf("after a run the lock file holds %q, want its job's pid first", got)
	}
}
