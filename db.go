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

// defaultBusyTimeout is how long a write waits for another troc's
// transaction (the busy_timeout setting). Past it the history counts as
// unavailable and the run is spooled. SQLite retries a busy lock by
// sleeping, not in turn, so with a hundred trocs writing in the same second
// one can lose several times running: the wait must leave room for that,
// and a run's record is worth seconds.
const defaultBusyTimeout = 10 * time.Second

// DB is the history database.
//
// A DB is never closed once something is wrong with it, and troc's
// commands do not close a good one either (see leaveOpen above): closing
// SQLite's last connection to a WAL database checkpoints the WAL into the
// main file and deletes the -wal and -shm files, which must never happen
// to a history troc found corrupt or too new.
type DB struct {
	sql  *sql.DB
	path string
	busy time.Duration // the busy timeout, until gaveUp

	gaveUp bool   // a write found the history busy: later ones do not wait
	wal    fileID // the -wal file the connection has open, once known
	broken error  // why the history must not be used any more, once known
}

// fileID names a file for as long as it exists: its device and inode.
type fileID struct{ dev, ino uint64 }

// migration is one embedded schema file.
type migration struct {
	version int
	name    string
}

// Errors that say the history cannot be used as it is. The messages built
// on them name the file and say what to do.
var (
	errTooNew   = errors.New("database schema is newer than this troc")
	errCorrupt  = errors.New("the history is not a valid troc database")
	errBusy     = errors.New("the history is busy")
	errWALGone  = errors.New("the history's -wal file was deleted while troc had it open")
	errNotAFile = errors.New("not a regular file")

	errUntrustedDir = errors.New("the history's directory is not troc's own")
)

// openDB opens the history at path, creating it if there is no file there,
// and brings its schema up to date, logging each migration. busy is how
// long a write waits for another process's (0: the default).
//
// Before SQLite sees an existing file, openDB checks that it, its -wal
// and its -shm are regular files and that it looks like a database troc
// can use (checkHistoryFile): SQLite would block forever on a FIFO, take a
// 0-byte file for a new database and initialise it, and fold a WAL into a
// file whatever is wrong with it. On any such error the file is left
// exactly as it was, and the error says how to recover.
func openDB(path string, busy time.Duration, log *slog.Logger) (*DB, error) {
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	// The history's directory is troc's, or another user could put a
	// symlink, or their own history, in the history's place.
	dir := filepath.Dir(path)
	if err := ownDir(dir); err != nil {
		return nil, withHint(fmt.Errorf("%w: %v", errUntrustedDir, err),
			"set database in the config to a path in a directory of this user's")
	}
	wal, err := checkHistoryFile(path, len(ms))
	if errors.Is(err, fs.ErrNotExist) {
		if err = createHistory(path, busy, log); err == nil {
			wal, err = checkHistoryFile(path, len(ms))
		}
	}
	if err == nil {
		// The original troc's history, at the same default path, becomes
		// troc's before SQLite opens it as such.
		err = convertOriginal(path, busy, log)
	}
	if err != nil {
		return nil, err
	}
	sqldb, err := sql.Open("sqlite", dsn(path, busy))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// One connection: troc is one short-lived process doing one thing at a
	// time, and a second connection would only add a second set of locks.
	sqldb.SetMaxOpenConns(1)
	db := &DB{sql: sqldb, path: path, busy: busy}
	if err := db.migrate(log, wal, ms); err != nil {
		return nil, db.fail(err) // and not closed: see DB
	}
	db.wal, _ = statID(path + "-wal")
	return db, nil
}

// dsn is the connection string of the history at path. Pragmas go here so
// that every connection database/sql makes gets them.
func dsn(path string, busy time.Duration) string {
	return "file:" + escapeURIPath(path) + "?_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		"&_pragma=wal_autocheckpoint(100)" +
		"&_txlock=immediate"
}

