package main

// The original troc (github.com/samcarswell/trochilus, 0.1 to 0.4.1) kept
// its history where troc keeps it, troc.db beside config.yaml, in a schema
// of its own that dbmate tracked in a schema_migrations table. The first
// troc to open such a history converts it to troc's schema, so that an
// upgrade loses no run and "run 84" in an old Slack message is still run
// 84. The rules, and why:
//
//   - It is recognised by its tables alone: schema_migrations, crons or
//     jobs, and runs, each with the original's columns, in a file whose
//     user_version is 0 (troc's schema sets it; dbmate never does). A
//     database with those tables and a column or table the original never
//     had is refused rather than converted in part: that is someone
//     else's schema, or a newer original's.
//   - Before anything is written it is copied byte for byte beside itself,
//     troc.db.trochilus-0.3.bak (the shape's name), and its -wal to
//     ...bak-wal, mode 0600. A backup that exists is never overwritten:
//     the first one is the original's history as it was.
//   - It is converted in place, in one SQLite transaction: the original's
//     tables are renamed aside, troc's schema is created, every job and
//     run is copied through the triggers that keep the jobs' summaries
//     at that schema version (0002; from 0005 on, db.go keeps them),
//     and the original's tables are dropped. SQLite's journal makes that
//     all or nothing: a failure, or a crash, leaves the original exactly
//     as it was. Converting a copy and renaming it over the original
//     would not be safe: a troc of the original still running a job, or
//     a troc waiting for the lock, holds the old file open and would go on
//     writing to a file nobody reads any more.
//   - The conversion uses a connection of its own, closed before the
//     backup's file descriptors: closing any descriptor of a file drops
//     every POSIX lock this process holds on it, SQLite's included.
//   - Ids are kept, so new runs continue after the highest. Times, text in
//     UTC to the second, become milliseconds. A run's exec_log_file is its
//     system log. The original recorded no exit code: a Succeeded run's is
//     0 (the original's definition of success), the others' unknown.
//   - A run still Running has its pid (0.3 and later) but not the pid's
//     start time, which troc records to tell a reused pid from the job.
//     When the process now at that pid started with the run (within
//     originalStartSlack of its start), it is taken to be the run's, and
//     its start time is recorded: troc then treats it as any of its own
//     runs. Otherwise the run's own start stands in for it, which no
//     process now at that pid matches, so the run's process counts as
//     gone and the usual orphan rules (history.go) mark it Terminated.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// originalTarget is the version of troc's schema the conversion writes:
// the migrations up to it are applied inside the conversion's transaction
// and its INSERTs name their columns. Later migrations then apply as they
// do to any history.
const originalTarget = 3

// originalStartSlack is how long after a Running run's recorded start its
// process may have started and still be taken for the run's own: the
// original recorded the run, then started the job.
const originalStartSlack = 10 * time.Second

// userHZ is the unit of process start times in /proc/PID/stat: USER_HZ,
// 100 on every architecture Linux runs troc on.
const userHZ = 100

// originalShape is one of the schemas the original troc wrote.
type originalShape struct {
	name      string // "0.1", "0.2" or "0.3": the original's version that introduced it
	versions  string // the original's releases that write it, for the log
	jobs      string // the jobs table: crons (0.1) or jobs
	jobID     string // the runs' column naming the job: cron_id (0.1) or job_id
	notifyLog bool   // jobs have notify_log_content (0.1 had it only from its second migration)
	pid       bool   // runs have pid (0.3 and later)
}

// Columns of the original's tables, and the tables it had.
var (
	originalJobColumns = []string{"id", "name", "notify_log_content"}
	originalRunColumns = []string{"id", "job_id", "cron_id", "start_time", "end_time", "log_file", "exec_log_file", "status", "pid"}
	originalTables     = []string{"schema_migrations", "crons", "jobs", "runs", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4"}
	// originalStatuses are the states the original recorded.
	originalStatuses = []Status{StatusRunning, StatusSkipped, StatusSucceeded, StatusFailed, StatusTerminated}
)

// errNotOriginal says that tables named like the original troc's are not
// of its shape.
var errNotOriginal = errors.New("not a history of the original troc")

// convertOriginal converts the history at path to troc's schema if it is
// the original troc's (see the rules above), and does nothing otherwise.
// It costs a read of the file's first 100 bytes unless the file is an
// SQLite database with no schema version of troc's. Its error says the
// history is unchanged and how to try again.
func convertOriginal(path string, busy time.Duration, log *slog.Logger) error {
	if !unversioned(path) {
		return nil
	}
	conv, err := sql.Open("sqlite", "file:"+escapeURIPath(path)+"?"+
		"_pragma=busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")"+
		"&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return nil // openDB says why it cannot open it
	}
	conv.SetMaxOpenConns(1)
	var held []*os.File
	bak, err := convertWith(context.Background(), conv, path, log, &held)
	// SQLite's locks go first: closing the backup's descriptors while it
	// held them would drop them.
	conv.Close()
	for _, f := range held {
		f.Close()
	}
	if err != nil {
		hint := "fix the cause and run any troc command to try again"
		if bak != "" {
			hint = "a copy of it is at " + bak + "; " + hint
		}
		return withHint(fmt.Errorf("convert the original troc's history %s (left unchanged): %w", path, err), hint)
	}
	if bak != "" {
		// It is troc's history now, and troc's histories hold commands.
		os.Chmod(path, 0o600)
	}
	return nil
}

