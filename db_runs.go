package main

// The history's runs: recording them (and the per-job summary each write
// keeps, see countRun), reading them, and deleting them. Every query of
// them is here.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

// insertRunSQL records a run of the job ?1.
const insertRunSQL = `
	INSERT INTO runs (job_id, status, start_ms, end_ms, exit_code, signal,
		pid, pid_start, host, command, log_file, system_log_file,
		output_bytes, note, spool_key, end_inferred,
		waited_ms, jitter_ms, lock_name, attempt, retry_of, retried, environment,
		user_cpu_us, sys_cpu_us, max_rss_kb, blocks_in, blocks_out, ctx_voluntary, ctx_involuntary)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertRun records a new run and sets r.ID, creating its job if need be.
// A run replayed from a spool file carries its spool key: it is inserted
// once however often the replay is attempted, and the only row it ever
// replaces is its own with an end that troc presumed (end_inferred), when
// this is the real end (replaceSpooled).
func (db *DB) insertRun(ctx context.Context, r *Run) error {
	var started startedRun
	err := db.write(ctx, func(tx *sql.Tx) error {
		if r.SpoolKey != "" {
			if done, err := replaceSpooled(ctx, tx, r); done || err != nil {
				return err
			}
		}
		var jobID int64
		var recent, recentOK sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, recent, recent_ok FROM jobs WHERE name = ?`, r.Job).Scan(&jobID, &recent, &recentOK)
		if errors.Is(err, sql.ErrNoRows) {
			// A new job: only now is its row worth a statement.
			var res sql.Result
			res, err = tx.ExecContext(ctx, `INSERT INTO jobs (name, created_ms) VALUES (?, ?)`, r.Job, r.Start.UnixMilli())
			if err == nil {
				jobID, err = res.LastInsertId()
			}
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, insertRunSQL, append([]any{jobID,
			r.Status, r.Start.UnixMilli(), nullTime(r.End), r.ExitCode, nullInt(int64(r.Signal)),
			nullInt(int64(r.PID)), nullInt(r.PIDStart), r.Host, r.Command, nullStr(r.LogFile), nullStr(r.SystemLogFile),
			r.OutputBytes, nullStr(r.Note), nullStr(r.SpoolKey), r.Inferred,
			nullInt(r.Waited.Milliseconds()), nullInt(r.Jitter.Milliseconds()), nullStr(r.LockName),
			nullInt(int64(r.Attempt)), nullInt(r.RetryOf), r.Retried, nullStr(r.Environment)}, usageColumns(r.Usage)...)...)
		if err != nil {
			return err
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		summary := [2]string{recent.String, recentOK.String}
		if r.Status == StatusRunning {
			// countRun leaves the summaries of a Running run's job alone.
			started = startedRun{id: r.ID, startMS: r.Start.UnixMilli(), job: jobID, summary: summary}
		}
		return countRun(ctx, tx, runCount{job: jobID, run: r.ID, start: r.Start, end: r.End, to: r.Status, retried: r.Retried,
			output: r.OutputBytes, summary: &summary})
	})
	if err == nil && started.id != 0 {
		db.started = started
	}
	return err
}

// startedRun is a run that this troc recorded as Running, with its job's
// id and the job's recent summaries as that write read them (and left
// them). When the same troc records the run's end, the row and the
// summaries are most likely as it left them: finishStarted then ends the
// run in two guarded UPDATEs instead of reading the row and the job's
// first. That read is a statement SQLite compiles anew in every process,
// on the way from the job's exit to troc's (0.07 to 0.09 ms here).
type startedRun struct {
	id, startMS, job int64
	summary          [2]string // recent, recent_ok
}

