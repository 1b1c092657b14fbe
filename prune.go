package main

// Retention: troc prune by hand, and the config's retention limits applied
// by troc exec after each run. The rules:
//
//   - Only finished runs are deleted; a Running run is never touched.
//   - A run goes with its files: its log and its system log. Rows first,
//     then files: a file left behind by a crash in between is litter, a
//     row whose log is gone would be a lie.
//   - The limits count per job: --keep 100 keeps each job's newest 100
//     runs, whatever other jobs do; --older-than and retention.max_age
//     delete runs that started before the cut-off.
//   - After a run, exec deletes at most retentionBatch runs of that job,
//     each found through an index that reads only what it deletes, so a
//     history of any size costs exec the same, and a limit lowered on a
//     big history takes effect over the next runs rather than in one.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// retentionBatch is how many runs troc exec deletes after one run, at most.
const retentionBatch = 100

// pruneBatch is how many runs troc prune deletes per job and transaction.
const pruneBatch = 1000

// pruneCmd is troc prune.
func pruneCmd(fs *flag.FlagSet) runFunc {
	parse := pruneFlags(fs)
	return func(a *app, ctx context.Context, args []string) error {
		o, err := parse(a, args)
		if err != nil {
			return err
		}
		return a.prune(ctx, o)
	}
}

// prune deletes what o says.
func (a *app) prune(ctx context.Context, o pruneOptions) error {
	h, err := a.openHistoryFor(ctx, o.name, false)
	if err != nil {
		return err
	}
	ids, err := h.pruneJobs(ctx, o.name)
	if err != nil {
		return err
	}
	var cutoff time.Time
	if o.age > 0 {
		cutoff = h.now().Add(-o.age)
	}
	var t pruneTally
	for _, id := range ids {
		if err := t.pruneJob(ctx, h, id, cutoff, o); err != nil {
			return err
		}
	}
	return t.print(a.stdout, o)
}

// pruneOptions is troc prune's command line.
type pruneOptions struct {
	name           string
	age            time.Duration // 0: no age limit
	keep           int           // 0: no count limit
	dryRun, asJSON bool
}

// pruneFlags defines troc prune's flags on fs and returns the function that
// reads its command line with them.
func pruneFlags(fs *flag.FlagSet) func(a *app, args []string) (pruneOptions, error) {
	var o pruneOptions
	fs.BoolVar(&o.asJSON, "json", false, "print what was deleted as a JSON object")
	olderThan := fs.String("older-than", "", "delete runs that started more than `DURATION` ago (90d, 12h)")
	fs.IntVar(&o.keep, "keep", 0, "keep each job's newest `N` runs, delete the older ones")
	fs.StringVar(&o.name, "name", "", "only runs of the job `NAME`")
	fs.BoolVar(&o.dryRun, "dry-run", false, "say what would be deleted, delete nothing")
	return func(a *app, args []string) (pruneOptions, error) {
		if err := a.noPositional(fs, args); err != nil {
			return o, err
		}
		if *olderThan != "" {
			var err error
			if o.age, err = parseDuration(*olderThan); err != nil || o.age == 0 {
				if err == nil {
					err = errors.New("must be more than 0")
				}
				return o, usagef("--older-than: %v", err)
			}
		}
		if o.keep < 0 {
			return o, usagef("invalid --keep %d: want a number of runs", o.keep)
		}
		if o.age == 0 && o.keep == 0 {
			return o, withUsageHint(fs, usagef("give --older-than, --keep or both: nothing is pruned without a limit"))
		}
		return o, nil
	}
}

// pruneJobs returns the ids of the jobs to prune: the named one, or all.
func (h *history) pruneJobs(ctx context.Context, name string) ([]int64, error) {
	if name != "" {
		job, err := h.findJob(ctx, name)
		return []int64{job.ID}, err
	}
	ids, err := h.db.jobIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return ids, nil
}

// pruneTally is what troc prune deleted, or would delete.
type pruneTally struct {
	runs, files, bytes int64
	atLeast            bool // a dry run stopped counting at a full batch
}

// pruneJob deletes (or, in a dry run, counts) the runs of job id past the
// limits, a batch at a time.
func (t *pruneTally) pruneJob(ctx context.Context, h *history, id int64, cutoff time.Time, o pruneOptions) error {
	for {
		expired, err := h.db.expiredRuns(ctx, id, cutoff, o.keep, pruneBatch)
		if err != nil {
			return fmt.Errorf("find runs to prune: %w", err)
		}
		if o.dryRun {
			t.runs += int64(len(expired))
			for _, r := range expired {
				f, b := runFilesSize(r)
				t.files, t.bytes = t.files+f, t.bytes+b
			}
			// Without deleting, the next batch would be this one: past a
			// full batch the count is a lower bound.
			t.atLeast = t.atLeast || len(expired) == pruneBatch
			return nil
		}
		n, f, b, err := deleteRunsAndFiles(ctx, h.db, expired, h.log)
		t.runs, t.files, t.bytes = t.runs+n, t.files+f, t.bytes+b
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		if len(expired) < pruneBatch {
			return nil
		}
	}
}

