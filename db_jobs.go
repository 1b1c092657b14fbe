package main

// The history's jobs: their settings, their summaries as job list, check
// and metrics read them, and their alerts. Every query of them is here.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite"
)

// jobColumns are the columns a jobRow reads, in its order; j is jobs.
const jobColumns = `j.id, j.name, j.description, j.timeout_ms, j.notify_log, j.notify, j.notify_on,
	j.last_success_ms, j.created_ms, j.schedule, j.schedule_ms, j.grace_ms, j.max_runtime_ms,
	j.lock_name, j.lock_wait_ms, j.skip_exit, j.jitter_ms, j.retries, j.retry_delay_ms, j.skip_when_paused,
	j.paused_ms, j.pause_until_ms, j.pause_reason, j.env_file, j.cwd, j.nice, j.ionice, j.umask,
	j.min_runtime_ms, j.expect_output`

// jobRow scans jobColumns into a Job.
type jobRow struct {
	j                                                      *Job
	timeoutMS, lastSuccess, scheduleMS, graceMS, runtimeMS sql.NullInt64
	minRuntimeMS                                           sql.NullInt64
	created                                                int64
	notifyOn, schedule                                     sql.NullString
	lockWait, skipExit, jitter, retries, retryDelay        sql.NullInt64
	paused, pauseUntil                                     sql.NullInt64
	lockName, pauseReason                                  sql.NullString
	envFile, cwd, ionice                                   sql.NullString
	nice, umask                                            sql.NullInt64
}

// dest returns the scan destinations of jobColumns.
func (r *jobRow) dest() []any {
	j := r.j
	return []any{&j.ID, &j.Name, &j.Description, &r.timeoutMS, &j.NotifyLog, &j.Notify, &r.notifyOn,
		&r.lastSuccess, &r.created, &r.schedule, &r.scheduleMS, &r.graceMS, &r.runtimeMS,
		&r.lockName, &r.lockWait, &r.skipExit, &r.jitter, &r.retries, &r.retryDelay, &j.SkipWhenPaused,
		&r.paused, &r.pauseUntil, &r.pauseReason, &r.envFile, &r.cwd, &r.nice, &r.ionice, &r.umask,
		&r.minRuntimeMS, &j.ExpectOutput}
}

// fill sets the job's fields that are stored in another form, once the
// row is scanned.
func (r *jobRow) fill() {
	j := r.j
	ms := func(n sql.NullInt64) time.Duration { return time.Duration(n.Int64) * time.Millisecond }
	j.Timeout, j.Grace, j.MaxRuntime = ms(r.timeoutMS), ms(r.graceMS), ms(r.runtimeMS)
	j.LockName, j.LockWait, j.Jitter, j.RetryDelay = r.lockName.String, ms(r.lockWait), ms(r.jitter), ms(r.retryDelay)
	j.Retries = int(r.retries.Int64)
	if r.skipExit.Valid {
		code := int(r.skipExit.Int64)
		j.SkipExit = &code
	}
	j.Env.EnvFile, j.Env.Cwd = r.envFile.String, r.cwd.String
	j.Env.Nice, j.Env.Umask = nullableInt(r.nice), nullableInt(r.umask)
	if p, err := parseIOPriority(r.ionice.String); r.ionice.Valid && err == nil {
		j.Env.IONice = &p
	}
	if r.paused.Valid {
		j.Paused = time.UnixMilli(r.paused.Int64).UTC()
		j.PauseReason = r.pauseReason.String
		if r.pauseUntil.Valid {
			j.PauseUntil = time.UnixMilli(r.pauseUntil.Int64).UTC()
		}
	}
	j.MinRuntime = ms(r.minRuntimeMS)
	if r.notifyOn.Valid {
		j.NotifyOn = parseStoredStatuses(r.notifyOn.String)
	}
	if r.lastSuccess.Valid {
		j.LastSuccess = time.UnixMilli(r.lastSuccess.Int64).UTC()
	}
	j.Created = time.UnixMilli(r.created).UTC()
	j.Schedule = r.schedule.String
	if r.scheduleMS.Valid {
		j.ScheduleSet = time.UnixMilli(r.scheduleMS.Int64).UTC()
	}
}

