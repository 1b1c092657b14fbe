package main

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIsBusy holds a real SQLite write lock and checks that the error a
// second writer gets is the one setWAL retries on, and that others are not.
func TestIsBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	holder, other := open(), open()
	if _, err := holder.Exec(`CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	_, err := other.Exec(`PRAGMA journal_mode = WAL`)
	if err == nil {
		err = errors.New("no error")
	}
	if !isBusy(err) {
		t.Errorf("isBusy(%v) = false, want true", err)
	}
	mem, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if _, err := mem.Exec(`SELECT * FROM nowhere`); err == nil || isBusy(err) {
		t.Errorf("isBusy(%v) = true, want false", err)
	}
	if isBusy(errors.New("database is locked")) {
		t.Error("isBusy trusts an error's text")
	}
}

// TestTallies: job_days keeps running totals that give the runs and
// failures of any period, whatever order runs arrive in and however
// their status changes, and the job's summary columns match its runs,
// through every write that adds a run or changes its status.
func TestTallies(t *testing.T) {
	ctx := context.Background()
	db, err := openDB(filepath.Join(t.TempDir(), "troc.db"), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if err := db.addJob(ctx, "j", jobChange{}, now.AddDate(0, 0, -100)); err != nil {
		t.Fatal(err)
	}
	run := func(daysAgo int, status Status) *Run {
		start := now.AddDate(0, 0, -daysAgo)
		r := &Run{Job: "j", Status: status, Start: start, Host: "h", Command: "c"}
		if status != StatusRunning {
			r.End = start.Add(time.Second)
		}
		return r
	}
	insert := func(r *Run) *Run {
		t.Helper()
		if err := db.insertRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	add := func(daysAgo int, status Status) *Run {
		t.Helper()
		return insert(run(daysAgo, status))
	}
	finish := func(r *Run, status Status) {
		t.Helper()
		r.Status, r.End = status, now
		if err := db.finishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	state := func() *jobState {
		t.Helper()
		states, err := db.jobStates(ctx, "j", now.AddDate(0, 0, -29))
		if err != nil || len(states) != 1 {
			t.Fatal(err, len(states))
		}
		return states[0]
	}
	check := func(what string, runs, failures int64) {
		t.Helper()
		if s := state(); s.Runs != runs || s.Failures != failures {
			t.Errorf("%s: %d runs, %d failures in 30 days; want %d, %d", what, s.Runs, s.Failures, runs, failures)
		}
		checkSummaries(t, db)
	}
	add(40, StatusFailed) // before the period
	add(20, StatusSucceeded)
	add(20, StatusFailed)
	add(1, StatusTimedOut)
	check("in order", 3, 2)
	add(25, StatusTerminated) // replayed late, between days already counted
	add(35, StatusFailed)     // replayed late, before the period
	check("replayed", 4, 3)
	add(0, StatusSkipped)
	check("skipped", 5, 3)

	running := add(0, StatusRunning)
	check("running", 6, 3)
	finish(running, StatusTerminated)
	check("orphaned", 6, 4)
	finish(running, StatusSucceeded) // its real end, after all
	check("its real end", 6, 3)
	finish(running, StatusSucceeded) // a replay of that end, again
	check("the same end again", 6, 3)

	// troc run term, then the real end.
	termed := add(0, StatusRunning)
	if err := db.terminateRun(ctx, termed.ID, now, "marked by hand"); err != nil {
		t.Fatal(err)
	}
	check("run term", 7, 4)
	if err := db.terminateRun(ctx, termed.ID, now, "again"); !errors.Is(err, errNotRunning) {
		t.Errorf("terminateRun of an ended run = %v, want errNotRunning", err)
	}
	check("run term again", 7, 4)
	finish(termed, StatusFailed)
	check("run term, then its real end", 7, 4)

	// A spooled run, replayed first as an orphan (a presumed end), then
	// with its real end, then again: one run, counted by its real end.
	orphan := run(2, StatusTerminated)
	orphan.SpoolKey, orphan.Inferred = "k1", true
	insert(orphan)
	check("spooled orphan", 8, 5)
	real := run(2, StatusSucceeded)
	real.SpoolKey = "k1"
	insert(real)
	if real.ID != orphan.ID {
		t.Errorf("the real end made run %d, want it over run %d", real.ID, orphan.ID)
	}
	check("its real end replayed", 8, 4)
	insert(real)
	presumed := run(2, StatusTerminated)
	presumed.SpoolKey, presumed.Inferred = "k1", true
	insert(presumed) // a presumed end never replaces a real one
	check("replayed again", 8, 4)

	// A spooled run whose start is in the history: finishRun.
	started := add(0, StatusRunning)
	finish(started, StatusTimedOut)
	check("spooled end", 9, 5)

	// A run of a job the history does not know yet.
	other := &Run{Job: "new", Status: StatusSucceeded, Start: now, End: now, Host: "h", Command: "c"}
	insert(other)
	checkSummaries(t, db)

	s := state()
	want := map[Status]int64{StatusSkipped: 1, StatusSucceeded: 3, StatusFailed: 4, StatusTerminated: 1, StatusTimedOut: 2}
	for st, n := range want {
		if s.Counts[st] != n {
			t.Errorf("%s runs = %d, want %d (counts %v)", st, s.Counts[st], n, s.Counts)
		}
	}
	if s.LastEnd != StatusTimedOut || s.LastRun == nil || s.LastRun.ID != started.ID || !s.LastSuccess.Equal(now) {
		t.Errorf("last end %s, last run %+v, last success %s; want TimedOut, run %d, %s", s.LastEnd, s.LastRun, s.LastSuccess, started.ID, now)
	}

	// A run that ends after a later one did (its end replayed from a
	// spool, say): the later run's end stays the job's last.
	earlier, later := add(0, StatusRunning), add(0, StatusRunning)
	finish(later, StatusSucceeded)
	finish(earlier, StatusFailed)
	check("an earlier run ending last", 11, 6)
	if s := state(); s.LastEnd != StatusSucceeded || s.LastRun == nil || s.LastRun.ID != later.ID {
		t.Errorf("last end %s, last run %+v; want Succeeded, run %d", s.LastEnd, s.LastRun, later.ID)
	}
}

// TestMigrateSummaryBackfill: a history from before the job summaries
// (schema version 1) gets them from its runs when it is upgraded.
func TestMigrateSummaryBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "troc.db")
	raw := openRaw(t, path)
	v1, err := schemaFS.ReadFile("schema/0001_initial.sql")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	day := int64(24 * time.Hour / time.Millisecond)
	ms := now.UnixMilli()
	if _, err := raw.Exec(string(v1)+`
		INSERT INTO jobs (id, name, created_ms) VALUES (1, 'old', 0), (2, 'idle', 0);
		INSERT INTO runs (id, job_id, status, start_ms, end_ms, host, command) VALUES
			(1, 1, 'Failed', ?1 - 40 * ?2, ?1 - 40 * ?2 + 5, 'h', 'c'),
			(2, 1, 'Succeeded', ?1 - 3 * ?2, ?1 - 3 * ?2 + 5, 'h', 'c'),
			(3, 1, 'TimedOut', ?1 - 2 * ?2, ?1 - 2 * ?2 + 5, 'h', 'c'),
			(4, 1, 'Skipped', ?1 - 2 * ?2, ?1 - 2 * ?2, 'h', 'c'),
			(5, 1, 'Running', ?1 - 1000, NULL, 'h', 'c');
		PRAGMA user_version = 1;`, ms, day); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := openDB(path, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	states, err := db.jobStates(ctx, "", now.AddDate(0, 0, -29))
	if err != nil || len(states) != 2 {
		t.Fatal(err, len(states))
	}
	s := states[1] // by name: idle, old
	if s.Name != "old" || s.LastRun == nil || s.LastRun.ID != 5 || s.LastEnd != StatusTimedOut ||
		s.LastSuccess.UnixMilli() != ms-3*day+5 || s.Runs != 4 || s.Failures != 1 ||
		s.Counts[StatusFailed] != 1 || s.Counts[StatusSkipped] != 1 || s.Counts[StatusTimedOut] != 1 || s.Counts[StatusSucceeded] != 1 {
		t.Errorf("old = %+v (last run %+v); want last run 5 TimedOut, 4 runs, 1 failure, one each of Failed, Skipped, TimedOut, Succeeded", s, s.LastRun)
	}
	if i := states[0]; i.Name != "idle" || i.LastRun != nil || i.Runs != 0 {
		t.Errorf("idle = %+v, want no runs", i)
	}
	// And troc's writes carry on from the totals the migration left.
	r := &Run{Job: "old", Status: StatusFailed, Start: now, End: now, Host: "h", Command: "c"}
	if err := db.insertRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	states, _ = db.jobStates(ctx, "old", now.AddDate(0, 0, -29))
	if s := states[0]; s.Runs != 5 || s.Failures != 2 || s.LastEnd != StatusFailed {
		t.Errorf("after a new run: %d runs, %d failures, last end %s; want 5, 2, Failed", s.Runs, s.Failures, s.LastEnd)
	}
}

// TestQueryPlans holds the queries that must not grow with the history to
// plans without a full scan: retention after each exec, and the one read
// of every job that job list, check and metrics make (which scans the
// jobs, and looks up the rest).
func TestQueryPlans(t *testing.T) {
	db, err := openDB(filepath.Join(t.TempDir(), "troc.db"), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		scans string // the only table a plan may scan whole
	}{
		{"retention by age", expiredByAgeSQL, []any{1, 1000, 100}, ""},
		{"retention by count", expiredByKeepSQL, []any{1, 9, 100}, ""},
		{"job states with tallies", jobStatesSQL, []any{20000, ""}, "j"},
		{"job states without", jobStatesSQL, []any{nil, ""}, "j"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := db.sql.Query("EXPLAIN QUERY PLAN "+tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
				if f := strings.Fields(detail); len(f) > 1 && f[0] == "SCAN" && f[1] != tc.scans {
					t.Errorf("full scan: %q, want none but of table %q", detail, tc.scans)
				}
			}
			if err := rows.Err(); err != nil || len(plan) == 0 {
				t.Errorf("no plan: %v", err)
			}
			if t.Failed() {
				t.Logf("plan:\n%s", strings.Join(plan, "\n"))
			}
		})
	}
}

// TestMigrateRunIDs: migration 0004 keeps every run's id, and the next run
// gets an id past every one the history ever gave out, even when the
// newest runs were deleted before it.
func TestMigrateRunIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "troc.db")
	raw := openRaw(t, path)
	for _, name := range []string{"0001_initial.sql", "0002_job_summary.sql", "0003_notify.sql"} {
		body, err := schemaFS.ReadFile("schema/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatal(name, err)
		}
	}
	if _, err := raw.Exec(`
		INSERT INTO jobs (id, name, created_ms) VALUES (1, 'j', 0);
		INSERT INTO runs (id, job_id, status, start_ms, end_ms, host, command) VALUES
			(3, 1, 'Succeeded', 1, 2, 'h', 'c'), (7, 1, 'Succeeded', 3, 4, 'h', 'c'), (9, 1, 'Failed', 5, 6, 'h', 'c');
		DELETE FROM runs WHERE id = 9; -- pruned, or its job's runs deleted: the summary still names it
		PRAGMA user_version = 3;`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := openDB(path, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range []int64{3, 7} {
		if _, err := db.getRun(ctx, id); err != nil {
			t.Errorf("run %d after the migration: %v", id, err)
		}
	}
	r := &Run{Job: "j", Status: StatusSucceeded, Start: time.UnixMilli(10), End: time.UnixMilli(11), Host: "h", Command: "c"}
	if err := db.insertRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.ID != 10 {
		t.Errorf("new run id = %d, want 10 (9 was given out before)", r.ID)
	}
}

// TestBusyWaitedOnce stalls a history (exclusive locking mode, which
// keeps even readers out) and checks that opening it waits the busy
// timeout once: the connection must not be made twice, once for its
// pragmas and again to give up.
func TestBusyWaitedOnce(t *testing.T) {
	const busy = time.Second
	path := filepath.Join(t.TempDir(), "troc.db")
	db := mustOpen(t, path, 0)
	addRun(t, db, "backup", StatusSucceeded, time.Now())
	db.Close()
	stallDB(t, mustOpen(t, path, 0))
	start := time.Now()
	_, err := openDB(path, busy, slog.New(slog.DiscardHandler))
	// One wait of busy and a little more; a second wait is past it.
	if took := time.Since(start); took > busy*8/5 {
		t.Errorf("openDB took %s, want one wait of the busy timeout (%s)", took.Round(time.Millisecond), busy)
	}
	if !errors.Is(err, errBusy) {
		t.Errorf("openDB: error %v, want errBusy", err)
	}
}

// sqliteBusyError is an error as SQLite's busy lock gives it.
type sqliteBusyError struct{}

func (sqliteBusyError) Error() string { return "database is locked (5) (SQLITE_BUSY)" }
func (sqliteBusyError) Code() int     { return sqliteBusy }

// TestGiveUpInTransaction gives up on a history whose transaction met a
// busy lock: troc must not wait for the connection that the transaction
// itself holds (it would wait forever), and the history's next use must
// not wait at all.
func TestGiveUpInTransaction(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "troc.db"), time.Second)
	for name, use := range map[string]func(fn func(*sql.Tx) error) error{
		"read":  func(fn func(*sql.Tx) error) error { return db.read(t.Context(), fn) },
		"write": func(fn func(*sql.Tx) error) error { return db.write(t.Context(), fn) },
	} {
		db.gaveUp.Store(false)
		if _, err := db.sql.Exec(`PRAGMA busy_timeout = 1000`); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- use(func(*sql.Tx) error { return sqliteBusyError{} }) }()
		select {
		case err := <-done:
			if !errors.Is(err, errBusy) {
				t.Errorf("%s: error %v, want errBusy", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still giving up after 10s, want at once", name)
		}
		var ms int
		if err := db.sql.QueryRow(`PRAGMA busy_timeout`).Scan(&ms); err != nil || ms != 0 {
			t.Errorf("%s: busy_timeout after giving up = %d (%v), want 0", name, ms, err)
		}
	}
}

// mustOpen opens the history at path with the busy timeout busy (0: the
// default), closed when the test ends.
func mustOpen(t *testing.T, path string, busy time.Duration) *DB {
	t.Helper()
	db, err := openDB(path, busy, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestHistoryPathCharacters: the history is made at the path given, even
// when it holds the characters that a SQLite URI gives a meaning to (dsn
// escapes them), and a plain path is passed through as it is.
func TestHistoryPathCharacters(t *testing.T) {
	if got := escapeURIPath("/var/lib/troc/troc.db"); got != "/var/lib/troc/troc.db" {
		t.Errorf("escapeURIPath of a plain path = %q, want it unchanged", got)
	}
	for _, name := range []string{"100%.db", "a?mode=ro.db", "b#c.db", "%3f.db"} {
		path := filepath.Join(t.TempDir(), name)
		db, err := openDB(path, 0, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.sql.Exec(`CREATE TABLE probe (x)`); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		db.Close()
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) == 0 || entries[0].Name() != name {
			t.Errorf("%s: the directory holds %v, want the history under its own name", name, entries)
		}
	}
}