// print says what was pruned.
func (t *pruneTally) print(w io.Writer, o pruneOptions) error {
	if o.asJSON {
		return writeJSON(w, pruneJSON{DryRun: o.dryRun, AtLeast: t.atLeast, Runs: t.runs, Files: t.files, Bytes: t.bytes})
	}
	verb := "deleted"
	switch {
	case t.atLeast:
		verb = "would delete at least"
	case o.dryRun:
		verb = "would delete"
	}
	_, err := fmt.Fprintf(w, "%s %d runs and %d files, %s\n", verb, t.runs, t.files, formatBytes(t.bytes))
	return err
}

// pruneJSON is troc prune --json: what was deleted, or with dry_run what
// would be.
type pruneJSON struct {
	DryRun  bool  `json:"dry_run"`
	AtLeast bool  `json:"at_least"` // dry run only: there are more than counted
	Runs    int64 `json:"runs"`
	Files   int64 `json:"files"` // log and system log files
	Bytes   int64 `json:"bytes"` // their size
}

// applyRetention deletes, after a run of job, what the config's retention
// limits say is expired, a batch at most. Failures are logged: retention
// never fails a run.
func applyRetention(ctx context.Context, db *DB, cfg *Config, job Job, now time.Time, log *slog.Logger) {
	maxAge, keep := cfg.Retention.MaxAge, cfg.Retention.Keep
	if job.ID == 0 || maxAge == 0 && keep == 0 {
		return
	}
	var cutoff time.Time
	if maxAge > 0 {
		cutoff = now.Add(-maxAge)
	}
	expired, err := db.expiredRuns(ctx, job.ID, cutoff, keep, retentionBatch)
	if err == nil && len(expired) > 0 {
		var n, bytes int64
		n, _, bytes, err = deleteRunsAndFiles(ctx, db, expired, log)
		if n > 0 {
			log.Info(fmt.Sprintf("Retention: deleted %d old runs of %s, %s", n, job.Name, formatBytes(bytes)))
		}
	}
	if err != nil {
		log.Warn("Retention: " + err.Error())
	}
}

// deleteRunsAndFiles deletes the runs, then their files, and returns how
// many runs and files it deleted and the bytes freed.
func deleteRunsAndFiles(ctx context.Context, db *DB, runs []*Run, log *slog.Logger) (n, files, bytes int64, err error) {
	if len(runs) == 0 {
		return 0, 0, 0, nil
	}
	if n, err = db.deleteRuns(ctx, runs); err != nil {
		return 0, 0, 0, err
	}
	files, bytes = removeRunFiles(runs, log)
	return n, files, bytes, nil
}

// removeRunFiles removes the log and system log files of runs that are no
// longer in the history, and returns how many files and bytes it removed.
// A file already gone is no error. A path that is not a log troc made in
// a directory of its own (ownLogFile) is left alone: the history and the
// spool are data, and a path in them could name any file on the host.
func removeRunFiles(runs []*Run, log *slog.Logger) (files, bytes int64) {
	for _, r := range runs {
		for _, path := range []string{r.LogFile, r.SystemLogFile} {
			if path == "" {
				continue
			}
			fi, err := os.Lstat(path)
			if err != nil {
				continue
			}
			if err := ownLogFile(path); err != nil {
				log.Warn(fmt.Sprintf("Not removing %s: %v", path, err))
				continue
			}
			if err := os.Remove(path); err != nil {
				log.Warn(fmt.Sprintf("Cannot remove %s: %v", path, err))
				continue
			}
			files++
			bytes += fi.Size()
		}
	}
	return files, bytes
}

// runFilesSize counts the run's files that exist and their bytes.
func runFilesSize(r *Run) (files, bytes int64) {
	for _, path := range []string{r.LogFile, r.SystemLogFile} {
		if fi, err := os.Lstat(path); path != "" && err == nil {
			files++
			bytes += fi.Size()
		}
	}
	return files, bytes
}

// formatBytes writes n in the largest binary unit that keeps it at or
// above 1: 512 B, 3.2 KiB, 1.0 GiB.
func formatBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), ""
	for _, unit = range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