// createHistory makes a new, empty history at path: it builds it under a
// temporary name in the same directory, schema and WAL mode included, and
// links it into place. So a crash at any moment leaves either no history
// or a whole one, never a 0-byte or half-made file that the next troc
// would have to take for corrupt; and of several trocs that find no
// history in the same instant, the first link wins and the others use it.
func createHistory(path string, busy time.Duration, log *slog.Logger) error {
	dir := filepath.Dir(path)
	f, tmp, err := createUnique(dir, "."+filepath.Base(path), ".new")
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}()
	sqldb, err := sql.Open("sqlite", dsn(tmp, busy))
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(1)
	log.Info("Creating: " + path)
	db := &DB{sql: sqldb, path: tmp, busy: busy}
	ms, err := migrations()
	if err == nil {
		err = db.migrate(log, false, ms)
	}
	// Closing checkpoints the WAL into the new file: it is complete
	// before it gets its name.
	if cerr := sqldb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	// EEXIST: another troc made it first, and this one uses that.
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	return nil
}

// checkHistoryFile checks the history at path before SQLite opens it, and
// reports whether it is in WAL mode. It is fs.ErrNotExist when there is no
// file (and nothing else, not even a dangling symlink) at path. known is
// the newest schema version this troc knows.
//
// It reads the file's first 100 bytes (the database header) rather than
// asking SQLite: without blocking (a FIFO), without following a symlink
// and without changing anything. Corruption inside the file shows only
// when SQLite reads the page; DB.fail keeps that from being written over.
func checkHistoryFile(path string, known int) (wal bool, err error) {
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := checkRegular(path+suffix, true); err != nil {
			return false, notAFile(path, err)
		}
	}
	f, err := openRegular(path)
	if err != nil {
		return false, notAFile(path, err)
	}
	defer f.Close()
	var h [100]byte
	n, err := io.ReadFull(f, h[:])
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return false, historyErrorf(path, errCorrupt, "it is empty (0 bytes)")
	case err != nil && err != io.ErrUnexpectedEOF:
		return false, fmt.Errorf("read database %s: %w", path, err)
	case n < len(h) || string(h[:16]) != "SQLite format 3\x00":
		return false, historyErrorf(path, errCorrupt, "it is not an SQLite database")
	}
	pageSize := int64(h[16])<<8 | int64(h[17])
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return false, historyErrorf(path, errCorrupt, "its header is damaged (page size %d)", pageSize)
	}
	wal = h[18] == 2 && h[19] == 2
	// The page count is valid when the change counter and the
	// version-valid-for number agree. A WAL with frames may still hold the
	// pages past the end, so only a file without one can be short.
	pages := int64(be32(h[28:]))
	if be32(h[24:]) == be32(h[92:]) && pages > 0 {
		st, err := f.Stat()
		if err != nil {
			return false, fmt.Errorf("read database %s: %w", path, err)
		}
		walSize := int64(0)
		if fi, err := os.Lstat(path + "-wal"); err == nil {
			walSize = fi.Size()
		}
		if walSize == 0 && st.Size() < pages*pageSize {
			return false, historyErrorf(path, errCorrupt, "it is truncated (%d bytes of %d)", st.Size(), pages*pageSize)
		}
	}
	if v := int(be32(h[60:])); v > known {
		return false, tooNew(path, v, known)
	}
	return wal, nil
}

// be32 reads a big-endian uint32, as the database header stores them.
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// historyErrorf is err about the history at path, saying what is wrong
// and how to recover, which for every such file is the same: troc leaves
// it alone, and a person decides.
func historyErrorf(path string, err error, format string, args ...any) error {
	return withHint(fmt.Errorf("%w: %s: %s; troc leaves it as it is", err, path, fmt.Sprintf(format, args...)),
		fmt.Sprintf("move %s (with any -wal and -shm beside it) aside to start a new history, or try: sqlite3 %s .recover", path, path))
}

// notAFile adds what to do to an error of openRegular or checkRegular
// about the history at path or a file beside it.
func notAFile(path string, err error) error {
	if errors.Is(err, errNotAFile) {
		return withHint(err, "move it aside, or set database in the config to the history's real path")
	}
	return err
}

// tooNew is the error for a history at schema version v.
func tooNew(path string, v, known int) error {
	return withHint(fmt.Errorf("%w: %s is at version %d, this troc (%s) knows up to %d; troc leaves it as it is",
		errTooNew, path, v, version, known), "use the newer troc that wrote it")
}

// checkRegular returns an error unless path is a regular file (or, when
// missing is true, nothing at all). It never follows a symlink.
func checkRegular(path string, missing bool) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist) && missing:
		return nil
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s: %w (%s); troc does not open it", path, errNotAFile, fileKind(fi.Mode()))
	}
	return nil
}

