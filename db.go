package main

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

// The history is one SQLite file shared by every troc process on the host,
// and many of them start in the same second (every job of "*/5 * * * *").
// So: WAL, so readers never wait for the writer; a busy timeout, so a
// writer waits its turn instead of failing; BEGIN IMMEDIATE for every
// write transaction (_txlock), so two writers never deadlock upgrading
// read locks; and short transactions that never span the job's run.
//
// synchronous=NORMAL is safe in WAL mode: a power cut may lose the last
// transactions, never corrupt the file.
//
// leaveOpen: troc exec, the command cron starts every minute, exits
// without closing the database. Closing the last connection checkpoints
// the WAL into the database, fsyncs it and deletes the -wal and -shm
// files, only for the next troc to create them again a minute later; that
// was half of exec's own time. Exiting with the connection open is what a
// crash does, which SQLite is built for: the next troc finds the WAL and
// reads it. wal_autocheckpoint keeps the WAL small, so that read is short;
// the checkpoint happens inside a commit every 100 pages or so instead.

//go:embed schema/*.sql
var schemaFS embed.FS

// busyTimeout is how long a write waits for another troc's transaction.
// Past it the history counts as unavailable and the run is spooled.
const busyTimeout = 5 * time.Second

// DB is the history database.
type DB struct {
	sql  *sql.DB
	path string
}

// migration is one embedded schema file.
type migration struct {
	version int
	name    string
}

// errTooNew says the database was written by a newer troc.
var errTooNew = errors.New("database schema is newer than this troc")

// openDB opens the history at path, creating it and its directory if need
// be, and brings its schema up to date, logging each migration.
func openDB(path string, log *slog.Logger) (*DB, error) {
	exists, wal := readHeader(path)
	if !exists {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
		log.Info("Creating: " + path)
		// SQLite would create it 0644; the history holds commands, which
		// can hold secrets.
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600); err == nil {
			f.Close()
		}
	}
	q := "_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		"&_pragma=wal_autocheckpoint(100)" +
		"&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", "file:"+escapeURIPath(path)+"?"+q)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// One connection: troc is one short-lived process doing one thing at a
	// time, and a second connection would only add a second set of locks.
	sqldb.SetMaxOpenConns(1)
	db := &DB{sql: sqldb, path: path}
	if err := db.migrate(log, wal); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

// escapeURIPath escapes the characters that end or change a file: URI path.
func escapeURIPath(p string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return r.Replace(p)
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// migrations lists the embedded schema files in the order they apply.
// Each is named NNNN_what.sql; NNNN is the schema version it brings the
// database to (SQLite's user_version).
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(schemaFS, "schema")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("schema file %s: name is not NNNN_name.sql", e.Name())
		}
		ms = append(ms, migration{version: v, name: e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("schema file %s: want version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// readHeader reports whether the database file at path exists and
// whether it is in WAL mode. It reads the file's header (bytes 18 and 19
// are 2 in WAL mode) rather than asking SQLite, which would cost a query
// on every troc exec for a setting that changes once in a database's life.
func readHeader(path string) (exists, wal bool) {
	f, err := os.Open(path)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist), false
	}
	defer f.Close()
	var h [20]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return true, false
	}
	return true, h[18] == 2 && h[19] == 2
}

// migrate applies the migrations the database lacks, each in its own
// transaction with its version bump, so a failure leaves the database at
// the last complete version, and puts it in WAL mode unless wal says it is
// already. A database newer than this binary is left untouched.
func (db *DB) migrate(log *slog.Logger, wal bool) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	ctx := context.Background()
	current, err := db.userVersion(ctx, db.sql)
	if err != nil {
		return fmt.Errorf("read database %s: %w", db.path, err)
	}
	if current > len(ms) {
		return fmt.Errorf("%w: %s is at version %d, this troc (%s) knows up to %d; use a newer troc",
			errTooNew, db.path, current, version, len(ms))
	}
	if !wal {
		// WAL is a property of the file: set once, when the file is new
		// (or was made by another tool), not asked for by every connection.
		if err := db.setWAL(ctx); err != nil {
			return fmt.Errorf("set up database %s: %w", db.path, err)
		}
	}
	for _, m := range ms[current:] {
		if err := db.apply(ctx, m, log); err != nil {
			return fmt.Errorf("migrate database %s: %s: %w", db.path, m.name, err)
		}
	}
	return nil
}

// setWAL puts the database in WAL mode. SQLite does not wait on its busy
// handler for this change, and a hundred trocs may find a new database in
// the same instant: while another holds a lock, it retries, until the
// mode is WAL (whoever set it) or busyTimeout has passed.
func (db *DB) setWAL(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := db.sql.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		if err == nil && mode == "wal" {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("journal mode is %s, not wal", mode)
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Duration(1+rand.IntN(10)) * time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == sqliteBusy
}

const sqliteBusy = 5 // SQLITE_BUSY, the primary result code

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) userVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
	return v, err
}