// replaceSpooled records the spooled run r over the row an earlier replay
// of it made, if there is one, and reports whether there was: the row
// takes r's end only if its own was presumed and r's is real.
func replaceSpooled(ctx context.Context, tx *sql.Tx, r *Run) (bool, error) {
	var jobID, startMS int64
	var status Status
	var inferred bool
	err := tx.QueryRowContext(ctx, `SELECT id, job_id, start_ms, status, end_inferred FROM runs WHERE spool_key = ?`,
		r.SpoolKey).Scan(&r.ID, &jobID, &startMS, &status, &inferred)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil || !inferred || r.Inferred:
		return err == nil, err
	}
	if err := setEnd(ctx, tx, r.ID, r); err != nil {
		return true, err
	}
	return true, countRun(ctx, tx, runCount{job: jobID, run: r.ID, start: time.UnixMilli(startMS),
		end: r.End, from: status, to: r.Status, retried: r.Retried,
		output: r.OutputBytes})
}

// errRunNotFound says the history has no such run.
var errRunNotFound = errors.New("run not in the history")

// finishRun records the real end of a run that insertRun recorded,
// replacing an end presumed meanwhile (run term, orphan marking). The
// start time must match too: a run id alone could name another run in a
// history that was replaced since (restored from a backup, say).
func (db *DB) finishRun(ctx context.Context, r *Run) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if s := db.started; s.id == r.ID && s.startMS == r.Start.UnixMilli() {
			if done, err := finishStarted(ctx, tx, s, r); done || err != nil {
				return err
			}
		}
		var jobID int64
		var status Status
		var recent, recentOK sql.NullString
		err := tx.QueryRowContext(ctx, `
			SELECT r.job_id, r.status, j.recent, j.recent_ok
			FROM runs r JOIN jobs j ON j.id = r.job_id
			WHERE r.id = ? AND r.start_ms = ?`,
			r.ID, r.Start.UnixMilli()).Scan(&jobID, &status, &recent, &recentOK)
		if errors.Is(err, sql.ErrNoRows) {
			return r.notFound()
		}
		if err != nil {
			return err
		}
		if err := setEnd(ctx, tx, r.ID, r); err != nil {
			return err
		}
		return countRun(ctx, tx, runCount{job: jobID, run: r.ID, start: r.Start, end: r.End, from: status, to: r.Status, retried: r.Retried,
			output: r.OutputBytes, summary: &[2]string{recent.String, recentOK.String}})
	})
}

// finishStarted is finishRun for s, the run this troc recorded as
// Running, within tx. It reports whether it recorded the end: it does
// not when the row is no longer as this troc left it (its end was
// presumed meanwhile, or it is gone), and then changes nothing, so that
// finishRun's reading path judges the run. A job summary that changed
// meanwhile (a run of the same job replayed from a spool, say) is read
// again within tx (countRun's guard).
func finishStarted(ctx context.Context, tx *sql.Tx, s startedRun, r *Run) (bool, error) {
	res, err := setEndWhere(ctx, tx, r, `id = ? AND start_ms = ? AND job_id = ? AND status = 'Running'`, r.ID, s.startMS, s.job)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	return true, countRun(ctx, tx, runCount{job: s.job, run: r.ID, start: r.Start, end: r.End, from: StatusRunning, to: r.Status,
		retried: r.Retried, output: r.OutputBytes, summary: &s.summary, guarded: true})
}

// setEnd writes r's end over that of run id, within tx.
func setEnd(ctx context.Context, tx *sql.Tx, id int64, r *Run) error {
	_, err := setEndWhere(ctx, tx, r, `id = ?`, id)
	return err
}

// setEndWhere writes r's end over that of the runs where says, with its
// arguments args, within tx.
func setEndWhere(ctx context.Context, tx *sql.Tx, r *Run, where string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, `
		UPDATE runs SET status = ?, end_ms = ?, exit_code = ?, signal = ?, output_bytes = ?, note = ?, end_inferred = 0,
			retried = ?,
			user_cpu_us = ?, sys_cpu_us = ?, max_rss_kb = ?, blocks_in = ?, blocks_out = ?, ctx_voluntary = ?, ctx_involuntary = ?
		WHERE `+where,
		slices.Concat([]any{r.Status, nullTime(r.End), r.ExitCode, nullInt(int64(r.Signal)), r.OutputBytes, nullStr(r.Note), r.Retried},
			usageColumns(r.Usage), args)...)
}