// openRegular opens path for reading if it is a regular file. It neither
// follows a symlink nor blocks on a FIFO or a device: it opens without
// waiting, then checks what it opened.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s: %w (a symlink); troc does not follow it", path, errNotAFile)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w (%s); troc does not open it", path, errNotAFile, fileKind(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// fileKind names the kind of file m describes, for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

// statID returns the identity of the file at path.
func statID(path string) (fileID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}, err
	}
	return fileID{uint64(st.Dev), st.Ino}, nil
}

// escapeURIPath escapes the characters that end or change a file: URI path.
func escapeURIPath(p string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return r.Replace(p)
}

// Close closes the database, unless something was found wrong with it
// (see DB). Only tests close a good one.
func (db *DB) Close() error {
	if db.broken != nil {
		return nil
	}
	return db.sql.Close()
}

// fail notes what err says about the history and returns it in the form
// users see. A corrupt file (SQLITE_CORRUPT, SQLITE_NOTADB), a newer
// troc's, or one whose WAL was deleted is never touched again by this
// troc: not written, and not closed, which would checkpoint into it. A
// busy one makes every later write give up at once, so that one troc
// waits on a busy history once, not once per write.
func (db *DB) fail(err error) error {
	switch code := sqliteCode(err); {
	case err == nil:
		return nil
	case errors.Is(err, errTooNew) || errors.Is(err, errCorrupt) || errors.Is(err, errWALGone):
		db.broken = err
	case code == sqliteCorrupt || code == sqliteNotADB:
		err = historyErrorf(db.path, errCorrupt, "SQLite reports: %v", err)
		db.broken = err
	case isBusy(err):
		db.giveUp()
		err = withHint(fmt.Errorf("%w: %s: another process has held its write lock for over %s", errBusy, db.path, db.busy),
			"fuser -v "+db.path+" names the processes that have it open")
	}
	return err
}

// giveUp makes the history's later writes fail at once rather than wait.
func (db *DB) giveUp() {
	if !db.gaveUp {
		db.gaveUp = true
		db.sql.Exec(`PRAGMA busy_timeout = 0`)
	}
}

// checkWAL returns errWALGone when the -wal file at the history's path is
// no longer the one troc's connection has open: someone deleted it (a tmp
// cleaner, a careless rm), and what troc wrote since went into a file
// nobody will ever read.
func (db *DB) checkWAL() error {
	if db.wal == (fileID{}) {
		db.wal, _ = statID(db.path + "-wal")
		return nil
	}
	if id, err := statID(db.path + "-wal"); err != nil || id != db.wal {
		return db.fail(fmt.Errorf("%w: %s-wal", errWALGone, db.path))
	}
	return nil
}

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

// migrate applies the migrations the database lacks, each in its own
// transaction with its version bump, so a failure leaves the database at
// the last complete version, and puts it in WAL mode unless wal says it is
// already. A database newer than this binary is left untouched.
func (db *DB) migrate(log *slog.Logger, wal bool, ms []migration) error {
	ctx := context.Background()
	current, err := db.userVersion(ctx, db.sql)
	if err != nil {
		return fmt.Errorf("read database %s: %w", db.path, err)
	}
	if current > len(ms) {
		return tooNew(db.path, current, len(ms))
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
// mode is WAL (whoever set it) or the busy timeout has passed.
func (db *DB) setWAL(ctx context.Context) error {
	deadline := time.Now().Add(db.busy)
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
func isBusy(err error) bool { return sqliteCode(err) == sqliteBusy }

// sqliteCode is the primary result code of an SQLite error, or 0.
func sqliteCode(err error) int {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code() & 0xff
	}
	return 0
}

// SQLite's primary result codes that troc tells apart.
const (
	sqliteBusy    = 5
	sqliteCorrupt = 11
	sqliteFull    = 13
	sqliteNotADB  = 26
)

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
	start := time.Now()
	applied := false
	err = db.write(ctx, func(tx *sql.Tx) error {
		v, err := db.userVersion(ctx, tx)
		if err != nil || v >= m.version {
			return err
		}
		log.Info("Applying: " + m.name)
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return err
		}
		applied = true
		// PRAGMA takes no parameters; the version is an integer we made.
		_, err = tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version))
		return err
	})
	if err == nil && applied {
		log.Info(fmt.Sprintf("Applied: %s in %s", m.name, time.Since(start)))
	}
	return err
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
	Created     time.Time
	Schedule    string        // cron expression (cron.go); "": none
	ScheduleSet time.Time     // when the schedule was set
	Grace       time.Duration // how late a scheduled run may start; 0: defaultGrace
	MaxRuntime  time.Duration // running longer is stuck; 0: no limit
}