// apply runs one migration unless another troc got there first: many
// processes may find a new database at once, and BEGIN IMMEDIATE lets only
// one of them look and write at a time.
func (db *DB) apply(ctx context.Context, m migration, log *slog.Logger) error {
	body, err := schemaFS.ReadFile("schema/" + m.name)
	if err != nil {
		return err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	v, err := db.userVersion(ctx, tx)
	if err != nil || v >= m.version {
		return err
	}
	log.Info("Applying: " + m.name)
	start := time.Now()
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	// PRAGMA takes no parameters; the version is an integer we made.
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	log.Info(fmt.Sprintf("Applied: %s in %s", m.name, time.Since(start)))
	return nil
}

// Job is a job's stored settings.
type Job struct {
	ID          int64
	Name        string
	Description string
	Timeout     time.Duration // 0: none
	NotifyLog   bool          // include the log's tail in notifications
	Notify      bool          // notify after every run, as if exec had --notify
	NotifyOn    []Status      // statuses that notify; nil: the config's notify.on
	LastSuccess time.Time     // end of the latest Succeeded run; zero: none
}

// ensureJob returns the named job, creating it with default settings if
// it does not exist yet; created says whether it did.
func (db *DB) ensureJob(ctx context.Context, name string, now time.Time) (job Job, created bool, err error) {
	job, err = db.job(ctx, name)
	if !errors.Is(err, sql.ErrNoRows) {
		return job, false, err
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return job, false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `
		INSERT INTO jobs (name, created_ms) VALUES (?, ?)
		ON CONFLICT (name) DO NOTHING`,
		name, now.UnixMilli())
	if err != nil {
		return job, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return job, false, err
	}
	if err := tx.Commit(); err != nil {
		return job, false, err
	}
	job, err = db.job(ctx, name)
	return job, n == 1, err
}

// job returns the named job, or sql.ErrNoRows.
func (db *DB) job(ctx context.Context, name string) (Job, error) {
	var j Job
	var timeoutMS, lastSuccess sql.NullInt64
	var notifyOn sql.NullString
	err := db.sql.QueryRowContext(ctx, `
		SELECT id, name, description, timeout_ms, notify_log, notify, notify_on, last_success_ms
		FROM jobs WHERE name = ?`, name).
		Scan(&j.ID, &j.Name, &j.Description, &timeoutMS, &j.NotifyLog, &j.Notify, &notifyOn, &lastSuccess)
	j.Timeout = time.Duration(timeoutMS.Int64) * time.Millisecond
	if notifyOn.Valid {
		j.NotifyOn = parseStoredStatuses(notifyOn.String)
	}
	if lastSuccess.Valid {
		j.LastSuccess = time.UnixMilli(lastSuccess.Int64).UTC()
	}
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

// insertRun records a new run of an existing job and sets r.ID. A run
// replayed from a spool file carries its spool key, and is inserted at
// most once however often the replay is attempted.
func (db *DB) insertRun(ctx context.Context, r *Run) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `
		INSERT INTO runs (job_id, status, start_ms, end_ms, exit_code, signal,
			pid, pid_start, host, command, log_file, system_log_file,
			output_bytes, note, spool_key)
		SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		FROM jobs WHERE name = ?
		ON CONFLICT DO NOTHING
		RETURNING id`,
		r.Status, r.Start.UnixMilli(), nullTime(r.End), r.ExitCode, nullInt(int64(r.Signal)),
		nullInt(int64(r.PID)), nullInt(r.PIDStart), r.Host, r.Command, nullStr(r.LogFile), nullStr(r.SystemLogFile),
		r.OutputBytes, nullStr(r.Note), nullStr(r.SpoolKey),
		r.Job).Scan(&r.ID)
	if errors.Is(err, sql.ErrNoRows) && r.SpoolKey != "" {
		// Replayed before: the row is there already.
		err = tx.QueryRowContext(ctx, `SELECT id FROM runs WHERE spool_key = ?`, r.SpoolKey).Scan(&r.ID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("job %q does not exist", r.Job)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}

// errRunNotFound says the history has no such run.
var errRunNotFound = errors.New("run not in the history")

// finishRun records the end of a run that insertRun recorded. The start
// time must match too: a run id alone could name another run in a history
// that was replaced since (restored from a backup, say).
func (db *DB) finishRun(ctx context.Context, r *Run) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `
		UPDATE runs SET status = ?, end_ms = ?, exit_code = ?, signal = ?,
			output_bytes = ?, note = ?
		WHERE id = ? AND start_ms = ?`,
		r.Status, nullTime(r.End), r.ExitCode, nullInt(int64(r.Signal)),
		r.OutputBytes, nullStr(r.Note), r.ID, r.Start.UnixMilli())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err == nil {
			err = fmt.Errorf("%w: run %d started %s", errRunNotFound, r.ID, r.Start.UTC().Format(timeLayout))
		}
		return err
	}
	return tx.Commit()
}

// getRun returns the run with the given id, or sql.ErrNoRows.
func (db *DB) getRun(ctx context.Context, id int64) (*Run, error) {
	var r Run
	var end, exit, sig, pid, pidStart, outBytes sql.NullInt64
	var logFile, sysLog, note, spoolKey sql.NullString
	var start int64
	err := db.sql.QueryRowContext(ctx, `
		SELECT r.id, j.name, r.status, r.start_ms, r.end_ms, r.exit_code, r.signal,
			r.pid, r.pid_start, r.host, r.command, r.log_file, r.system_log_file,
			r.output_bytes, r.note, r.spool_key
		FROM runs r JOIN jobs j ON j.id = r.job_id
		WHERE r.id = ?`, id).
		Scan(&r.ID, &r.Job, &r.Status, &start, &end, &exit, &sig,
			&pid, &pidStart, &r.Host, &r.Command, &logFile, &sysLog,
			&outBytes, &note, &spoolKey)
	if err != nil {
		return nil, err
	}
	r.Start = time.UnixMilli(start).UTC()
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
	return &r, nil
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