// notFound is errRunNotFound about r.
func (r *Run) notFound() error {
	return fmt.Errorf("%w: run %d started %s", errRunNotFound, r.ID, r.Start.UTC().Format(timeLayout))
}

// updateRun sets columns of the run r names, by id and start time (see
// finishRun), in a transaction of its own: set is the SET clause, args
// its values. It must not set the status, which the job's summary counts
// (finishRun does). A run that is not there is errRunNotFound.
func (db *DB) updateRun(ctx context.Context, r *Run, set string, args ...any) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET `+set+` WHERE id = ? AND start_ms = ?`,
			append(args, r.ID, r.Start.UnixMilli())...)
		if err != nil {
			return err
		}
		return affected(res, r.notFound())
	})
}

// runCount is a write's change to a job's runs, as its summary counts
// them (schema/0002_job_summary.sql): run of job, which started at start,
// goes from status from ("" for a new run) to status to, ending at end,
// having written output bytes. summary is the job's recent and recent_ok
// columns when the write has read them already (exec's writes do), nil
// for countRun to read them.
type runCount struct {
	job, run   int64
	start, end time.Time
	from, to   Status
	retried    bool // an attempt that troc ran again: not the job's outcome (last_end_*)
	output     int64
	summary    *[2]string
	// guarded: summary was read by an earlier write, so the job's row is
	// changed only if its summaries are still those (else they are read
	// again, within the write).
	guarded bool
}

// countRun brings the job's summary up to date with c, within the write
// that made the change. Every write that adds a run or changes its status
// calls it: insertRun, finishRun and terminateRun.
func countRun(ctx context.Context, tx *sql.Tx, c runCount) error {
	if c.from == c.to {
		return nil
	}
	one := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	added := one(c.from == "")
	failures := one(isFailure(c.to)) - one(isFailure(c.from))
	day := c.start.UnixMilli() / (24 * time.Hour).Milliseconds()
	if added != 0 || failures != 0 {
		if err := countDays(ctx, tx, c.job, day, added, failures); err != nil {
			return err
		}
	}
	for {
		recent, recentOK, err := recentAfter(ctx, tx, c)
		if err != nil {
			return err
		}
		query, args := countSQL(c, added, failures, recent, recentOK)
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil || !c.guarded {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		// The summaries changed since they were read: once more, from
		// what the row holds now.
		c.guarded, c.summary = false, nil
	}
}

// countSQL returns the UPDATE that changes the job's row by c (added
// runs, 0 or 1, and failures, -1, 0 or 1; one run more or less of each
// status), and its arguments. It names only what c changes: SQLite
// compiles the statement anew in every troc, and a Running run's start
// changes two columns of the thirteen, its end five or six (0.06 to
// 0.18 ms off troc exec, against one statement with a CASE for each
// column). recent and recentOK are the job's recent summaries as c
// leaves them (recent.go), nil for one that c leaves alone. When c is
// guarded, the row changes only if its summaries are still those c read.
func countSQL(c runCount, added, failures int64, recent, recentOK any) (string, []any) {
	var set []string
	var args []any
	term := func(expr string, vals ...any) {
		set = append(set, expr)
		args = append(args, vals...)
	}
	if added != 0 {
		term("runs_total = runs_total + ?", added)
		term("last_run_id = max(coalesce(last_run_id, 0), ?)", c.run)
	}
	if failures != 0 {
		term("failures_total = failures_total + ?", failures)
	}
	for _, s := range []struct {
		status Status
		column string
	}{{StatusSkipped, "skipped"}, {StatusSucceeded, "succeeded"}, {StatusFailed, "failed"},
		{StatusTerminated, "terminated"}, {StatusTimedOut, "timedout"}} {
		switch s.status {
		case c.to:
			term(s.column + " = " + s.column + " + 1")
		case c.from:
			term(s.column + " = " + s.column + " - 1")
		}
	}
	if c.to == StatusSucceeded {
		term("last_success_ms = max(coalesce(last_success_ms, 0), ?)", c.end.UnixMilli())
	}
	if c.to != StatusRunning && c.to != StatusSkipped && !c.retried {
		// The run ended: it is the job's last end unless a later run's is.
		term("last_end_status = CASE WHEN coalesce(last_end_id, 0) <= ? THEN ? ELSE last_end_status END", c.run, string(c.to))
		term("last_end_id = max(coalesce(last_end_id, 0), ?)", c.run)
	}
	if recent != nil {
		term("recent = ?", recent)
	}
	if recentOK != nil {
		term("recent_ok = ?", recentOK)
	}
	where := "id = ?"
	args = append(args, c.job)
	if c.guarded {
		where += " AND coalesce(recent, '') = ? AND coalesce(recent_ok, '') = ?"
		args = append(args, c.summary[0], c.summary[1])
	}
	return "UPDATE jobs SET " + strings.Join(set, ", ") + " WHERE " + where, args
}

// recentAfter returns the job's recent summaries (recent.go) as c leaves
// them, or NULL for one c does not change: a run that has not ended
// changes neither.
func recentAfter(ctx context.Context, tx *sql.Tx, c runCount) (recent, recentOK any, err error) {
	if c.to == StatusRunning {
		return nil, nil, nil
	}
	if c.summary == nil {
		var all, ok sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT recent, recent_ok FROM jobs WHERE id = ?`, c.job).Scan(&all, &ok); err != nil {
			return nil, nil, err
		}
		c.summary = &[2]string{all.String, ok.String}
	}
	r := recentRun{ID: c.run, Status: c.to, Start: c.start, Duration: max(c.end.Sub(c.start), 0), Output: c.output}
	// An attempt that troc ran again (--retry) is not the job's outcome,
	// nor a start that cron made: the strip and "started too often" see
	// only the attempt that ended the retries.
	recent = formatRecent(withRecent(parseRecent(c.summary[0]), r, c.retried, recentRuns))
	if c.to == StatusSucceeded || c.from == StatusSucceeded {
		recentOK = formatRecent(withRecent(parseRecent(c.summary[1]), r, c.to != StatusSucceeded, recentSuccesses))
	}
	return recent, recentOK, nil
}