// job returns the named job, or sql.ErrNoRows.
func (db *DB) job(ctx context.Context, name string) (Job, error) {
	var j Job
	row := jobRow{j: &j}
	err := db.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs j WHERE name = ?`, name).Scan(row.dest()...)
	row.fill()
	return j, err
}

// parseStoredStatuses reads a comma-separated status list as stored in the
// database, where only valid names are ever written. An empty list is an
// empty, non-nil slice: nothing notifies.
func parseStoredStatuses(s string) []Status {
	out := []Status{}
	for _, f := range strings.Split(s, ",") {
		if f != "" {
			out = append(out, Status(f))
		}
	}
	return out
}

// jobStatesSQL reads every job (?2 = ”) or one, with its latest run and,
// unless ?1 (a day) is NULL, its tallies since that day. The tallies are
// the job's totals less the last running total before the period (see
// schema/0002_job_summary.sql), packed in one integer (runs in the high
// bits) so that the lookup is one, not two.
const jobStatesSQL = `
	SELECT ` + jobColumns + `, j.last_end_status, j.health, j.health_ms, j.recent, j.recent_ok,
		j.skipped, j.succeeded, j.failed, j.terminated, j.timedout,
		CASE WHEN ?1 IS NULL THEN 0 ELSE
		(j.runs_total << 32 | j.failures_total) -
		coalesce((SELECT d.runs << 32 | d.failures FROM job_days d
			WHERE d.job_id = j.id AND d.day < ?1 ORDER BY d.day DESC LIMIT 1), 0) END,
		` + runColumns + `
	FROM jobs j LEFT JOIN runs r ON r.id = j.last_run_id
	WHERE ?2 = '' OR j.name = ?2
	ORDER BY j.name`

// jobStates returns the named job (every job when name is empty), by
// name, with its latest run, what it is running, its counters, and its
// tallies of runs that started on or after since's UTC day (see
// jobState; a zero since leaves the tallies 0). Each figure is a column of
// the job's row or an index lookup, however long the history.
func (db *DB) jobStates(ctx context.Context, name string, since time.Time) ([]*jobState, error) {
	var sinceDay any // NULL: no tallies
	if !since.IsZero() {
		sinceDay = since.UnixMilli() / 86400000
	}
	var out []*jobState
	err := db.read(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = scanJobStates(tx.QueryContext(ctx, jobStatesSQL, sinceDay, name)); err != nil {
			return err
		}
		return runningSince(ctx, tx, out)
	})
	return out, err
}

// scanJobStates reads the rows of jobStatesSQL.
func scanJobStates(rows *sql.Rows, err error) ([]*jobState, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*jobState
	for rows.Next() {
		s := &jobState{}
		jr := jobRow{j: &s.Job}
		var lastEnd, health, recent, recentOK sql.NullString
		var healthMS sql.NullInt64
		var skipped, succeeded, failed, terminated, timedout, tallies int64
		s.LastRun, err = scanRun(rows, append(jr.dest(), &lastEnd, &health, &healthMS, &recent, &recentOK,
			&skipped, &succeeded, &failed, &terminated, &timedout, &tallies)...)
		if err != nil {
			return nil, err
		}
		jr.fill()
		s.LastEnd, s.Announced = Status(lastEnd.String), Health(health.String)
		s.recentText, s.recentOKText = recent.String, recentOK.String
		if healthMS.Valid {
			s.AnnouncedAt = time.UnixMilli(healthMS.Int64).UTC()
		}
		s.Counts = map[Status]int64{StatusSkipped: skipped, StatusSucceeded: succeeded,
			StatusFailed: failed, StatusTerminated: terminated, StatusTimedOut: timedout}
		s.Runs, s.Failures = tallies>>32, tallies&(1<<32-1)
		if s.LastRun != nil {
			s.LastRun.Job = s.Name
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// runningSince sets what each of states is running, through the partial
// index that holds only Running runs.
func runningSince(ctx context.Context, tx *sql.Tx, states []*jobState) error {
	byID := map[int64]*jobState{}
	for _, s := range states {
		byID[s.ID] = s
	}
	rows, err := tx.QueryContext(ctx, `SELECT job_id, min(start_ms) FROM runs WHERE status = 'Running' GROUP BY job_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, start int64
		if err := rows.Scan(&id, &start); err != nil {
			return err
		}
		if s := byID[id]; s != nil {
			s.RunningSince = time.UnixMilli(start).UTC()
		}
	}
	return rows.Err()
}

// setHealth records the health that troc check --notify announced.
func (db *DB) setHealth(ctx context.Context, jobID int64, h Health, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET health = ?, health_ms = ? WHERE id = ?`,
			string(h), at.UnixMilli(), jobID)
		return err
	})
}

// Errors of the job operations.
var (
	errJobNotFound = errors.New("no such job")
	errJobExists   = errors.New("job already exists")
)

// addJob creates a job with the given settings, or returns errJobExists.
func (db *DB) addJob(ctx context.Context, name string, c jobChange, now time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO jobs (name, created_ms) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`, name, now.UnixMilli())
		if err != nil {
			return err
		}
		if err := affected(res, fmt.Errorf("%w: %s", errJobExists, name)); err != nil {
			return err
		}
		return applyJobChange(ctx, tx, name, c)
	})
}

