package main

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of troc exec against a history that is busy, broken, or not
// there: the job is supervised as always, and its run is kept.

// holdHistory takes the sandbox history's write lock, as an admin's
// sqlite3 left in BEGIN IMMEDIATE would, until the returned function is
// called (or the test ends).
func holdHistory(t *testing.T, s *sandbox) (release func()) {
	t.Helper()
	db := s.history()
	conn, err := db.sql.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// stamp returns a shell command that writes the time, as seconds since
// the epoch with nanoseconds, to path.
func stampCmd(path string) string { return "date +%s.%N > " + path }

// readStamp reads a time written by stampCmd.
func readStamp(t *testing.T, path string) time.Time {
	t.Helper()
	f, err := strconv.ParseFloat(strings.TrimSpace(fileContent(t, path)), 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(0, int64(f*1e9))
}

// TestExecBusyHistory holds the history's write lock for the whole test,
// far longer than troc's busy timeout, and checks that the job is
// supervised from its start regardless: its timeout, a signal to troc,
// a Skipped run and a reader, each bounded; then that every run arrives,
// with its real end, once the history is free.
func TestExecBusyHistory(t *testing.T) {
	s := newSandbox(t)
	s.env = append(s.env, "TROC_BUSY_TIMEOUT=4s")
	s.troc("exec", "--name", "first", "true")
	release := holdHistory(t, s)
	dir := s.dir

	t.Run("timeout", func(t *testing.T) {
		start, term := filepath.Join(dir, "t-start"), filepath.Join(dir, "t-term")
		job := stampCmd(start) + "; trap '" + stampCmd(term) + "; exit 0' TERM; sleep 30 & wait"
		res := s.troc("exec", "--name", "slow", "--timeout", "1s", job)
		if res.code != exitTimedOut {
			t.Errorf("exit = %d, want %d\n%s", res.code, exitTimedOut, res.stderr)
		}
		// SIGTERM at 1 s, not once troc has given up on the history (4 s).
		// The job's own first stamp comes a little after troc started the
		// clock (more so on a loaded machine), hence the slack below 1 s.
		if d := readStamp(t, term).Sub(readStamp(t, start)); d < 500*time.Millisecond || d > 2*time.Second {
			t.Errorf("the job got SIGTERM %s after it started, want 1s", d)
		}
	})

	t.Run("signal", func(t *testing.T) {
		ready, got := filepath.Join(dir, "s-ready"), filepath.Join(dir, "s-term")
		job := "trap '" + stampCmd(got) + "; exit 0' TERM; touch " + ready + "; sleep 30 & wait"
		cmd := s.command("exec", "--name", "signalled", job)
		var errb syncBuffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the job to start", func() bool { _, err := os.Stat(ready); return err == nil })
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		waitFor(t, "the job to get SIGTERM", func() bool { _, err := os.Stat(got); return err == nil })
		cmd.Wait()
		if d := readStamp(t, got).Sub(sent); d > time.Second {
			t.Errorf("SIGTERM reached the job %s after troc got it, want at once", d)
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit = %d, want the job's 0\n%s", code, errb.String())
		}
	})

	t.Run("skipped", func(t *testing.T) {
		ready := filepath.Join(dir, "k-ready")
		holder := s.command("exec", "--name", "held", "touch "+ready+"; sleep 30")
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { holder.Process.Signal(syscall.SIGTERM); holder.Wait() }()
		waitFor(t, "the first run to start", func() bool { _, err := os.Stat(ready); return err == nil })
		begin := time.Now()
		res := s.troc("exec", "--name", "held", "true")
		if took := time.Since(begin); took > 4*time.Second+2*time.Second {
			t.Errorf("a Skipped exec took %s, want the busy timeout (4s) and a little", took)
		}
		if res.code != exitSkipped || !strings.Contains(res.stderr, "Run spooled to ") {
			t.Errorf("exit = %d, want %d and a spooled run\n%s", res.code, exitSkipped, res.stderr)
		}
	})

	t.Run("reader", func(t *testing.T) {
		begin := time.Now()
		res := s.troc("run", "list")
		if took := time.Since(begin); took > 4*time.Second+2*time.Second {
			t.Errorf("run list took %s, want the busy timeout (4s) and a little", took)
		}
		if res.code != 0 || !strings.Contains(res.stderr, "The history is busy") || !strings.Contains(res.stdout, "first") {
			t.Errorf("exit = %d, want 0, the runs there and a word about the busy history\n%s\n%s", res.code, res.stdout, res.stderr)
		}
	})

	// The spool has three runs now; one more exec still waits once.
	t.Run("one wait", func(t *testing.T) {
		res := s.troc("exec", "--name", "quick", "true")
		if n := strings.Count(res.stderr, "History database unavailable"); n != 1 {
			t.Errorf("troc gave up on the history %d times, want once\n%s", n, res.stderr)
		}
		if n := strings.Count(res.stderr, "Run spooled to "); n != 1 {
			t.Errorf("troc said it spooled the run %d times, want once\n%s", n, res.stderr)
		}
		r := res.run(t)
		if r.ID != nil || *r.DurationMS > 1000 || !strings.Contains(deref(r.Note), "recorded late: the history was busy") {
			t.Errorf("run = id %v, %d ms, note %q; want no id, its real duration, and why it was late", r.ID, *r.DurationMS, deref(r.Note))
		}
	})

	release()
	res := s.troc("run", "list", "--json", "--limit", "0")
	if res.code != 0 {
		t.Fatalf("exit = %d, want 0\n%s", res.code, res.stderr)
	}
	byJob := map[string]runJSON{}
	var views []runJSON
	jsonOf(t, res, &views)
	for _, v := range views {
		byJob[v.Job] = v
	}
	for job, status := range map[string]Status{"slow": StatusTimedOut, "signalled": StatusTerminated, "quick": StatusSucceeded} {
		v, ok := byJob[job]
		if !ok || v.Status != status || !strings.Contains(deref(v.Note), "recorded late") {
			t.Errorf("%s: %+v, want %s, recorded late", job, v, status)
		}
	}
	if v := byJob["quick"]; v.DurationMS == nil || *v.DurationMS > 1000 {
		t.Errorf("quick lasted %v ms in the history, want its real few", v.DurationMS)
	}
}

// TestExecWALDeleted deletes the history's -wal while a run is going:
// the run is not printed with an id that may be lost, and it reaches the
// history by the spool.
func TestExecWALDeleted(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "first", "true")
	wal := filepath.Join(s.configDir(), "troc.db-wal")
	ready, gone := filepath.Join(s.dir, "ready"), filepath.Join(s.dir, "gone")
	cmd := s.command("exec", "--name", "victim", "touch "+ready+"; while [ ! -e "+gone+" ]; do sleep 0.01; done")
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the run to be recorded", func() bool { return strings.Contains(errb.String(), "Run created with ID") })
	if err := os.Remove(wal); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(gone, nil, 0o600)
	cmd.Wait()
	r := result{stdout: out.String()}.run(t)
	if r.ID != nil || !strings.Contains(deref(r.Note), "-wal file was deleted") {
		t.Errorf("run = id %v, note %q; want no id and why", r.ID, deref(r.Note))
	}
	if !strings.Contains(errb.String(), "Run spooled to ") {
		t.Errorf("stderr does not say the run was spooled:\n%s", errb.String())
	}
	s.troc("run", "list")
	var found bool
	for _, r := range s.runs() {
		found = found || r.Job == "victim" && r.Status == StatusSucceeded
	}
	if !found {
		t.Errorf("the run is not in the history: %v", s.runs())
	}
}

// TestRunIDsNotReused deletes the newest runs: the next run gets a new id.
func TestRunIDsNotReused(t *testing.T) {
	s := newSandbox(t)
	s.troc("exec", "--name", "keep", "true")
	s.troc("exec", "--name", "gone", "true")
	s.troc("exec", "--name", "gone", "true")
	if res := s.troc("job", "rm", "--name", "gone", "--force"); res.code != 0 {
		t.Fatalf("job rm: exit = %d, want 0\n%s", res.code, res.stderr)
	}
	r := s.troc("exec", "--name", "keep", "true").run(t)
	if r.ID == nil || *r.ID != 4 {
		t.Errorf("new run id = %v, want 4 (ids 2 and 3 were given out before)", r.ID)
	}
}

// historyFiles returns the content of the history's files, to compare.
func historyFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Lstat(path + suffix)
		switch {
		case err != nil:
		case !fi.Mode().IsRegular():
			out[suffix] = fi.Mode().String()
		default:
			out[suffix] = fileContent(t, path+suffix)
		}
	}
	return out
}