// countDays adds runs and failures to the job's running totals of day and
// of every later day (only a run replayed long after finds any), within
// tx. A day without a row yet gets one, from the totals of the day before
// it; only a new run makes one.
func countDays(ctx context.Context, tx *sql.Tx, job, day, runs, failures int64) error {
	days, err := queryColumn[int64](ctx, tx, `
		UPDATE job_days SET runs = runs + ?, failures = failures + ?
		WHERE job_id = ? AND day >= ?
		RETURNING day`, runs, failures, job, day)
	if err != nil || slices.Contains(days, day) || runs == 0 {
		return err
	}
	var before, failedBefore int64
	err = tx.QueryRowContext(ctx, `
		SELECT runs, failures FROM job_days
		WHERE job_id = ? AND day < ?
		ORDER BY day DESC LIMIT 1`, job, day).Scan(&before, &failedBefore)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO job_days (job_id, day, runs, failures) VALUES (?, ?, ?, ?)`,
		job, day, before+runs, failedBefore+failures)
	return err
}

// runColumns are the columns scanRun reads, in its order; r is runs and
// j is jobs.
const runColumns = `r.id, j.name, r.status, r.start_ms, r.end_ms, r.exit_code, r.signal,
	r.pid, r.pid_start, r.host, r.command, r.log_file, r.system_log_file,
	r.output_bytes, r.note, r.spool_key,
	r.waited_ms, r.jitter_ms, r.lock_name, r.attempt, r.retry_of, r.retried, r.environment,
	r.user_cpu_us, r.sys_cpu_us, r.max_rss_kb, r.blocks_in, r.blocks_out, r.ctx_voluntary, r.ctx_involuntary`

// scanRun reads one row of runColumns, after the columns that first
// points to. All the run's columns NULL (an outer join that found no run)
// give a nil run.
func scanRun(row interface{ Scan(...any) error }, first ...any) (*Run, error) {
	var r Run
	var id, start, end, exit, sig, pid, pidStart, outBytes sql.NullInt64
	var waited, jitter, attempt, retryOf, retried sql.NullInt64
	var status, host, command, logFile, sysLog, note, spoolKey, lockName, environment sql.NullString
	var use [7]sql.NullInt64
	err := row.Scan(append(first, &id, &r.Job, &status, &start, &end, &exit, &sig,
		&pid, &pidStart, &host, &command, &logFile, &sysLog,
		&outBytes, &note, &spoolKey,
		&waited, &jitter, &lockName, &attempt, &retryOf, &retried, &environment,
		&use[0], &use[1], &use[2], &use[3], &use[4], &use[5], &use[6])...)
	if err != nil || !id.Valid {
		return nil, err
	}
	r.ID, r.Status, r.Host, r.Command = id.Int64, Status(status.String), host.String, command.String
	r.Start = time.UnixMilli(start.Int64).UTC()
	if end.Valid {
		r.End = time.UnixMilli(end.Int64).UTC()
	}
	if exit.Valid {
		code := int(exit.Int64)
		r.ExitCode = &code
	}
	r.Signal = syscall.Signal(sig.Int64)
	r.PID = int(pid.Int64)
	r.PIDStart = pidStart.Int64
	r.LogFile, r.SystemLogFile = logFile.String, sysLog.String
	r.OutputBytes = outBytes.Int64
	r.Note, r.SpoolKey = note.String, spoolKey.String
	r.Waited = time.Duration(waited.Int64) * time.Millisecond
	r.Jitter = time.Duration(jitter.Int64) * time.Millisecond
	r.LockName, r.Attempt, r.RetryOf, r.Retried = lockName.String, int(attempt.Int64), retryOf.Int64, retried.Int64 != 0
	r.Environment = environment.String
	if use[0].Valid {
		us := time.Microsecond
		r.Usage = &Usage{UserCPU: time.Duration(use[0].Int64) * us, SystemCPU: time.Duration(use[1].Int64) * us,
			MaxRSS: use[2].Int64 * 1024, BlocksIn: use[3].Int64, BlocksOut: use[4].Int64,
			VolSwitches: use[5].Int64, InvolSwitches: use[6].Int64}
	}
	return &r, nil
}

// scanRuns reads every row of a runColumns query.
func scanRuns(rows *sql.Rows, err error) ([]*Run, error) {
	return scanEach(rows, err, func(row *sql.Rows) (*Run, error) { return scanRun(row) })
}

// scanEach reads every row of a query into a run with scan.
func scanEach(rows *sql.Rows, err error, scan func(*sql.Rows) (*Run, error)) ([]*Run, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []*Run
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// getRun returns the run with the given id, or errRunNotFound.
func (db *DB) getRun(ctx context.Context, id int64) (*Run, error) {
	r, err := scanRun(db.sql.QueryRowContext(ctx, `
		SELECT `+runColumns+`
		FROM runs r JOIN jobs j ON j.id = r.job_id
		WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: no run %d", errRunNotFound, id)
	}
	return r, err
}