// updateJob changes a job's settings, or returns errJobNotFound, or
// errJobExists for a rename to a name that is taken.
func (db *DB) updateJob(ctx context.Context, name string, c jobChange) error {
	return db.write(ctx, func(tx *sql.Tx) error { return applyJobChange(ctx, tx, name, c) })
}

// applyJobChange writes c to the job called name, within tx, in one UPDATE.
func applyJobChange(ctx context.Context, tx *sql.Tx, name string, c jobChange) error {
	set := []string{"name = name"} // so that a change of nothing still finds the job
	var args []any
	add := func(column string, v any) {
		set = append(set, column+" = ?")
		args = append(args, v)
	}
	if c.Rename != nil {
		add("name", *c.Rename)
	}
	if c.Description != nil {
		add("description", *c.Description)
	}
	if c.Timeout != nil {
		add("timeout_ms", nullInt(c.Timeout.Milliseconds()))
	}
	if c.NotifyLog != nil {
		add("notify_log", *c.NotifyLog)
	}
	if c.Notify != nil {
		add("notify", *c.Notify)
	}
	if c.Schedule != nil {
		add("schedule", nullStr(*c.Schedule))
		add("schedule_ms", c.Now.UnixMilli())
	}
	if c.Grace != nil {
		add("grace_ms", nullInt(c.Grace.Milliseconds()))
	}
	if c.MaxRuntime != nil {
		add("max_runtime_ms", nullInt(c.MaxRuntime.Milliseconds()))
	}
	if c.MinRuntime != nil {
		add("min_runtime_ms", nullInt(c.MinRuntime.Milliseconds()))
	}
	if c.ExpectOutput != nil {
		add("expect_output", *c.ExpectOutput)
	}
	applyControlChange(c.Control, add)
	if c.NotifyOn != nil {
		var v any // NULL: the config's
		if *c.NotifyOn != nil {
			names := make([]string, len(*c.NotifyOn))
			for i, st := range *c.NotifyOn {
				names[i] = string(st)
			}
			v = strings.Join(names, ",")
		}
		add("notify_on", v)
	}
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET `+strings.Join(set, ", ")+` WHERE name = ?`, append(args, name)...)
	switch {
	case isConstraint(err) && c.Rename != nil:
		return fmt.Errorf("%w: %s", errJobExists, *c.Rename)
	case err != nil:
		return err
	}
	return affected(res, fmt.Errorf("%w: %s", errJobNotFound, name))
}

// applyControlChange adds the columns of a controlChange to an UPDATE.
func applyControlChange(c controlChange, add func(column string, v any)) {
	if c.LockName != nil {
		add("lock_name", nullStr(*c.LockName))
	}
	if c.LockWait != nil {
		add("lock_wait_ms", nullInt(c.LockWait.Milliseconds()))
	}
	if c.SkipExit != nil {
		var v any // NULL: the default
		if *c.SkipExit != nil {
			v = **c.SkipExit
		}
		add("skip_exit", v)
	}
	if c.Jitter != nil {
		add("jitter_ms", nullInt(c.Jitter.Milliseconds()))
	}
	if c.Retries != nil {
		add("retries", nullInt(int64(*c.Retries)))
	}
	if c.RetryDelay != nil {
		add("retry_delay_ms", nullInt(c.RetryDelay.Milliseconds()))
	}
	if c.SkipWhenPaused != nil {
		add("skip_when_paused", *c.SkipWhenPaused)
	}
	if e := c.Env; e != nil {
		var nice, ionice, umask any // NULL: none
		if e.Nice != nil {
			nice = *e.Nice
		}
		if e.IONice != nil {
			ionice = e.IONice.String()
		}
		if e.Umask != nil {
			umask = *e.Umask
		}
		for _, col := range []struct {
			flag, column string
			v            any
		}{{"env-file", "env_file", nullStr(e.EnvFile)}, {"cwd", "cwd", nullStr(e.Cwd)},
			{"nice", "nice", nice}, {"ionice", "ionice", ionice}, {"umask", "umask", umask}} {
			if e.given[col.flag] {
				add(col.column, col.v)
			}
		}
	}
}

// nullableInt is n as a pointer; nil for NULL.
func nullableInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

// isConstraint reports whether err is SQLite's constraint violation.
func isConstraint(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == 19 // SQLITE_CONSTRAINT
}

// deleteJob deletes a job and its runs and returns the runs that were
// deleted, for their files. It refuses while a run of the job
// is Running: a *jobBusyError.
func (db *DB) deleteJob(ctx context.Context, name string) (runs []*Run, err error) {
	err = db.write(ctx, func(tx *sql.Tx) error {
		runs, err = scanRuns(tx.QueryContext(ctx, `
			SELECT `+runColumns+`
			FROM runs r JOIN jobs j ON j.id = r.job_id
			WHERE j.name = ?`, name))
		if err != nil {
			return err
		}
		for _, r := range runs {
			if r.Status == StatusRunning {
				return &jobBusyError{run: r.ID}
			}
		}
		if _, err := tx.ExecContext(ctx, `
			DELETE FROM runs WHERE job_id = (SELECT id FROM jobs WHERE name = ?)`, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE name = ?`, name)
		if err != nil {
			return err
		}
		return affected(res, fmt.Errorf("%w: %s", errJobNotFound, name))
	})
	if err != nil {
		return nil, err
	}
	return runs, nil
}