// unversioned reports whether the file at path is an SQLite database
// whose header says user_version 0: new (then it has no header yet),
// another program's, or the original troc's.
func unversioned(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return false
	}
	return string(h[:16]) == "SQLite format 3\x00" && string(h[60:64]) == "\x00\x00\x00\x00"
}

// convertWith does convertOriginal's work on conv. The files it opens
// for the backup are appended to held, for the caller to close after
// conv. It returns the backup's path once there is one.
func convertWith(ctx context.Context, conv *sql.DB, path string, log *slog.Logger, held *[]*os.File) (bak string, err error) {
	// A cheap look first, outside a write transaction: most databases
	// with no version are not the original's. Its statements may see
	// before and after another troc's conversion, so only its "no" is
	// final: what it sees of the original's tables is looked at again
	// under the lock.
	if shape, err := detectOriginal(ctx, conv); shape == nil && err == nil {
		return "", nil
	}
	tx, err := conv.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one troc converts, the others wait
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	// Again under the lock: another troc may have converted it meanwhile.
	shape, err := detectOriginal(ctx, tx)
	if shape == nil {
		return "", err
	}
	// Nothing can write the file while this transaction holds its lock,
	// so the copy is of one consistent state.
	if bak, err = backupOriginal(path, shape, held); err != nil {
		return "", fmt.Errorf("back it up: %w", err)
	}
	var jobs, runs int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM `+shape.jobs+`), (SELECT count(*) FROM runs)`).Scan(&jobs, &runs); err != nil {
		return bak, err
	}
	log.Info(fmt.Sprintf("Converting the original troc's history (%s schema, troc %s): %s, %s; its copy is %s",
		shape.name, shape.versions, plural(jobs, "job"), plural(runs, "run"), bak))
	start := time.Now()
	if err := convertTables(ctx, tx, shape); err != nil {
		return bak, err
	}
	if err := tx.Commit(); err != nil {
		return bak, err
	}
	log.Info(fmt.Sprintf("Converted: the original troc's history in %s", time.Since(start).Round(time.Millisecond)))
	return bak, nil
}

// detectOriginal returns the shape of the original troc's schema that q's
// database has, or nil when it has no schema_migrations table, or no
// crons, jobs and runs tables: not the original's. Tables of those names
// with anything else (another column, another table) are errNotOriginal.
func detectOriginal(ctx context.Context, q interface {
	queryer
	rowsQueryer
}) (*originalShape, error) {
	names := func(query string, args ...any) ([]string, error) {
		return queryColumn[string](ctx, q, query, args...)
	}
	var version int
	if err := q.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil || version != 0 {
		return nil, nil
	}
	objects, err := names(`SELECT name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger')`)
	if err != nil {
		return nil, nil // not a database openDB can use; it says why
	}
	has := func(name string) bool { return slices.Contains(objects, name) }
	if !has("schema_migrations") || !has("runs") || !has("crons") && !has("jobs") {
		return nil, nil
	}
	fail := func(format string, args ...any) (*originalShape, error) {
		return nil, fmt.Errorf("%w: %s", errNotOriginal, fmt.Sprintf(format, args...))
	}
	for _, o := range objects {
		if !slices.Contains(originalTables, o) {
			return fail("it has a table %s the original never had", o)
		}
	}
	shape := &originalShape{name: "0.1", versions: "0.1", jobs: "crons", jobID: "cron_id"}
	switch {
	case has("crons") && has("jobs"):
		return fail("it has both crons and jobs tables")
	case has("jobs"):
		shape.name, shape.versions, shape.jobs, shape.jobID = "0.2", "0.2", "jobs", "job_id"
	}
	jobCols, err := names(`SELECT name FROM pragma_table_info(?)`, shape.jobs)
	if err != nil {
		return nil, err
	}
	runCols, err := names(`SELECT name FROM pragma_table_info('runs')`)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		table       string
		have, known []string
		required    []string
	}{
		{shape.jobs, jobCols, originalJobColumns, []string{"id", "name"}},
		{"runs", runCols, originalRunColumns, []string{"id", shape.jobID, "start_time", "end_time", "log_file", "exec_log_file", "status"}},
	} {
		for _, col := range c.have {
			if !slices.Contains(c.known, col) || col == "cron_id" && shape.jobID != col || col == "job_id" && shape.jobID != col {
				return fail("%s has a column %s the original never had", c.table, col)
			}
		}
		for _, col := range c.required {
			if !slices.Contains(c.have, col) {
				return fail("%s has no column %s", c.table, col)
			}
		}
	}
	shape.notifyLog = slices.Contains(jobCols, "notify_log_content")
	if slices.Contains(runCols, "pid") {
		if shape.jobs != "jobs" {
			return fail("runs has a pid column but jobs are still in crons")
		}
		shape.name, shape.versions, shape.pid = "0.3", "0.3.0 to 0.4.1", true
	}
	return shape, nil
}