// jobColumns are the columns a jobRow reads, in its order; j is jobs.
const jobColumns = `j.id, j.name, j.description, j.timeout_ms, j.notify_log, j.notify, j.notify_on,
	j.last_success_ms, j.created_ms, j.schedule, j.schedule_ms, j.grace_ms, j.max_runtime_ms`

// jobRow scans jobColumns into a Job.
type jobRow struct {
	j                                                      *Job
	timeoutMS, lastSuccess, scheduleMS, graceMS, runtimeMS sql.NullInt64
	created                                                int64
	notifyOn, schedule                                     sql.NullString
}

// dest returns the scan destinations of jobColumns.
func (r *jobRow) dest() []any {
	j := r.j
	return []any{&j.ID, &j.Name, &j.Description, &r.timeoutMS, &j.NotifyLog, &j.Notify, &r.notifyOn,
		&r.lastSuccess, &r.created, &r.schedule, &r.scheduleMS, &r.graceMS, &r.runtimeMS}
}

// fill sets the job's fields that are stored in another form, once the
// row is scanned.
func (r *jobRow) fill() {
	j := r.j
	ms := func(n sql.NullInt64) time.Duration { return time.Duration(n.Int64) * time.Millisecond }
	j.Timeout, j.Grace, j.MaxRuntime = ms(r.timeoutMS), ms(r.graceMS), ms(r.runtimeMS)
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

// ensureJob returns the named job, creating it with default settings if
// it does not exist yet; created says whether it did.
func (db *DB) ensureJob(ctx context.Context, name string, now time.Time) (job Job, created bool, err error) {
	job, err = db.job(ctx, name)
	if !errors.Is(err, sql.ErrNoRows) {
		return job, false, err
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO jobs (name, created_ms) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`,
			name, now.UnixMilli())
		if err == nil {
			var n int64
			n, err = res.RowsAffected()
			created = n == 1
		}
		return err
	})
	if err != nil {
		return job, false, err
	}
	job, err = db.job(ctx, name)
	return job, created, err
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

// write runs fn in one write transaction (BEGIN IMMEDIATE: see the top of
// this file), committing only if fn succeeds. Every write of the history
// goes through it, so every one refuses a history found broken, waits on
// a busy one at most once per troc (DB.fail), and notices a -wal deleted
// under it.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.broken != nil {
		return db.broken
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return db.fail(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return db.fail(err)
	}
	if err := tx.Commit(); err != nil {
		return db.fail(err)
	}
	return db.checkWAL()
}

// read runs fn in one read transaction: one snapshot of the history for
// all of fn's queries, however many, without the write lock. Every other
// transaction is BEGIN IMMEDIATE (the DSN's _txlock), which takes the
// write lock and so would queue a reader behind writers; for a read-only
// transaction the driver issues a plain BEGIN, whose snapshot starts at
// the first read.
func (db *DB) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return db.fail(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return db.fail(err)
	}
	return tx.Commit()
}

// insertRunSQL records a run of the job ?1.
const insertRunSQL = `
	INSERT INTO runs (job_id, status, start_ms, end_ms, exit_code, signal,
		pid, pid_start, host, command, log_file, system_log_file,
		output_bytes, note, spool_key, end_inferred)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertRun records a new run and sets r.ID, creating its job if need be.
// A run replayed from a spool file carries its spool key: it is inserted
// once however often the replay is attempted, and the only row it ever
// replaces is its own with an end that troc presumed (end_inferred), when
// this is the real end (replaceSpooled).
func (db *DB) insertRun(ctx context.Context, r *Run) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if r.SpoolKey != "" {
			if done, err := replaceSpooled(ctx, tx, r); done || err != nil {
				return err
			}
		}
		var jobID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM jobs WHERE name = ?`, r.Job).Scan(&jobID)
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
		res, err := tx.ExecContext(ctx, insertRunSQL, jobID,
			r.Status, r.Start.UnixMilli(), nullTime(r.End), r.ExitCode, nullInt(int64(r.Signal)),
			nullInt(int64(r.PID)), nullInt(r.PIDStart), r.Host, r.Command, nullStr(r.LogFile), nullStr(r.SystemLogFile),
			r.OutputBytes, nullStr(r.Note), nullStr(r.SpoolKey), r.Inferred)
		if err != nil {
			return err
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return countRun(ctx, tx, runCount{job: jobID, run: r.ID, start: r.Start, end: r.End, to: r.Status})
	})
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
		end: r.End, from: status, to: r.Status})
}

// errRunNotFound says the history has no such run.
var errRunNotFound = errors.New("run not in the history")

// finishRun records the real end of a run that insertRun recorded,
// replacing an end presumed meanwhile (run term, orphan marking). The
// start time must match too: a run id alone could name another run in a
// history that was replaced since (restored from a backup, say).
func (db *DB) finishRun(ctx context.Context, r *Run) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var jobID int64
		var status Status
		err := tx.QueryRowContext(ctx, `SELECT job_id, status FROM runs WHERE id = ? AND start_ms = ?`,
			r.ID, r.Start.UnixMilli()).Scan(&jobID, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return r.notFound()
		}
		if err != nil {
			return err
		}
		if err := setEnd(ctx, tx, r.ID, r); err != nil {
			return err
		}
		return countRun(ctx, tx, runCount{job: jobID, run: r.ID, start: r.Start, end: r.End, from: status, to: r.Status})
	})
}

// setEnd writes r's end over that of run id, within tx.
func setEnd(ctx context.Context, tx *sql.Tx, id int64, r *Run) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE runs SET status = ?, end_ms = ?, exit_code = ?, signal = ?, output_bytes = ?, note = ?, end_inferred = 0
		WHERE id = ?`,
		r.Status, nullTime(r.End), r.ExitCode, nullInt(int64(r.Signal)), r.OutputBytes, nullStr(r.Note), id)
	return err
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
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = r.notFound()
			}
			return err
		}
		return nil
	})
}