// runFilter selects runs for listRuns. Zero fields select everything.
type runFilter struct {
	JobID    int64    // 0: every job
	Statuses []Status // nil: every status
	Since    time.Time
	Before   int64 // runs with a smaller id only; 0: any
	Limit    int   // 0: no limit
}

// listRuns returns the runs f selects, newest first. Run ids grow with
// time, so "newest first" walks the primary key, or the runs_job index
// backwards for one job, and a limit stops the walk early.
func (db *DB) listRuns(ctx context.Context, f runFilter) ([]*Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs r JOIN jobs j ON j.id = r.job_id WHERE 1`
	var args []any
	if f.JobID != 0 {
		q += ` AND r.job_id = ?`
		args = append(args, f.JobID)
	}
	if len(f.Statuses) > 0 {
		q += ` AND r.status IN (?` + strings.Repeat(`, ?`, len(f.Statuses)-1) + `)`
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	if !f.Since.IsZero() {
		q += ` AND r.start_ms >= ?`
		args = append(args, f.Since.UnixMilli())
	}
	if f.Before != 0 {
		q += ` AND r.id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY r.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return scanRuns(db.sql.QueryContext(ctx, q, args...))
}

// expiredColumns are all that deleting a run needs. Retention runs after
// every exec, and a query of these alone costs a fraction of what a join
// for runColumns does.
const expiredColumns = `id, log_file, system_log_file`

