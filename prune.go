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
	"fmt"
	"log/slog"
	"os"
	"time"
)

// retentionBatch is how many runs troc exec deletes after one run, at most.
const retentionBatch = 100

// pruneBatch is how many runs troc prune deletes per job and transaction.
const pruneBatch = 1000

// prune is troc prune.
func (a *app) prune(ctx context.Context, args []string) error {
	fs := newFlagSet("troc prune")
	asJSON := fs.Bool("json", false, "print what was deleted as a JSON object")
	olderThan := fs.String("older-than", "", "delete runs that started more than `DURATION` ago (90d, 12h)")
	keep := fs.Int("keep", 0, "keep each job's newest `N` runs, delete the older ones")
	name := fs.String("name", "", "only runs of the job `NAME`")
	dryRun := fs.Bool("dry-run", false, "say what would be deleted, delete nothing")
	if err := a.noPositional(fs, args); err != nil {
		return err
	}
	var age time.Duration
	if *olderThan != "" {
		var err error
		if age, err = parseDuration(*olderThan); err != nil || age == 0 {
			if err == nil {
				err = errors.New("must be more than 0")
			}
			return usagef("--older-than: %v", err)
		}
	}
	if *keep < 0 {
		return usagef("invalid --keep %d: want a number of runs", *keep)
	}
	if age == 0 && *keep == 0 {
		return withUsageHint(fs, usagef("give --older-than, --keep or both: nothing is pruned without a limit"))
	}
	h, err := a.openHistoryFor(ctx, *name, false)
	if err != nil {
		return err
	}
	defer h.close()
	var ids []int64
	if *name != "" {
		job, err := h.findJob(ctx, *name)
		if err != nil {
			return err
		}
		ids = []int64{job.ID}
	} else if ids, err = h.db.jobIDs(ctx); err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	var cutoff time.Time
	if age > 0 {
		cutoff = h.now().Add(-age)
	}
	var runs, files, bytes int64
	atLeast := false
	for _, id := range ids {
		for {
			expired, err := h.db.expiredRuns(ctx, id, cutoff, *keep, pruneBatch)
			if err != nil {
				return fmt.Errorf("find runs to prune: %w", err)
			}
			if *dryRun {
				runs += int64(len(expired))
				for _, r := range expired {
					f, b := runFilesSize(r)
					files, bytes = files+f, bytes+b
				}
				// Without deleting, the next batch would be this one:
				// past a full batch the count is a lower bound.
				atLeast = atLeast || len(expired) == pruneBatch
				break
			}
			n, f, b, err := deleteRunsAndFiles(ctx, h.db, expired, h.log)
			runs, files, bytes = runs+n, files+f, bytes+b
			if err != nil {
				return fmt.Errorf("prune: %w", err)
			}
			if len(expired) < pruneBatch {
				break
			}
		}
	}
	if *asJSON {
		return writeJSON(a.stdout, pruneJSON{DryRun: *dryRun, AtLeast: atLeast, Runs: runs, Files: files, Bytes: bytes})
	}
	verb := "deleted"
	switch {
	case atLeast:
		verb = "would delete at least"
	case *dryRun:
		verb = "would delete"
	}
	fmt.Fprintf(a.stdout, "%s %d runs and %d files, %s\n", verb, runs, files, formatBytes(bytes))
	return nil
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
