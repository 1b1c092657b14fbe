package main

// The recorder of troc exec: everything that touches the history, run in
// a goroutine of its own beside the set-up and the job (see the rules at
// the top of exec.go), and the spool for what the history will not take.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// recording is the recorder's side of a run: the job's settings as soon
// as the history has told them, the run from the set-up, and the run as
// it was recorded.
type recording struct {
	job  chan Job      // sent once, when the history is open (or given up)
	runs chan Run      // the run as its job started (Running), if it did; then as it ended
	done chan struct{} // closed when the end is recorded, in the history or the spool
	run  Run           // the run as recorded, once done is closed
}

// newRecording returns a recorder's channels, for recorder to serve.
func newRecording() *recording {
	return &recording{job: make(chan Job, 1), runs: make(chan Run, 2), done: make(chan struct{})}
}

// startRecording starts a recorder in a goroutine of its own: a retry's,
// whose history is open already (exec runs the first one itself).
func (e *execution) startRecording(ctx context.Context) *recording {
	rec := newRecording()
	go e.recorder(ctx, rec)
	return rec
}

// recorder is the recorder: it opens the history, tells the supervisor
// the job's settings, and records the run it is given: the running run if
// the job started (then waits for its end), and the run's end. A job that
// has ended by the time its start would be recorded gets one finished row
// instead of two writes. Each step is bounded: a busy history is waited
// on once (DB.fail), and what it will not take goes to the spool. It
// returns once the end is recorded, closing rec.done.
func (e *execution) recorder(ctx context.Context, rec *recording) {
	defer close(rec.done)
	// With no history yet no job has settings, and the set-up need not
	// wait while this troc makes one (its schema takes a while on a
	// loaded machine).
	fresh := !e.opened && noFileAt(e.cfg.Database) // a retry's recorder has it open
	if fresh {
		rec.job <- Job{Name: e.opts.name}
	}
	if job := e.history(ctx); !fresh {
		rec.job <- job
	}
	run := <-rec.runs
	if !run.finished() {
		e.notifications(ctx).begin(ctx, &run)
		select {
		case final := <-rec.runs:
			run = final
		default:
			e.store(ctx, &run)
			final := <-rec.runs
			final.ID, final.SpoolKey = run.ID, run.SpoolKey
			run = final
		}
	}
	e.store(ctx, &run)
	if e.idLost {
		run.ID = 0
	}
	rec.run = run
}

// recordEnd hands the run at its end to the recorder, waits for it to be
// recorded, and finishes. It is the end of every path once the recorder
// has started: a job that ran, or a run that ended without its job
// running (skipped, not set up, not started, stopped before it started).
func (e *execution) recordEnd(ctx context.Context, code int) error {
	e.record()
	return e.finish(ctx, code)
}

// record hands the run at its end to the recorder and waits for it to be
// recorded.
func (e *execution) record() {
	e.awaitSystemLog()
	e.rec.runs <- e.run
	<-e.rec.done
	e.run = e.rec.run
}

// history opens the history on first use (the database is deliberately
// never closed: see DB in db.go) and returns the job's settings. When it
// cannot be had, history logs why, leaves e.db nil, and the job has
// default settings. It writes nothing unless the schema needs migrating:
// a new job's row is made with its first run (insertRun).
func (e *execution) history(ctx context.Context) Job {
	if e.opened {
		return e.job
	}
	e.opened = true
	e.job = Job{Name: e.opts.name}
	db, err := openDB(e.cfg.Database, e.cfg.BusyTimeout, e.log)
	if err != nil {
		e.historyFailed(err)
		return e.job
	}
	e.db = db
	job, err := db.job(ctx, e.opts.name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		e.newJob = true // its row comes with the run's
	case err != nil:
		e.historyFailed(db.fail(err))
	default:
		e.job = job
	}
	return e.job
}

// historyFailed logs why the history cannot be used and stops using it.
func (e *execution) historyFailed(err error) {
	if errors.Is(err, errWALGone) {
		e.idLost = true
	}
	e.late = historyTrouble(err)
	e.log.Error("History database unavailable, the run will be spooled: " + err.Error())
	e.db = nil
}

// historyTrouble says in a few words why the history could not take a
// run, for the run's note.
func historyTrouble(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, errBusy):
		return "the history was busy"
	case errors.Is(err, errTooNew):
		return "the history was written by a newer troc"
	case errors.Is(err, errCorrupt):
		return "the history is damaged"
	case errors.Is(err, errWALGone):
		return "the history's -wal file was deleted during the run"
	case errors.Is(err, errNotAFile):
		return "the history's path is not a regular file"
	case errors.Is(err, errUntrustedDir):
		return "the history's directory is not troc's own"
	case errors.Is(err, syscall.ENOSPC) || sqliteCode(err) == sqliteFull:
		return "the history's disk was full"
	case errors.As(err, &pe):
		return "the history could not be opened: " + pe.Err.Error()
	}
	return "the history could not be written"
}

// store records the run's current state: a new row (with its end, if it
// has one), the end of the row stored before, or a spool file.
func (e *execution) store(ctx context.Context, r *Run) {
	if e.holder != nil {
		// The run that holds the lock, by its job's pid, if the history
		// has it: a read of the Running runs' index.
		if e.db != nil && e.holder.pid > 0 {
			e.holder.run, _ = e.db.runningRunOf(ctx, e.holder.job, e.holder.pid)
		}
		r.addNote("%v", e.holder)
		e.holder = nil
	}
	if e.db != nil {
		var err error
		if r.ID != 0 {
			err = e.db.finishRun(ctx, r)
		} else {
			err = e.db.insertRun(ctx, r)
		}
		if err == nil && e.newJob {
			e.newJob = false
			e.log.Info("Job not registered. Created new job " + r.Job)
		}
		switch {
		case err == nil && r.finished():
			e.log.Info(fmt.Sprintf("Run %d completed: %s", r.ID, r.Status))
			return
		case err == nil:
			e.log.Info(fmt.Sprintf("Run created with ID %d", r.ID))
			return
		}
		e.historyFailed(err)
	}
	e.spool(r)
}

// spool writes the run to the spool, or at least says it is lost. The
// first time it notes in the run why it was recorded late.
func (e *execution) spool(r *Run) {
	if !strings.Contains(r.Note, "recorded late: ") {
		when := "at its start"
		if r.finished() {
			when = "at its end"
		}
		r.addNote("recorded late: %s %s", e.late, when)
	}
	path, err := spoolRun(e.spoolDirs(), r)
	if err != nil {
		e.log.Error("Cannot spool the run: " + err.Error() + "; the run is lost")
		r.addNote("not recorded: %v", err)
		return
	}
	switch {
	case e.spooled == "":
		e.log.Warn("Run spooled to " + path + "; the next troc command adds it to the history")
	case e.spooled != path:
		os.Remove(e.spooled) // the end went to another directory
		e.log.Warn("Run spooled to " + path + " instead")
	}
	e.spooled = path
	if r.finished() {
		e.log.Info("Run completed: " + string(r.Status) + " (spooled)")
	}
}

// spoolDirs are where the run may be spooled, in the order they are tried.
func (e *execution) spoolDirs() []string { return spoolDirs(e.cfg, e.logDir) }

// lockHeld reports whether a run of the named job holds its lock, for a
// spool replay.
func (e *execution) lockHeld(job string) bool { return jobLockHeld(e.cfg, job) }

// noFileAt reports whether there is nothing at path, not even a dangling
// symlink.
func noFileAt(path string) bool {
	_, err := os.Lstat(path)
	return errors.Is(err, fs.ErrNotExist)
}