// runCount is a write's change to a job's runs, as its summary counts
// them (schema/0002_job_summary.sql): run of job, which started at start,
// goes from status from ("" for a new run) to status to, ending at end.
type runCount struct {
	job, run   int64
	start, end time.Time
	from, to   Status
}

// countSQL changes the job's row by a runCount: ?2 new runs (0 or 1),
// ?3 more failures (-1, 0 or 1), ?4 to ?8 more runs of each final status,
// the run ?9, and if the run now ended (not Skipped) ?10 with status
// ?11, and if it succeeded the end ?12.
const countSQL = `
	UPDATE jobs SET
		last_run_id = CASE WHEN ?2 THEN max(coalesce(last_run_id, 0), ?9) ELSE last_run_id END,
		last_success_ms = CASE WHEN ?12 IS NULL THEN last_success_ms ELSE max(coalesce(last_success_ms, 0), ?12) END,
		runs_total = runs_total + ?2,
		failures_total = failures_total + ?3,
		skipped = skipped + ?4, succeeded = succeeded + ?5, failed = failed + ?6,
		terminated = terminated + ?7, timedout = timedout + ?8,
		last_end_id = CASE WHEN ?10 AND coalesce(last_end_id, 0) <= ?9 THEN ?9 ELSE last_end_id END,
		last_end_status = CASE WHEN ?10 AND coalesce(last_end_id, 0) <= ?9 THEN ?11 ELSE last_end_status END
	WHERE id = ?1`

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
	status := func(s Status) int64 { return one(c.to == s) - one(c.from == s) }
	var success any // NULL: not a success
	if c.to == StatusSucceeded {
		success = c.end.UnixMilli()
	}
	_, err := tx.ExecContext(ctx, countSQL, c.job, added, failures,
		status(StatusSkipped), status(StatusSucceeded), status(StatusFailed), status(StatusTerminated), status(StatusTimedOut),
		c.run, c.to != StatusRunning && c.to != StatusSkipped, string(c.to), success)
	return err
}

