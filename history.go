package main

// Every command that reads or changes the history (everything but exec)
// starts the same way, in openHistory: load the config, open the
// database, add any spooled runs, and mark orphans. So a run that exec
// could only spool shows up the next time anyone looks, and a run whose
// troc died shows up as Terminated rather than Running forever: nobody
// needs "troc run term" for a run of this host.

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// orphanNote is the note of a run marked Terminated because its process
// is gone and its troc never recorded an end.
const orphanNote = "troc exited without recording an end"

// history is an open history and what the commands that use it share.
type history struct {
	a   *app
	cfg *Config
	log *slog.Logger
	db  *DB
	loc *time.Location   // where times are shown
	now func() time.Time // the clock; a field so tests could fix it
}

// openHistory loads the config and opens the history for a command other
// than exec. Like exec, commands leave it open when they are done: the
// process is about to exit, and closing SQLite's last connection would
// checkpoint the WAL into the file and delete it (see DB in db.go), which
// must not happen to a history the command found damaged, and gains
// nothing otherwise. Its log lines (migrations, replays) go to stderr.
func (a *app) openHistory(ctx context.Context) (*history, error) {
	return a.openHistoryLog(ctx, false)
}

// checkLogName is the system log of troc check --notify, in the log
// directory; checkLogMax is the size past which it is renamed to
// checkLogName.1 and started afresh, so that a check every minute for a
// year keeps a few of its weeks at most.
const (
	checkLogName = "trocsys_check.log"
	checkLogMax  = 1 << 20
)

// openHistoryLog is openHistory; with sysLog, for a command that cron
// runs on its own (troc check --notify), its informational lines go only
// to the system log file LOGDIR/trocsys_check.log, and only warnings and
// errors to stderr as well: under cron, anything on stderr is a mail.
func (a *app) openHistoryLog(ctx context.Context, sysLog bool) (*history, error) {
	var firstUse, warnings []string
	cfg, err := loadConfig(a.env, func(msg string) { firstUse = append(firstUse, msg) },
		func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		return nil, err
	}
	logDir, dirWarnings := cfg.logDir()
	warnings = append(warnings, dirWarnings...)
	var log *slog.Logger
	if sysLog {
		f, err := openAppendLog(logDir, checkLogName, checkLogMax)
		log = newSystemLogger(a.stderr, f, cfg.LogJSON)
		if err != nil {
			log.Warn("Cannot open the system log, informational lines are dropped: " + err.Error())
		}
	} else {
		log = newLogger(&diag{stderr: a.stderr}, cfg.LogJSON)
	}
	for _, msg := range firstUse {
		log.Info(msg)
	}
	for _, msg := range warnings {
		log.Warn(msg)
	}
	a.history = cfg.Database
	db, err := openDB(cfg.Database, cfg.BusyTimeout, log)
	if err != nil {
		return nil, fmt.Errorf("open history %s: %w", cfg.Database, err)
	}
	h := &history{a: a, cfg: cfg, log: log, db: db, loc: cfg.location(), now: nowMS}
	// Upkeep before the command proper. A busy history makes the first of
	// these writes wait out the busy timeout, and every later one give up
	// at once (DB.fail): the command itself then reads what is there.
	replaySpool(ctx, db, spoolDirs(cfg, logDir), func(job string) bool { return jobLockHeld(cfg, job) }, log)
	if err := h.markOrphans(ctx); err != nil {
		log.Warn("Cannot check for orphaned runs: " + err.Error())
	}
	if db.gaveUp.Load() {
		log.Warn("The history is busy: spooled and orphaned runs are left for a later troc")
	}
	return h, nil
}

// openAppendLog opens name in the log directory dir for appending, creating it (0600) if need be and never through a symlink.
// A file larger than limit is first renamed to name.1, replacing the one
// before. The file is left open until troc exits.
func openAppendLog(dir, name string, limit int64) (*os.File, error) {
	if dir == "" {
		return nil, errors.New("no log directory can be used")
	}
	path := filepath.Join(dir, name)
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		os.Rename(path, path+".1") // at worst, another troc rotated it first
	}
	// Without waiting: a FIFO put there must not hold troc.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, errNotAFile)
	}
	return f, nil
}

// openHistoryArgs parses a command line of flags only, then opens the
// history.
func (a *app) openHistoryArgs(ctx context.Context, fs *flag.FlagSet, args []string) (*history, error) {
	if err := a.noPositional(fs, args); err != nil {
		return nil, err
	}
	return a.openHistory(ctx)
}

// openHistoryFor checks a --name given on the command line (an empty one
// is an error only when required) before opening the history, so that a
// bad name changes nothing.
func (a *app) openHistoryFor(ctx context.Context, name string, required bool) (*history, error) {
	if name != "" || required {
		if err := checkJobName(name); err != nil {
			return nil, err
		}
	}
	return a.openHistory(ctx)
}

// markOrphans marks Terminated every Running run of this host whose job
// process is gone, or whose pid now names another process, and whose troc
// is gone too. A troc holds its job's lock until it has recorded the end:
// while the lock is held, the run's end is on its way (its troc is
// draining the output, or waiting for the database), and marking it would
// only be undone. (Nor is it marked while a later run of the job holds the
// lock; the next look after that run will.)
func (h *history) markOrphans(ctx context.Context) error {
	running, err := h.db.runningRuns(ctx)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	for _, r := range running {
		if r.Host != host || runAlive(r) || jobLockHeld(h.cfg, r.Job) {
			continue
		}
		switch err := h.db.terminateRun(ctx, r.ID, h.now(), orphanNote); {
		case err == nil:
			h.log.Info(fmt.Sprintf("Run %d of %s marked Terminated: %s", r.ID, r.Job, orphanNote))
		case errors.Is(err, errBusy) || h.db.broken != nil:
			return err
		}
	}
	return nil
}

// findJob returns the named job, or an error saying there is no such job.
func (h *history) findJob(ctx context.Context, name string) (Job, error) {
	job, err := h.db.job(ctx, name)
	if errors.Is(err, sql.ErrNoRows) {
		return job, noJob(name)
	}
	return job, err
}

// noJob is the error of a command given the name of a job the history
// does not have.
func noJob(name string) error {
	return withHint(fmt.Errorf("no job named %q", name), "troc job list shows the jobs")
}
