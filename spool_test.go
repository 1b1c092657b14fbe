package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// spoolFixture is a history and a spool directory, with a logger whose
// lines the test can read.
type spoolFixture struct {
	db    *DB
	dir   string
	lines *bytes.Buffer
	log   *slog.Logger
}

func newSpoolFixture(t *testing.T) *spoolFixture {
	t.Helper()
	dir := t.TempDir()
	var lines bytes.Buffer
	log := slog.New(slog.NewTextHandler(&lines, nil))
	db, err := openDB(filepath.Join(dir, "troc.db"), 0, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &spoolFixture{db: db, dir: filepath.Join(dir, "spool"), lines: &lines, log: log}
}

func (f *spoolFixture) spool(t *testing.T, r *Run) string {
	t.Helper()
	path, err := spoolRun([]string{f.dir}, r)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func (f *spoolFixture) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.sql.QueryRow(`SELECT count(*) FROM runs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func finishedRun(job string) *Run {
	start := time.UnixMilli(1_700_000_000_000).UTC()
	code := 0
	return &Run{Job: job, Status: StatusSucceeded, Start: start, End: start.Add(time.Second),
		ExitCode: &code, Host: "h", Command: "true", OutputBytes: 7, Note: "n"}
}

func TestReplaySpoolOnce(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	r := finishedRun("spooled")
	path := f.spool(t, r)
	data, _ := os.ReadFile(path)

	f.replay(ctx)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("spool file still there: %v", err)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
	got, err := f.db.getRun(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Job != "spooled" || got.Status != StatusSucceeded || !got.Start.Equal(r.Start) || !got.End.Equal(r.End) ||
		*got.ExitCode != 0 || got.OutputBytes != 7 || got.Note != "n" {
		t.Errorf("replayed run = %+v, want the spooled run: spooled, Succeeded, exit 0, 7 bytes, note \"n\", its start and end", got)
	}

	// A troc that died between the insert and deleting the file leaves
	// the file behind: replaying it again must not record the run twice.
	os.WriteFile(path, data, 0o600)
	f.replay(ctx)
	if n := f.count(t); n != 1 {
		t.Errorf("%d runs after a second replay, want 1", n)
	}
}

func TestReplaySpoolFinishesKnownRun(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	r := finishedRun("j")
	r.Status, r.End, r.ExitCode = StatusRunning, time.Time{}, nil
	if err := f.db.insertRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	// The end could not be written; it went to the spool.
	code := 4
	r.Status, r.End, r.ExitCode = StatusFailed, r.Start.Add(time.Minute), &code
	f.spool(t, r)
	f.replay(ctx)
	got, _ := f.db.getRun(ctx, r.ID)
	if f.count(t) != 1 || got.Status != StatusFailed || *got.ExitCode != 4 {
		t.Errorf("run = %+v, %d runs; want Failed with exit 4, 1 run", got, f.count(t))
	}

	// The same id in a history that never saw that start: a new row, not
	// someone else's run overwritten.
	other := finishedRun("j")
	other.ID = r.ID
	other.Start = other.Start.Add(time.Hour)
	other.End = other.Start.Add(time.Second)
	f.spool(t, other)
	f.replay(ctx)
	if f.count(t) != 2 {
		t.Errorf("%d runs, want 2", f.count(t))
	}
	if got, _ := f.db.getRun(ctx, r.ID); got.Status != StatusFailed {
		t.Errorf("run %d was overwritten: %+v", r.ID, got)
	}
}

func TestReplaySpoolRunning(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	self, err := procStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	alive := finishedRun("alive")
	alive.Status, alive.End, alive.ExitCode = StatusRunning, time.Time{}, nil
	alive.PID, alive.PIDStart = os.Getpid(), self
	alivePath := f.spool(t, alive)

	gone := finishedRun("gone")
	gone.Status, gone.End, gone.ExitCode = StatusRunning, time.Time{}, nil
	gone.PID, gone.PIDStart = os.Getpid(), self+1 // the pid now belongs to someone else
	f.spool(t, gone)

	os.WriteFile(filepath.Join(f.dir, "junk.json"), []byte("{not json"), 0o600)

	f.replay(ctx)
	if _, err := os.Stat(alivePath); err != nil {
		t.Errorf("the live run's spool file was taken: %v", err)
	}
	if f.count(t) != 1 {
		t.Fatalf("%d runs, want 1", f.count(t))
	}
	got, _ := f.db.getRun(ctx, 1)
	if got.Job != "gone" || got.Status != StatusTerminated || !strings.Contains(got.Note, "troc exited without recording an end") {
		t.Errorf("run = %+v, want gone, Terminated, a note containing \"troc exited without recording an end\"", got)
	}
	if !strings.Contains(f.lines.String(), "junk.json") {
		t.Errorf("no warning about the junk file:\n%s", f.lines)
	}
}

// replay replays the fixture's spool, with no job's lock held.
func (f *spoolFixture) replay(ctx context.Context) {
	replaySpool(ctx, f.db, []string{f.dir}, func(string) bool { return false }, f.log)
}

// TestReplaySpoolRunOfLiveTroc: a spooled Running run whose job has exited
// is not an orphan while its troc lives or its job's lock is held; once
// neither holds it is, and its real end, if it comes after all, replaces
// the presumed one.
func TestReplaySpoolRunOfLiveTroc(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	self, err := procStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r := finishedRun("job")
	r.Status, r.End, r.ExitCode = StatusRunning, time.Time{}, nil
	r.PID, r.PIDStart = os.Getpid(), self+1 // the job is gone
	r.TrocPID, r.TrocStart = os.Getpid(), self
	path := f.spool(t, r)

	f.replay(ctx)
	if _, err := os.Stat(path); err != nil || f.count(t) != 0 {
		t.Fatalf("the run of a live troc was replayed (%v, %d runs)", err, f.count(t))
	}
	r.TrocStart = self + 1 // its troc is gone too, but the lock is held
	f.spool(t, r)
	replaySpool(ctx, f.db, []string{f.dir}, func(job string) bool { return job == "job" }, f.log)
	if f.count(t) != 0 {
		t.Fatal("the run was replayed while its job's lock was held")
	}

	f.replay(ctx)
	got, err := f.db.getRun(ctx, 1)
	if err != nil || got.Status != StatusTerminated {
		t.Fatalf("run = %+v, %v; want it Terminated", got, err)
	}
	// The real end arrives under the same key.
	end := *r
	end.Status, end.End, end.ExitCode, end.Note = StatusSucceeded, r.Start.Add(time.Second), ptr(0), "n"
	f.spool(t, &end)
	f.replay(ctx)
	got, _ = f.db.getRun(ctx, 1)
	if f.count(t) != 1 || got.Status != StatusSucceeded || got.Note != "n" {
		t.Errorf("run = %s %q (%d runs), want the real end, Succeeded", got.Status, got.Note, f.count(t))
	}
	// A presumed end never replaces a real one.
	mark := end
	mark.Status, mark.Inferred, mark.Note = StatusTerminated, true, orphanNote
	f.spool(t, &mark)
	f.replay(ctx)
	if got, _ = f.db.getRun(ctx, 1); got.Status != StatusSucceeded {
		t.Errorf("status = %s after a presumed end, want Succeeded", got.Status)
	}
	if n := strings.Count(f.lines.String(), "Replayed spooled run of job"); n != 3 {
		t.Errorf("%d lines say a run was replayed, want 3 (one per file):\n%s", n, f.lines)
	}
}

// TestReplaySpoolLateEndAfterMark: a run marked Terminated in the history
// (run term, orphan marking) takes its real end when that arrives.
func TestReplaySpoolLateEndAfterMark(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	r := finishedRun("job")
	r.Status, r.End, r.ExitCode = StatusRunning, time.Time{}, nil
	if err := f.db.insertRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := f.db.terminateRun(ctx, r.ID, r.Start.Add(time.Minute), "marked by hand"); err != nil {
		t.Fatal(err)
	}
	r.Status, r.End, r.ExitCode = StatusSucceeded, r.Start.Add(time.Second), ptr(0)
	f.spool(t, r)
	f.replay(ctx)
	got, err := f.db.getRun(ctx, r.ID)
	if err != nil || got.Status != StatusSucceeded || !got.End.Equal(r.End) {
		t.Errorf("run = %+v, %v; want its real end", got, err)
	}
}

// TestReplaySpoolOnlyOwnFiles: a spool file that troc could not have
// written (readable by others, a FIFO, a symlink) is left alone, and
// replay does not block on it.
func TestReplaySpoolOnlyOwnFiles(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	open := f.spool(t, finishedRun("open"))
	os.Chmod(open, 0o644)
	if err := syscall.Mkfifo(filepath.Join(f.dir, "fifo.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := f.spool(t, finishedRun("target"))
	os.Rename(target, target+".elsewhere")
	os.Symlink(target+".elsewhere", filepath.Join(f.dir, "link.json"))

	done := make(chan struct{})
	go func() { f.replay(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("replay blocked on a FIFO")
	}
	if f.count(t) != 0 {
		t.Errorf("%d runs replayed from files troc did not write, want 0", f.count(t))
	}
	for _, name := range []string{filepath.Base(open), "fifo.json", "link.json"} {
		if !strings.Contains(f.lines.String(), name) {
			t.Errorf("nothing said about %s:\n%s", name, f.lines)
		}
	}
}

// TestReplaySpoolUntrustedDir: a spool directory that others may write in
// is not replayed, and troc says so; one that does not exist is passed
// over in silence.
func TestReplaySpoolUntrustedDir(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	f.spool(t, finishedRun("planted"))
	os.Chmod(f.dir, 0o777)
	missing := filepath.Join(filepath.Dir(f.dir), "no-spool")
	replaySpool(ctx, f.db, []string{missing, f.dir}, func(string) bool { return false }, f.log)
	if n := f.count(t); n != 0 {
		t.Errorf("%d runs replayed from a directory every user may write in, want 0", n)
	}
	if want := "Spool directory " + f.dir + " not replayed"; !strings.Contains(f.lines.String(), want) {
		t.Errorf("log = %q, want a line containing %q", f.lines, want)
	}
	if strings.Contains(f.lines.String(), missing) {
		t.Errorf("log = %q, want nothing said of the missing %s", f.lines, missing)
	}
}