// expiredByAgeSQL selects up to ?3 finished runs of job ?1 that started
// before ?2, oldest first, through runs_job_start.
const expiredByAgeSQL = `
	SELECT ` + expiredColumns + ` FROM runs
	WHERE job_id = ?1 AND start_ms < ?2 AND status <> 'Running'
	ORDER BY start_ms LIMIT ?3`

// expiredByKeepSQL selects up to ?3 finished runs of job ?1 older than its
// newest ?2 + 1, oldest first, through runs_job.
const expiredByKeepSQL = `
	SELECT ` + expiredColumns + ` FROM runs
	WHERE job_id = ?1 AND status <> 'Running' AND id < (
		SELECT id FROM runs WHERE job_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)
	ORDER BY id LIMIT ?3`

// expiredRuns returns up to limit finished runs of a job, oldest first,
// that are past the retention limits: started before olderThan (unless
// zero), or older than the job's newest keep runs (unless keep is 0).
// Both are index range scans that read only the runs they return. The
// runs have only what deleting them takes: their ID, LogFile and
// SystemLogFile.
func (db *DB) expiredRuns(ctx context.Context, jobID int64, olderThan time.Time, keep, limit int) ([]*Run, error) {
	var old, beyond []*Run
	var err error
	if !olderThan.IsZero() {
		old, err = scanExpired(db.sql.QueryContext(ctx, expiredByAgeSQL, jobID, olderThan.UnixMilli(), limit))
		if err != nil {
			return nil, err
		}
	}
	if keep > 0 {
		beyond, err = scanExpired(db.sql.QueryContext(ctx, expiredByKeepSQL, jobID, keep-1, limit))
		if err != nil {
			return nil, err
		}
	}
	seen := make(map[int64]bool, len(old))
	for _, r := range old {
		seen[r.ID] = true
	}
	for _, r := range beyond {
		if !seen[r.ID] {
			old = append(old, r)
		}
	}
	return old, nil
}

