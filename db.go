package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
	"sync/atomic"
	"syscall"
	"time"

	"modernc.org/sqlite"
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

	// gaveUp: a write found the history busy, and later ones do not wait.
	// Atomic, as historyConnector reads it, which database/sql may call
	// from a goroutine of its own.
	gaveUp atomic.Bool
	wal    fileID // the -wal file the connection has open, once known
	broken error  // why the history must not be used any more, once known

	started startedRun // the run this troc last recorded as Running
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
	db := &DB{path: path, busy: busy}
	db.sql = sql.OpenDB(historyConnector{db})
	// One connection: troc is one short-lived process doing one thing at a
	// time, and a second connection would only add a second set of locks.
	db.sql.SetMaxOpenConns(1)
	if err := db.migrate(log, wal, ms); err != nil {
		return nil, db.fail(err) // and not closed: see DB
	}
	db.wal, _ = statID(path + "-wal")
	return db, nil
}

// historyConnector makes the history's connections, with the busy
// timeout until troc gives up waiting (giveUp) and with none after: a
// connection's pragmas read the schema, so one made after a busy timeout
// would wait it out again.
type historyConnector struct{ db *DB }

func (c historyConnector) Connect(ctx context.Context) (driver.Conn, error) {
	busy := c.db.busy
	if c.db.gaveUp.Load() {
		busy = 0
	}
	sc, err := sqlite.NewConnector(dsn(c.db.path, busy))
	if err != nil {
		return nil, err
	}
	return sc.Connect(ctx)
}

// Driver is modernc.org/sqlite's registered driver, which every connector
// of the package shares (an empty DSN cannot be refused).
func (historyConnector) Driver() driver.Driver {
	sc, _ := sqlite.NewConnector("")
	return sc.Driver()
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
	f, _, err := openRegularInfo(path)
	return f, err
}

// openRegularInfo is openRegular, also returning what fstat says of the
// file.
func openRegularInfo(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, nil, fmt.Errorf("%s: %w (a symlink); troc does not follow it", path, errNotAFile)
	}
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w (%s); troc does not open it", path, errNotAFile, fileKind(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// ownedByUser reports whether fi is a file of troc's user, or, with
// orRoot, of root.
func ownedByUser(fi os.FileInfo, orRoot bool) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && (st.Uid == uint32(os.Getuid()) || orRoot && st.Uid == 0)
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
	if !strings.ContainsAny(p, "%?#") {
		return p // most paths: no replacer to build
	}
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
func (db *DB) fail(err error) error { return db.failIn(nil, err) }

// failIn is fail for an error met in tx, a transaction that holds troc's
// one connection (nil: none does).
func (db *DB) failIn(tx *sql.Tx, err error) error {
	switch code := sqliteCode(err); {
	case err == nil:
		return nil
	case errors.Is(err, errTooNew) || errors.Is(err, errCorrupt) || errors.Is(err, errWALGone):
		db.broken = err
	case code == sqliteCorrupt || code == sqliteNotADB:
		err = historyErrorf(db.path, errCorrupt, "SQLite reports: %v", err)
		db.broken = err
	case isBusy(err):
		db.giveUp(tx)
		err = withHint(fmt.Errorf("%w: %s: another process has held its write lock for over %s", errBusy, db.path, db.busy),
			"fuser -v "+db.path+" names the processes that have it open")
	}
	return err
}

// giveUp makes the history's later writes fail at once rather than wait,
// without waiting again itself: the connection gets busy_timeout 0
// through tx when that holds it (asking the pool for it would wait
// forever), from the pool only when it is idle there (else the pool would
// make one, whose pragmas wait), and a connection made later starts with
// 0 (historyConnector).
func (db *DB) giveUp(tx *sql.Tx) {
	if db.gaveUp.Swap(true) {
		return
	}
	const noWait = `PRAGMA busy_timeout = 0`
	switch {
	case tx != nil:
		tx.Exec(noWait)
	case db.sql.Stats().Idle > 0:
		db.sql.Exec(noWait)
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

// affected returns none when res changed no row, or the error of asking.
func affected(res sql.Result, none error) error {
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = none
	}
	return err
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

// rowsQueryer is what runs a query of many rows: *sql.DB, *sql.Tx, *sql.Conn.
type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryColumn runs query, whose rows have one column, and returns its
// values in order.
func queryColumn[T any](ctx context.Context, q rowsQueryer, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
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
		return db.failIn(tx, err)
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
		return db.failIn(tx, err)
	}
	return tx.Commit()
}

// Notifications: the failure streaks and alerts that the rules in
// notify.go read and write (schema/0003_notify.sql).