// TestExecBadHistory gives troc histories it must not touch: each run is
// spooled, the files stay byte for byte as they were, and other commands
// say what is wrong and how to recover.
func TestExecBadHistory(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, path string)
		want  string
	}{
		{"empty", func(t *testing.T, path string) { os.WriteFile(path, nil, 0o600) }, "it is empty (0 bytes)"},
		{"not a database", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("not a database\n", 500)), 0o600)
		}, "it is not an SQLite database"},
		{"truncated", func(t *testing.T, path string) { checkpoint(t, path); os.Truncate(path, 4096) }, "it is truncated"},
		{"scribbled", func(t *testing.T, path string) {
			checkpoint(t, path)
			f, _ := os.OpenFile(path, os.O_WRONLY, 0)
			f.WriteAt([]byte(strings.Repeat("\xff", 4096*3)), 4096)
			f.Close()
		}, "SQLite reports"},
		{"newer", func(t *testing.T, path string) {
			raw := openRaw(t, path)
			if _, err := raw.Exec(`PRAGMA user_version = 99`); err != nil {
				t.Fatal(err)
			}
			// Left in the WAL, as a newer troc would leave it.
			raw.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}, "database schema is newer than this troc"},
		{"newer in the WAL", func(t *testing.T, path string) {
			conn := openRaw(t, path)
			conn.SetMaxOpenConns(1)
			conn.Exec(`PRAGMA wal_autocheckpoint = 0`)
			conn.Exec(`PRAGMA user_version = 99`)
			// The process "dies" with the WAL as it is: copy the files
			// before the connection closes.
			keep := historyFiles(t, path)
			conn.Close()
			for suffix, data := range keep {
				os.WriteFile(path+suffix, []byte(data), 0o600)
			}
		}, "database schema is newer than this troc"},
		{"fifo", func(t *testing.T, path string) {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
			syscall.Mkfifo(path, 0o600)
		}, "not a regular file (a named pipe)"},
		{"fifo wal", func(t *testing.T, path string) {
			os.Remove(path + "-wal")
			syscall.Mkfifo(path+"-wal", 0o600)
		}, "not a regular file (a named pipe)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			s.troc("exec", "--name", "first", "echo one")
			s.troc("exec", "--name", "first", "echo two")
			path := filepath.Join(s.configDir(), "troc.db")
			tt.spoil(t, path)
			before := historyFiles(t, path)

			res := s.troc("exec", "--name", "job", "--timeout", "5s", "echo ran")
			if res.code != 0 || !strings.Contains(res.stderr, tt.want) || !strings.Contains(res.stderr, "Run spooled to ") {
				t.Errorf("exec: exit %d, want 0, %q and a spooled run\n%s", res.code, tt.want, res.stderr)
			}
			if r := res.run(t); r.Status != StatusSucceeded || fileContent(t, *r.LogFile) != "ran\n" {
				t.Errorf("status, log = %s, %q; want Succeeded, %q", r.Status, fileContent(t, *r.LogFile), "ran\n")
			}
			res = s.troc("run", "list")
			if res.code == 0 || !strings.Contains(res.stderr, tt.want) || !strings.Contains(res.stderr, "troc: hint: ") {
				t.Errorf("run list: exit %d, want an error saying %q and a hint\n%s", res.code, tt.want, res.stderr)
			}
			// The -shm is SQLite's index of the WAL, which any reader
			// rebuilds; the database and its WAL are what must not change.
			after := historyFiles(t, path)
			for _, suffix := range []string{"", "-wal"} {
				if got, want := after[suffix], before[suffix]; got != want && want != "" {
					t.Errorf("troc.db%s changed: %d bytes, was %d", suffix, len(got), len(want))
				}
			}
		})
	}
}