// backupOriginal copies the database at path, and its -wal if it has
// any content, to a backup beside it named for shape, mode 0600, unless that
// backup exists already. It returns the backup's path. Each copy is
// written to a temporary file and linked to its name, so that a name
// that exists always holds a whole copy; the -wal's is linked first, so
// the database's name is the last to appear. The descriptors it reads
// are left open, in held (see convertOriginal).
func backupOriginal(path string, shape *originalShape, held *[]*os.File) (string, error) {
	bak := path + ".trochilus-" + shape.name + ".bak"
	if _, err := os.Lstat(bak); err == nil {
		return bak, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	wal, err := os.Open(path + "-wal")
	switch {
	case err == nil:
		*held = append(*held, wal)
		// An empty one is only the one this troc's reading created.
		if st, err := wal.Stat(); err != nil {
			return "", err
		} else if st.Size() > 0 {
			if err := copyNew(wal, bak+"-wal"); err != nil {
				return "", err
			}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	db, err := os.Open(path)
	if err != nil {
		return "", err
	}
	*held = append(*held, db)
	if err := copyNew(db, bak); err != nil {
		return "", err
	}
	return bak, nil
}

// copyNew copies src to a new file dst, mode 0600, through a temporary
// file in dst's directory, synced before it is linked to dst. A dst that
// exists is left as it is.
func copyNew(src *os.File, dst string) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), dst); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// convertTables converts the original's tables of shape to troc's
// schema at version originalTarget, within tx. Each step checks what it
// can say plainly (a status the original never wrote, a run of a job
// that is not there, a time that is not one) before SQLite's constraints
// would say it less plainly.
func convertTables(ctx context.Context, tx *sql.Tx, shape *originalShape) error {
	// Aside first, so that troc's schema can take the names. SQLite
	// renames the references to them too.
	for _, stmt := range []string{
		`ALTER TABLE runs RENAME TO trochilus_runs`,
		`ALTER TABLE ` + shape.jobs + ` RENAME TO trochilus_jobs`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range ms[:originalTarget] {
		body, err := schemaFS.ReadFile("schema/" + m.name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	if err := checkOriginalRuns(ctx, tx, shape); err != nil {
		return err
	}
	host, _ := os.Hostname()
	for _, stmt := range []struct {
		query string
		args  []any
	}{
		{originalJobsSQL(shape), []any{time.Now().UnixMilli()}},
		// Through the triggers of schema version 3, in id order: they
		// keep the jobs' summaries (last run, tallies, job_days) as
		// countRun does for exec.
		{originalRunsSQL(shape), []any{host}},
	} {
		if _, err := tx.ExecContext(ctx, stmt.query, stmt.args...); err != nil {
			return err
		}
	}
	if err := setOriginalPIDStarts(ctx, tx); err != nil {
		return err
	}
	for _, stmt := range []string{
		`DROP TABLE trochilus_runs`,
		`DROP TABLE trochilus_jobs`,
		`DROP TABLE schema_migrations`,
		// PRAGMA takes no parameters; the version is a constant.
		`PRAGMA user_version = ` + strconv.Itoa(originalTarget),
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// originalMS is the SQL that turns the original's time column c, text in
// UTC to the second (a fraction or a zone are read too), into troc's
// milliseconds.
func originalMS(c string) string {
	return `CAST(round((julianday(` + c + `) - 2440587.5) * 86400000) AS INTEGER)`
}

// originalTimeOK is the SQL that holds when the original's time column c
// is one originalMS reads: text that starts YYYY-MM-DD HH:MM:SS.
func originalTimeOK(c string) string {
	return `(typeof(` + c + `) = 'text' AND ` + c + ` GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][ T][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'
		AND julianday(` + c + `) IS NOT NULL)`
}

// checkOriginalRuns returns an error naming the first run that the
// conversion could not copy as it is, and the value that stops it.
func checkOriginalRuns(ctx context.Context, tx *sql.Tx, shape *originalShape) error {
	statuses := make([]string, len(originalStatuses))
	for i, s := range originalStatuses {
		statuses[i] = "'" + string(s) + "'"
	}
	for _, c := range []struct{ column, where, what string }{
		{"status", `status NOT IN (` + strings.Join(statuses, ", ") + `)`, "has status %s, which the original troc never recorded"},
		{shape.jobID, shape.jobID + ` NOT IN (SELECT id FROM trochilus_jobs)`, "belongs to job %s, which is not in the history"},
		{"start_time", `NOT ` + originalTimeOK("start_time"), "has start time %s: want YYYY-MM-DD HH:MM:SS"},
		{"end_time", `end_time IS NOT NULL AND NOT ` + originalTimeOK("end_time"), "has end time %s: want YYYY-MM-DD HH:MM:SS"},
	} {
		var id int64
		var value string
		err := tx.QueryRowContext(ctx, `SELECT id, quote(`+c.column+`) FROM trochilus_runs WHERE `+c.where+` ORDER BY id LIMIT 1`).Scan(&id, &value)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("run %d "+c.what, id, value)
	}
	return nil
}

// originalJobsSQL copies the original's jobs, ids and names kept, with
// notify_log_content as notify_log. A job was created, as far as the
// history tells, when its first run started, else now (?1).
func originalJobsSQL(shape *originalShape) string {
	notifyLog := "0"
	if shape.notifyLog {
		notifyLog = "notify_log_content IN (1, '1', 'true', 'TRUE')"
	}
	return `
		INSERT INTO jobs (id, name, notify_log, created_ms)
		SELECT j.id, j.name, ` + notifyLog + `,
			coalesce((SELECT min(` + originalMS("r.start_time") + `) FROM trochilus_runs r WHERE r.` + shape.jobID + ` = j.id), ?1)
		FROM trochilus_jobs j ORDER BY j.id`
}

// originalRunsSQL copies the original's runs, on this host (?1), with no
// command (the original kept none). A finished run that the original
// left without an end (none should be) ends when it started.
func originalRunsSQL(shape *originalShape) string {
	pid := "NULL"
	if shape.pid {
		pid = "nullif(pid, 0)"
	}
	return `
		INSERT INTO runs (id, job_id, status, start_ms, end_ms, exit_code, pid,
			host, command, log_file, system_log_file, note)
		SELECT id, ` + shape.jobID + `, status, ` + originalMS("start_time") + `,
			CASE WHEN status = 'Running' THEN NULL
				ELSE coalesce(` + originalMS("end_time") + `, ` + originalMS("start_time") + `) END,
			CASE WHEN status = 'Succeeded' THEN 0 END,
			` + pid + `, ?1, '', nullif(log_file, ''), nullif(exec_log_file, ''),
			CASE WHEN status NOT IN ('Running', 'Skipped') AND end_time IS NULL
				THEN 'the original troc recorded no end' END
		FROM trochilus_runs ORDER BY id`
}

// setOriginalPIDStarts records the pid start time of every converted run
// that is still Running with a pid (see the rules at the top).
func setOriginalPIDStarts(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, pid, start_ms FROM runs WHERE status = 'Running' AND pid IS NOT NULL`)
	if err != nil {
		return err
	}
	type running struct {
		id, startMS int64
		pid         int
	}
	var list []running
	for rows.Next() {
		var r running
		if err := rows.Scan(&r.id, &r.pid, &r.startMS); err != nil {
			rows.Close()
			return err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(list) == 0 {
		return nil
	}
	boot, err := bootTime()
	if err != nil {
		return err
	}
	for _, r := range list {
		start := time.UnixMilli(r.startMS)
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET pid_start = ? WHERE id = ?`,
			originalPIDStart(r.pid, start, boot), r.id); err != nil {
			return err
		}
	}
	return nil
}

// originalPIDStart returns the pid start time to record for a Running
// run of the original that started at start with process pid: the start
// time of the process now at pid if it started with the run, else the
// run's start in the same unit (clock ticks after boot), which that
// process does not have.
func originalPIDStart(pid int, start, boot time.Time) int64 {
	ticks := func(t time.Time) int64 { return t.Sub(boot).Milliseconds() * userHZ / 1000 }
	if got, err := procStartTime(pid); err == nil {
		began := boot.Add(time.Duration(got) * time.Second / userHZ)
		// The run's start is to the second, and so is the boot time.
		if !began.Before(start.Add(-time.Second)) && !began.After(start.Add(originalStartSlack)) {
			return got
		}
	}
	if t := ticks(start); t != 0 {
		return t
	}
	return -1 // 0 would read as "unknown"
}

// bootTime returns when the system booted, from /proc/stat's btime.
func bootTime() (time.Time, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				break
			}
			return time.Unix(secs, 0), nil
		}
	}
	return time.Time{}, errors.New("/proc/stat: no btime")
}