// jobIDs returns the ids of every job.
func (db *DB) jobIDs(ctx context.Context) ([]int64, error) {
	return queryColumn[int64](ctx, db.sql, `SELECT id FROM jobs ORDER BY id`)
}

// alertState is what the history tells of a job's failures when one of
// its runs ends.
type alertState struct {
	failures    int       // Failed, TimedOut and Terminated runs before the run, back to lastSuccess
	lastSuccess int64     // the job's latest Succeeded run before the run; 0: none
	alertRun    int64     // the run that the latest failure alert was about; 0: none
	alertTime   time.Time // when that alert was sent
}

// alertState returns the state of the named job as of its run runID:
// the runs before that one back to its latest success (Skipped and
// Running ones do not count, nor attempts that troc retried: one failure
// of the job, however many tries it took), and its latest alert. Both walks are range
// scans of the runs_job index: the first stops at the success, the
// second reads only the streak.
func (db *DB) alertState(ctx context.Context, job string, runID int64) (alertState, error) {
	var st alertState
	var sentMS int64
	err := db.sql.QueryRowContext(ctx, `
		WITH j AS (SELECT id FROM jobs WHERE name = ?1),
		last AS (SELECT coalesce((
			SELECT r.id FROM runs r, j
			WHERE r.job_id = j.id AND r.id < ?2 AND r.status = 'Succeeded'
			ORDER BY r.id DESC LIMIT 1), 0) AS id)
		SELECT last.id,
			(SELECT count(*) FROM runs r
				WHERE r.job_id = j.id AND r.id > last.id AND r.id < ?2
				AND r.status IN ('Failed', 'TimedOut', 'Terminated') AND NOT r.retried),
			coalesce(a.run_id, 0), coalesce(a.sent_ms, 0)
		FROM j CROSS JOIN last LEFT JOIN notify_alerts a ON a.job_id = j.id`,
		job, runID).Scan(&st.lastSuccess, &st.failures, &st.alertRun, &sentMS)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("job %q does not exist", job)
	}
	if sentMS != 0 {
		st.alertTime = time.UnixMilli(sentMS).UTC()
	}
	return st, err
}

// recordAlert records that a failure alert about run runID of the named
// job was sent at sent.
func (db *DB) recordAlert(ctx context.Context, job string, runID int64, sent time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO notify_alerts (job_id, run_id, sent_ms)
			SELECT id, ?, ? FROM jobs WHERE name = ?
			ON CONFLICT (job_id) DO UPDATE SET run_id = excluded.run_id, sent_ms = excluded.sent_ms`,
			runID, sent.UnixMilli(), job)
		return err
	})
}

// pauseJob pauses the named job from at, until until (zero: until
// resumeJob) for reason, or returns errJobNotFound. Pausing a paused job
// sets its pause anew.
func (db *DB) pauseJob(ctx context.Context, name string, at, until time.Time, reason string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET paused_ms = ?, pause_until_ms = ?, pause_reason = ? WHERE name = ?`,
			at.UnixMilli(), nullTime(until), nullStr(reason), name)
		if err != nil {
			return err
		}
		return affected(res, fmt.Errorf("%w: %s", errJobNotFound, name))
	})
}

// resumeJob ends the named job's pause, if it has one, or returns
// errJobNotFound.
func (db *DB) resumeJob(ctx context.Context, name string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET paused_ms = NULL, pause_until_ms = NULL, pause_reason = NULL WHERE name = ?`, name)
		if err != nil {
			return err
		}
		return affected(res, fmt.Errorf("%w: %s", errJobNotFound, name))
	})
}
