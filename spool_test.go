package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	db, err := openDB(filepath.Join(dir, "troc.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &spoolFixture{db: db, dir: filepath.Join(dir, "spool"), lines: &lines, log: log}
}

func (f *spoolFixture) spool(t *testing.T, r *Run) string {
	t.Helper()
	path, err := spoolRun(f.dir, r)
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

	replaySpool(ctx, f.db, f.dir, f.log)
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
		t.Errorf("replayed run = %+v", got)
	}

	// A troc that died between the insert and deleting the file leaves
	// the file behind: replaying it again must not record the run twice.
	os.WriteFile(path, data, 0o600)
	replaySpool(ctx, f.db, f.dir, f.log)
	if n := f.count(t); n != 1 {
		t.Errorf("%d runs after a second replay, want 1", n)
	}
}

func TestReplaySpoolFinishesKnownRun(t *testing.T) {
	f := newSpoolFixture(t)
	ctx := context.Background()
	r := finishedRun("j")
	r.Status, r.End, r.ExitCode = StatusRunning, time.Time{}, nil
	f.db.ensureJob(ctx, "j", r.Start)
	if err := f.db.insertRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	// The end could not be written; it went to the spool.
	code := 4
	r.Status, r.End, r.ExitCode = StatusFailed, r.Start.Add(time.Minute), &code
	f.spool(t, r)
	replaySpool(ctx, f.db, f.dir, f.log)
	got, _ := f.db.getRun(ctx, r.ID)
	if f.count(t) != 1 || got.Status != StatusFailed || *got.ExitCode != 4 {
		t.Errorf("run = %+v, %d runs", got, f.count(t))
	}

	// The same id in a history that never saw that start: a new row, not
	// someone else's run overwritten.
	other := finishedRun("j")
	other.ID = r.ID
	other.Start = other.Start.Add(time.Hour)
	other.End = other.Start.Add(time.Second)
	f.spool(t, other)
	replaySpool(ctx, f.db, f.dir, f.log)
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

	replaySpool(ctx, f.db, f.dir, f.log)
	if _, err := os.Stat(alivePath); err != nil {
		t.Errorf("the live run's spool file was taken: %v", err)
	}
	if f.count(t) != 1 {
		t.Fatalf("%d runs, want 1", f.count(t))
	}
	got, _ := f.db.getRun(ctx, 1)
	if got.Job != "gone" || got.Status != StatusTerminated || !strings.Contains(got.Note, "troc exited without recording an end") {
		t.Errorf("run = %+v", got)
	}
	if !strings.Contains(f.lines.String(), "junk.json") {
		t.Errorf("no warning about the junk file:\n%s", f.lines)
	}
}