// checkpoint folds the WAL of the database at path into it and removes
// the -wal and -shm files, so that a test can spoil the main file alone.
func checkpoint(t *testing.T, path string) {
	t.Helper()
	raw := openRaw(t, path)
	if _, err := raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	// The history must be whole before it is spoiled.
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM runs`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("runs = %d, %v; want 2", n, err)
	}
}

// TestExecSpoolDiskFull fills the history's disk, then the log
// directory's, then the runtime directory's: the run goes to the first
// spool directory that takes it, and only when none does is it lost, which
// troc then says.
func TestExecSpoolDiskFull(t *testing.T) {
	s := newSandbox(t)
	config := mountTmpfs(t, s.dir, "1m")
	logs := mountTmpfs(t, s.dir, "256k")
	runtime := mountTmpfs(t, s.dir, "64k")
	s.env = append(s.env, "TROC_CONFIG_PATH="+config, "TROC_LOGDIR="+logs, "XDG_RUNTIME_DIR="+runtime)
	s.env = append(s.env, "TROC_BUSY_TIMEOUT=1s")
	if res := s.troc("exec", "--name", "first", "true"); res.code != 0 {
		t.Fatalf("exit = %d, want 0\n%s", res.code, res.stderr)
	}
	// A history whose WAL has room takes runs on a full disk: hold it
	// busy, so that the runs must be spooled.
	db, err := openDB(filepath.Join(config, "troc.db"), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.sql.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	spooled := func(res result, dir string) {
		t.Helper()
		r := res.run(t)
		if res.code != 0 || r.ID != nil || !strings.Contains(res.stderr, "Run spooled to "+dir) {
			t.Errorf("exit %d, id %v; want 0, no id, and the run spooled in %s\n%s", res.code, r.ID, dir, res.stderr)
		}
	}
	fill(t, config)
	spooled(s.troc("exec", "--name", "job", "echo one"), filepath.Join(logs, "spool"))
	fill(t, logs)
	spooled(s.troc("exec", "--name", "job", "echo two"), filepath.Join(runtime, "troc", "spool"))
	fill(t, runtime)
	res := s.troc("exec", "-q", "--name", "job", "echo three")
	// Quiet, troc says it in its summary, which cron mails.
	if res.code != 0 || !strings.Contains(res.stdout, "the run is lost") || !strings.Contains(res.stdout, "not recorded: ") {
		t.Errorf("exit %d; want 0, and the summary saying the run is lost\n%s", res.code, res.stdout)
	}
	if res := s.troc("exec", "--name", "job", "echo four"); !strings.Contains(res.stderr, "the run is lost") {
		t.Errorf("stderr does not say the run is lost:\n%s", res.stderr)
	}

	// Space again, and the history free: the next troc replays both.
	conn.ExecContext(t.Context(), "ROLLBACK")
	conn.Close()
	for _, dir := range []string{config, logs, runtime} {
		files, _ := filepath.Glob(filepath.Join(dir, "filler*"))
		for _, f := range files {
			os.Remove(f)
		}
	}
	res = s.troc("run", "list", "--name", "job", "--json")
	var runs []runJSON
	jsonOf(t, res, &runs)
	if len(runs) != 2 {
		t.Errorf("%d runs of job in the history, want the 2 spooled\n%s", len(runs), res.stderr)
	}
}

// TestExecConfigFIFO: a FIFO at config.yaml is refused at once (78), not
// read forever while troc holds the job's lock.
func TestExecConfigFIFO(t *testing.T) {
	s := newSandbox(t)
	os.MkdirAll(s.configDir(), 0o700)
	if err := syscall.Mkfifo(filepath.Join(s.configDir(), "config.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := s.troc("exec", "--name", "job", "true")
	if res.code != exitConfig || !strings.Contains(res.stderr, "not a regular file (a named pipe)") {
		t.Errorf("exit %d, want %d and why\n%s", res.code, exitConfig, res.stderr)
	}
}

// stallHistory holds the sandbox history in SQLite's exclusive locking
// mode, as a process stuck with it open that way would: nothing else can
// even read it until the returned function is called (or the test ends).
func stallHistory(t *testing.T, s *sandbox) (release func()) {
	t.Helper()
	return stallDB(t, s.history())
}

// stallDB holds db's file in SQLite's exclusive locking mode through a
// connection of db's own (see stallHistory).
func stallDB(t *testing.T, db *DB) (release func()) {
	t.Helper()
	conn, err := db.sql.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA locking_mode=EXCLUSIVE", "BEGIN EXCLUSIVE", "UPDATE runs SET note = note WHERE 0", "COMMIT"} {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	done := false
	release = func() {
		if !done {
			done = true
			conn.ExecContext(context.Background(), "PRAGMA locking_mode=NORMAL")
			conn.ExecContext(context.Background(), "SELECT 1 FROM runs LIMIT 1")
			conn.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// TestExecStalledHistory stalls the history so that even the read of the
// job's settings waits out the busy timeout: the job starts regardless,
// within settingsWait, with its flags alone and a note that says so; a
// signal while troc waits for the settings ends it at once; and the job's
// own timeout still applies when the history answers late.
func TestExecStalledHistory(t *testing.T) {
	s := newSandbox(t)
	// SQLite's connection waits the busy timeout: a troc that waited for
	// the settings would start the job 5s late.
	s.env = append(s.env, "TROC_BUSY_TIMEOUT=5s")
	s.mustTroc(0, "job", "add", "--name", "stalled", "--timeout", "2s")
	s.troc("exec", "--name", "first", "true")
	release := stallHistory(t, s)

	t.Run("starts", func(t *testing.T) {
		stamp := filepath.Join(s.dir, "started")
		begin := time.Now()
		res := s.troc("exec", "--name", "stalled", stampCmd(stamp))
		if d := readStamp(t, stamp).Sub(begin); d > settingsWait+1500*time.Millisecond {
			t.Errorf("the job started %s after troc, want within %s and a little, not the busy timeout (5s)", d, settingsWait)
		}
		r := res.run(t)
		if res.code != 0 || r.Status != StatusSucceeded || !strings.Contains(deref(r.Note), "without the job's settings") {
			t.Errorf("exit %d, status %s, note %q; want 0, Succeeded, a note that the job's settings were not read\n%s", res.code, r.Status, deref(r.Note), res.stderr)
		}
	})

	t.Run("signal", func(t *testing.T) {
		stamp := filepath.Join(s.dir, "never")
		cmd := s.command("exec", "--name", "stalled", stampCmd(stamp))
		var out, errb syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "troc to wait for the job's settings", func() bool { return strings.Contains(errb.String(), "waiting up to") })
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit %d, want %d\n%s", code, 128+int(syscall.SIGTERM), errb.String())
		}
		if _, err := os.Stat(stamp); err == nil {
			t.Errorf("the job ran, want it not started")
		}
		r := result{stdout: out.String()}.run(t)
		if r.Status != StatusTerminated || !strings.Contains(deref(r.Note), "before the job started") {
			t.Errorf("status %s, note %q; want Terminated before the job started", r.Status, deref(r.Note))
		}
		// troc ends at once, but its run still waits out the history (the
		// busy timeout) on its way to the spool.
		if d := time.Since(sent); d > 5*time.Second+3*time.Second {
			t.Errorf("troc took %s to end after SIGTERM", d)
		}
	})

	t.Run("late timeout", func(t *testing.T) {
		stamp := filepath.Join(s.dir, "late")
		cmd := s.command("exec", "--name", "stalled", stampCmd(stamp)+"; sleep 30")
		var out, errb syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		waitFor(t, "the job to start", func() bool { _, err := os.Stat(stamp); return err == nil })
		release() // the history answers now, with the job's --timeout 2s
		cmd.Wait()
		r := result{stdout: out.String()}.run(t)
		if r.Status != StatusTimedOut {
			t.Errorf("status %s, want TimedOut by the job's own timeout\n%s", r.Status, errb.String())
		}
	})
}