// countDays adds runs and failures to the job's running totals of day and
// of every later day (only a run replayed long after finds any), within
// tx. A day without a row yet gets one, from the totals of the day before
// it; only a new run makes one.
func countDays(ctx context.Context, tx *sql.Tx, job, day, runs, failures int64) error {
	rows, err := tx.QueryContext(ctx, `
		UPDATE job_days SET runs = runs + ?, failures = failures + ?
		WHERE job_id = ? AND day >= ?
		RETURNING day`, runs, failures, job, day)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return err
		}
		found = found || d == day
	}
	if err := rows.Err(); err != nil || found || runs == 0 {
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
	r.output_bytes, r.note, r.spool_key`

// scanRun reads one row of runColumns, after the columns that first
// points to. All the run's columns NULL (an outer join that found no run)
// give a nil run.
func scanRun(row interface{ Scan(...any) error }, first ...any) (*Run, error) {
	var r Run
	var id, start, end, exit, sig, pid, pidStart, outBytes sql.NullInt64
	var status, host, command, logFile, sysLog, note, spoolKey sql.NullString
	err := row.Scan(append(first, &id, &r.Job, &status, &start, &end, &exit, &sig,
		&pid, &pidStart, &host, &command, &logFile, &sysLog,
		&outBytes, &note, &spoolKey)...)
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
	Limit    int // 0: no limit
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
	q += ` ORDER BY r.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return scanRuns(db.sql.QueryContext(ctx, q, args...))
}

// jobStatesSQL reads every job (?2 = ”) or one, with its latest run and,
// unless ?1 (a day) is NULL, its tallies since that day. The tallies are
// the job's totals less the last running total before the period (see
// schema/0002_job_summary.sql), packed in one integer (runs in the high
// bits) so that the lookup is one, not two.
const jobStatesSQL = `
	SELECT ` + jobColumns + `, j.last_end_status, j.health, j.health_ms,
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
		var lastEnd, health sql.NullString
		var healthMS sql.NullInt64
		var skipped, succeeded, failed, terminated, timedout, tallies int64
		s.LastRun, err = scanRun(rows, append(jr.dest(), &lastEnd, &health, &healthMS,
			&skipped, &succeeded, &failed, &terminated, &timedout, &tallies)...)
		if err != nil {
			return nil, err
		}
		jr.fill()
		s.LastEnd, s.Announced = Status(lastEnd.String), Health(health.String)
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

// jobBusyError says a job cannot be deleted: a run of it is in progress.
type jobBusyError struct{ run int64 }

func (e *jobBusyError) Error() string { return fmt.Sprintf("run %d is in progress", e.run) }

// jobChange is a change to a job's settings; nil fields stay as they are.
type jobChange struct {
	Rename      *string
	Description *string
	Timeout     *time.Duration // 0: none
	NotifyLog   *bool
	Notify      *bool
	NotifyOn    *[]Status // a nil slice: back to the config's notify.on
	Schedule    *string   // "": none; setting it also sets schedule_ms
	Grace       *time.Duration
	MaxRuntime  *time.Duration
	Now         time.Time // when the change is made
}

// addJob creates a job with the given settings, or returns errJobExists.
func (db *DB) addJob(ctx context.Context, name string, c jobChange, now time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO jobs (name, created_ms) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`, name, now.UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = fmt.Errorf("%w: %s", errJobExists, name)
			}
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
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = fmt.Errorf("%w: %s", errJobNotFound, name)
		}
		return err
	}
	return nil
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
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = fmt.Errorf("%w: %s", errJobNotFound, name)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return runs, nil
}

// jobIDs returns the ids of every job.
func (db *DB) jobIDs(ctx context.Context) ([]int64, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id FROM jobs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
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
// returns how many it deleted.
func (db *DB) deleteRuns(ctx context.Context, runs []*Run) (n int64, err error) {
	err = db.write(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, r := range runs {
			res, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ? AND status <> 'Running'`, r.ID)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
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

// Notifications: the failure streaks and alerts that the rules in
// notify.go read and write (schema/0003_notify.sql).

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
// Running ones do not count), and its latest alert. Both walks are range
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
				AND r.status IN ('Failed', 'TimedOut', 'Terminated')),
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

// appendRunNote adds a sentence to the note of a recorded run, matched by
// id and start time as finishRun matches it.
func (db *DB) appendRunNote(ctx context.Context, r *Run, note string) error {
	return db.updateRun(ctx, r, `note = CASE WHEN coalesce(note, '') = '' THEN ? ELSE note || '; ' || ? END`, note, note)
}