// deleteRuns deletes the given runs, except any that is Running, and
// returns how many it deleted. Their jobs' recent runs (recent.go) lose
// them too.
func (db *DB) deleteRuns(ctx context.Context, runs []*Run) (n int64, err error) {
	err = db.write(ctx, func(tx *sql.Tx) error {
		n = 0
		gone := map[int64][]int64{} // by job: the runs deleted
		for _, r := range runs {
			jobs, err := queryColumn[int64](ctx, tx, `DELETE FROM runs WHERE id = ? AND status <> 'Running' RETURNING job_id`, r.ID)
			if err != nil {
				return err
			}
			for _, job := range jobs {
				gone[job] = append(gone[job], r.ID)
				n++
			}
		}
		for job, ids := range gone {
			if err := forgetRecent(ctx, tx, job, ids); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// forgetRecent takes the deleted runs ids out of the job's recent runs.
// Retention deletes the oldest runs, so what is left is still the job's
// latest runs; prune's other choices may leave fewer than the history
// could give, never a run it no longer has.
func forgetRecent(ctx context.Context, tx *sql.Tx, job int64, ids []int64) error {
	var recent, recentOK string
	err := tx.QueryRowContext(ctx, `SELECT coalesce(recent, ''), coalesce(recent_ok, '') FROM jobs WHERE id = ?`, job).Scan(&recent, &recentOK)
	if err != nil {
		return err
	}
	without := func(s string) string {
		list := slices.DeleteFunc(parseRecent(s), func(r recentRun) bool { return slices.Contains(ids, r.ID) })
		return formatRecent(list)
	}
	if r, ok := without(recent), without(recentOK); r != recent || ok != recentOK {
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET recent = ?, recent_ok = ? WHERE id = ?`, r, ok, job)
	}
	return err
}

// scanExpired reads every row of an expiredColumns query.
func scanExpired(rows *sql.Rows, err error) ([]*Run, error) {
	return scanEach(rows, err, func(row *sql.Rows) (*Run, error) {
		var r Run
		var logFile, sysLog sql.NullString
		err := row.Scan(&r.ID, &logFile, &sysLog)
		r.LogFile, r.SystemLogFile = logFile.String, sysLog.String
		return &r, err
	})
}

// runningRuns returns every run recorded as Running, through the partial
// index that holds only those.
func (db *DB) runningRuns(ctx context.Context) ([]*Run, error) {
	return scanRuns(db.sql.QueryContext(ctx, `
		SELECT `+runColumns+`
		FROM runs r JOIN jobs j ON j.id = r.job_id
		WHERE r.status = 'Running'`))
}

// runningRunOf returns the id of job's Running run whose job has pid pid,
// or 0.
func (db *DB) runningRunOf(ctx context.Context, job string, pid int) (int64, error) {
	var id int64
	err := db.sql.QueryRowContext(ctx, `
		SELECT r.id FROM runs r JOIN jobs j ON j.id = r.job_id
		WHERE r.status = 'Running' AND j.name = ? AND r.pid = ?
		ORDER BY r.id DESC LIMIT 1`, job, pid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// errNotRunning says a run has already ended.
var errNotRunning = errors.New("run is not running")

// terminateRun records a Running run as Terminated at end, an end presumed
// rather than seen (end_inferred), adding why to its note. It changes
// nothing and returns errNotRunning if the run has ended meanwhile: a real
// end always wins over a presumed one, and replaces it when it comes late
// (finishRun).
func (db *DB) terminateRun(ctx context.Context, id int64, end time.Time, why string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var jobID, startMS int64
		err := tx.QueryRowContext(ctx, `
			UPDATE runs SET status = 'Terminated', end_ms = ?, end_inferred = 1,
				note = CASE WHEN note IS NULL THEN ? ELSE note || '; ' || ? END
			WHERE id = ? AND status = 'Running'
			RETURNING job_id, start_ms`,
			end.UnixMilli(), why, why, id).Scan(&jobID, &startMS)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotRunning
		}
		if err != nil {
			return err
		}
		return countRun(ctx, tx, runCount{job: jobID, run: id, start: time.UnixMilli(startMS), end: end,
			from: StatusRunning, to: StatusTerminated})
	})
}

// usageColumns are the values of the usage columns for u: all NULL for
// none.
func usageColumns(u *Usage) []any {
	if u == nil {
		return make([]any, 7)
	}
	return []any{u.UserCPU.Microseconds(), u.SystemCPU.Microseconds(), u.MaxRSS / 1024,
		u.BlocksIn, u.BlocksOut, u.VolSwitches, u.InvolSwitches}
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// appendRunNote adds a sentence to the note of a recorded run, matched by
// id and start time as finishRun matches it.
func (db *DB) appendRunNote(ctx context.Context, r *Run, note string) error {
	return db.updateRun(ctx, r, `note = CASE WHEN coalesce(note, '') = '' THEN ? ELSE note || '; ' || ? END`, note, note)
}
