package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fixtures in testdata/trochilus/ were written by the original troc
// itself (see the README there); the 0.1 schema, which no fixture has, is
// built by original01 from the original's first two migrations.

// originalRun is a run as the original recorded it.
type originalRun struct {
	id                   int64
	job                  string
	start, end           string // "" for NULL
	logFile, execLog     string
	status               string
	pid                  int // 0: NULL
	wantStatus, wantNote string
}

// original01 writes a history of the original's 0.1 schema (crons and
// cron_id, no Terminated, no pid) at path, with the runs given, then
// runs extra (to break it).
func original01(t *testing.T, path string, runs []originalRun, extra ...string) {
	t.Helper()
	db := openRaw(t, path)
	stmts := []string{`
		CREATE TABLE IF NOT EXISTS "schema_migrations" (version varchar(128) primary key)`, `
		INSERT INTO schema_migrations VALUES ('20251104051400'), ('20251108020521')`, `
		CREATE TABLE crons (
			id integer primary key autoincrement,
			name varchar not null, notify_log_content boolean not null default false,
			unique(name))`, `
		CREATE TABLE runs (
			id integer primary key autoincrement,
			cron_id int not null,
			start_time timestamp not null,
			end_time timestamp,
			log_file varchar not null,
			exec_log_file varchar not null,
			status varchar not null,
			constraint fk_cron_id foreign key(cron_id) references crons(id),
			check (status in ("Running", "Skipped", "Succeeded", "Failed")))`, `
		INSERT INTO crons (name, notify_log_content) VALUES ('backup', 0), ('report', 1)`,
	}
	for _, r := range runs {
		var end any
		if r.end != "" {
			end = r.end
		}
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO runs VALUES (%d, (SELECT id FROM crons WHERE name = '%s'), '%s', %s, '%s', '%s', '%s')`,
			r.id, r.job, r.start, sqlQuote(end), r.logFile, r.execLog, r.status))
	}
	for _, s := range append(stmts, extra...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func sqlQuote(v any) string {
	if v == nil {
		return "NULL"
	}
	return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", "''") + "'"
}

// runs01 are the runs of original01's history.
var runs01 = []originalRun{
	{id: 1, job: "backup", start: "2026-11-20 02:30:00", end: "2026-11-20 02:41:07", logFile: "/tmp/backup.1.log", execLog: "/tmp/trocsys_a.log", status: "Succeeded", wantStatus: "Succeeded"},
	{id: 2, job: "backup", start: "2026-11-21 02:30:00", end: "2026-11-21 02:30:00", execLog: "/tmp/trocsys_b.log", status: "Skipped", wantStatus: "Skipped"},
	{id: 5, job: "report", start: "2026-11-21 06:00:00", end: "2026-11-21 06:00:03", logFile: "/tmp/report.5.log", execLog: "/tmp/trocsys_c.log", status: "Failed", wantStatus: "Failed"},
	{id: 9, job: "backup", start: "2026-11-22 02:30:00", logFile: "/tmp/backup.9.log", execLog: "/tmp/trocsys_d.log", status: "Running", wantStatus: "Terminated", wantNote: orphanNote},
}

// fixtureRuns reads the runs of a fixture, as the original recorded them.
func fixtureRuns(t *testing.T, path string) []originalRun {
	t.Helper()
	db := openRaw(t, path)
	pid := "0"
	if rows, err := db.Query(`SELECT 1 FROM pragma_table_info('runs') WHERE name = 'pid'`); err == nil {
		if rows.Next() {
			pid = "coalesce(r.pid, 0)"
		}
		rows.Close()
	}
	rows, err := db.Query(`SELECT r.id, j.name, r.start_time, coalesce(r.end_time, ''), r.log_file, r.exec_log_file, r.status, ` + pid + `
		FROM runs r JOIN jobs j ON j.id = r.job_id ORDER BY r.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []originalRun
	for rows.Next() {
		var r originalRun
		var start, end any
		if err := rows.Scan(&r.id, &r.job, &start, &end, &r.logFile, &r.execLog, &r.status, &r.pid); err != nil {
			t.Fatal(err)
		}
		r.start, r.end = sqliteText(start), sqliteText(end)
		r.wantStatus = r.status
		if r.status == "Running" {
			r.wantStatus, r.wantNote = "Terminated", orphanNote
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sqliteText is a timestamp column's value as the original stored it:
// the driver hands text in a column declared timestamp back as a time.
func sqliteText(v any) string {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format("2006-01-02 15:04:05")
	case []byte:
		return string(v)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// putHistory puts the database at src in the sandbox's config directory,
// mode 0644 as the original left it, and returns its path and content.
func (s *sandbox) putHistory(src string) (string, []byte) {
	s.t.Helper()
	if err := os.MkdirAll(s.configDir(), 0o700); err != nil {
		s.t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		s.t.Fatal(err)
	}
	dst := filepath.Join(s.configDir(), "troc.db")
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return dst, b
}

func TestConvertOriginal(t *testing.T) {
	tests := []struct {
		name    string
		shape   string // in the backup's name and the log
		fixture string // "": original01's
		jobs    int
	}{
		{"0.1", "0.1", "", 2},
		{"0.2.0", "0.2", "testdata/trochilus/0.2.0/troc.db", 5},
		{"0.4.1", "0.3", "testdata/trochilus/0.4.1/troc.db", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			var want []originalRun
			src := tc.fixture
			if src == "" {
				src = filepath.Join(s.dir, "original.db")
				original01(t, src, runs01)
				want = runs01
			} else {
				want = fixtureRuns(t, src)
			}
			path, before := s.putHistory(src)

			res := s.mustTroc(0, "run", "list", "--json", "--limit", "0")
			wantLog := fmt.Sprintf("Converting the original troc's history (%s schema", tc.shape)
			if !strings.Contains(res.stderr, wantLog) || !strings.Contains(res.stderr, fmt.Sprintf("%d jobs, %d runs", tc.jobs, len(want))) {
				t.Errorf("stderr does not say %q with %d jobs and %d runs:\n%s", wantLog, tc.jobs, len(want), res.stderr)
			}
			var got []runJSON
			jsonOf(t, res, &got)
			if len(got) != len(want) {
				t.Fatalf("%d runs, want %d", len(got), len(want))
			}
			for i, w := range want {
				g := got[len(got)-1-i] // newest first
				checkConvertedRun(t, g, w)
			}

			bak := path + ".trochilus-" + tc.shape + ".bak"
			st, err := os.Stat(bak)
			if err != nil {
				t.Fatalf("no backup: %v", err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("backup mode %04o, want 0600", st.Mode().Perm())
			}
			if !bytes.Equal([]byte(fileContent(t, bak)), before) {
				t.Errorf("backup %s is not the original byte for byte", bak)
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("converted history: %v, mode %v, want 0600", err, st.Mode())
			}

			// New runs follow the highest id; the old ones are untouched.
			maxID := *got[0].ID
			run := s.mustTroc(0, "exec", "--name", want[0].job, "true").run(t)
			if run.ID == nil || *run.ID != maxID+1 {
				t.Errorf("new run's id = %v, want %d", deref(run.ID), maxID+1)
			}
			res = s.mustTroc(0, "run", "list", "--json", "--limit", "0")
			if strings.Contains(res.stderr, "Converting") {
				t.Errorf("converted twice:\n%s", res.stderr)
			}
			checkSummaries(t, s.history())
			if _, err := os.Stat(bak + "-wal"); err == nil {
				t.Errorf("%s-wal made of an empty -wal", bak)
			}
		})
	}
}

// checkConvertedRun compares a converted run, as troc prints it, with the
// original's record of it.
func checkConvertedRun(t *testing.T, g runJSON, w originalRun) {
	t.Helper()
	parse := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatalf("run %d: %v", w.id, err)
		}
		return tm
	}
	at := func(s *string) time.Time {
		if s == nil {
			return time.Time{}
		}
		tm, err := time.Parse(timeLayout, *s)
		if err != nil {
			t.Fatalf("run %d: %v", w.id, err)
		}
		return tm
	}
	if g.ID == nil || *g.ID != w.id || g.Job != w.job || string(g.Status) != w.wantStatus {
		t.Errorf("run %v of %s is %s, want run %d of %s %s", deref(g.ID), g.Job, g.Status, w.id, w.job, w.wantStatus)
	}
	if !at(g.StartTime).Equal(parse(w.start)) {
		t.Errorf("run %d: start %v, want %s UTC", w.id, deref(g.StartTime), w.start)
	}
	switch {
	case w.status == "Running":
		if g.EndTime == nil || at(g.EndTime).Before(parse(w.start)) {
			t.Errorf("run %d: end = %q, want an end not before its start %s", w.id, deref(g.EndTime), w.start)
		}
	case !at(g.EndTime).Equal(parse(w.end)):
		t.Errorf("run %d: end %v, want %s UTC", w.id, deref(g.EndTime), w.end)
	}
	if got := deref(g.LogFile); got != w.logFile {
		t.Errorf("run %d: log_file %q, want %q", w.id, got, w.logFile)
	}
	if got := deref(g.SystemLogFile); got != w.execLog {
		t.Errorf("run %d: system_log_file %q, want %q", w.id, got, w.execLog)
	}
	if got := deref(g.PID); got != w.pid {
		t.Errorf("run %d: pid %d, want %d", w.id, got, w.pid)
	}
	wantExit := w.status == "Succeeded"
	if (g.ExitCode != nil) != wantExit || wantExit && *g.ExitCode != 0 {
		t.Errorf("run %d: exit_code %v, want 0 for Succeeded only", w.id, deref(g.ExitCode))
	}
	if got := deref(g.Note); got != w.wantNote {
		t.Errorf("run %d: note %q, want %q", w.id, got, w.wantNote)
	}
}

// checkSummaries checks every job's summary columns and running totals
// (schema/0002_job_summary.sql) against the runs themselves, computed as
// that migration's backfill computes them.
func checkSummaries(t *testing.T, db *DB) {
	t.Helper()
	var bad string
	err := db.sql.QueryRow(`
		WITH c AS (
			SELECT job_id, max(id) AS last_run_id, count(*) AS runs_total,
				sum(status IN ('Failed', 'TimedOut', 'Terminated')) AS failures_total,
				max(CASE WHEN status = 'Succeeded' THEN end_ms END) AS last_success_ms,
				max(CASE WHEN status NOT IN ('Running', 'Skipped') THEN id END) AS last_end_id,
				sum(status = 'Skipped') AS skipped, sum(status = 'Succeeded') AS succeeded,
				sum(status = 'Failed') AS failed, sum(status = 'Terminated') AS terminated,
				sum(status = 'TimedOut') AS timedout
			FROM runs GROUP BY job_id)
		SELECT coalesce(group_concat(j.name), '') FROM jobs j JOIN c ON c.job_id = j.id
		WHERE j.last_run_id IS NOT c.last_run_id OR j.runs_total <> c.runs_total
			OR j.failures_total <> c.failures_total OR j.last_success_ms IS NOT c.last_success_ms
			OR j.last_end_id IS NOT c.last_end_id
			OR j.last_end_status IS NOT (SELECT status FROM runs WHERE id = c.last_end_id)
			OR j.skipped <> c.skipped OR j.succeeded <> c.succeeded OR j.failed <> c.failed
			OR j.terminated <> c.terminated OR j.timedout <> c.timedout`).Scan(&bad)
	if err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	if bad != "" {
		t.Errorf("jobs whose summary does not match their runs: %s", bad)
	}
	bad = ""
	err = db.sql.QueryRow(`
		WITH d AS (
			SELECT job_id, day,
				sum(runs) OVER (PARTITION BY job_id ORDER BY day) AS runs,
				sum(failures) OVER (PARTITION BY job_id ORDER BY day) AS failures
			FROM (SELECT job_id, start_ms / 86400000 AS day, count(*) AS runs,
				sum(status IN ('Failed', 'TimedOut', 'Terminated')) AS failures
				FROM runs GROUP BY job_id, day))
		SELECT coalesce(group_concat(job_id || '/' || day), '') FROM d FULL JOIN job_days x USING (job_id, day)
		WHERE x.runs IS NOT d.runs OR x.failures IS NOT d.failures`).Scan(&bad)
	if err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	if bad != "" {
		t.Errorf("job_days rows that do not match the runs: %s", bad)
	}
}

// TestConvertOriginalFails: a history the conversion cannot take is left
// as it was, byte for byte; troc says why on one line, with a hint, and
// troc exec still runs the job and spools its run.
func TestConvertOriginalFails(t *testing.T) {
	tests := []struct {
		name   string
		extra  []string
		want   string
		backup bool // the history is the original's: copied first
	}{
		{"run of a missing job", []string{`INSERT INTO runs VALUES (3, 7, '2026-11-20 03:00:00', NULL, '', '/tmp/x.log', 'Running')`},
			"run 3 belongs to job 7, which is not in the history", true},
		{"status never recorded", []string{`PRAGMA ignore_check_constraints = 1`,
			`INSERT INTO runs VALUES (3, 1, '2026-11-20 03:00:00', NULL, '', '/tmp/x.log', 'Exploded')`},
			"run 3 has status 'Exploded', which the original troc never recorded", true},
		{"start not a time", []string{`INSERT INTO runs VALUES (3, 1, '20/11/2026 03:00', NULL, '', '/tmp/x.log', 'Failed')`},
			"run 3 has start time '20/11/2026 03:00': want YYYY-MM-DD HH:MM:SS", true},
		{"a newer original's column", []string{`ALTER TABLE runs ADD COLUMN is_archived boolean not null default false`},
			"not a history of the original troc: runs has a column is_archived the original never had", false},
		{"a table of someone else's", []string{`CREATE TABLE notes (id integer)`},
			"not a history of the original troc: it has a table notes the original never had", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			src := filepath.Join(s.dir, "original.db")
			original01(t, src, runs01, tc.extra...)
			path, before := s.putHistory(src)

			res := s.troc("run", "list")
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			last := lines[len(lines)-1]
			if res.code != exitError || len(lines) < 2 || !strings.Contains(lines[len(lines)-2], tc.want) ||
				!strings.HasPrefix(lines[len(lines)-2], "troc: open history") || !strings.HasPrefix(last, "troc: hint: ") {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1, an error saying %q and a hint", res.code, res.stderr, tc.want)
			}
			if !bytes.Equal([]byte(fileContent(t, path)), before) {
				t.Errorf("the history changed")
			}
			_, err := os.Stat(path + ".trochilus-0.1.bak")
			if got := err == nil; got != tc.backup {
				t.Errorf("backup made: %t, want %t", got, tc.backup)
			}

			res = s.troc("exec", "--name", "backup", "echo ran")
			if run := res.run(t); res.code != 0 || run.ID != nil || run.Status != StatusSucceeded {
				t.Errorf("exec: exit %d, run %+v; want the job run and its run spooled", res.code, run)
			}
			if !bytes.Equal([]byte(fileContent(t, path)), before) {
				t.Errorf("the history changed after exec")
			}
		})
	}
}

// TestConvertOriginalRetry: once the cause is fixed, the next command
// converts the history, and the backup made the first time is kept.
func TestConvertOriginalRetry(t *testing.T) {
	s := newSandbox(t)
	src := filepath.Join(s.dir, "original.db")
	original01(t, src, runs01, `INSERT INTO runs VALUES (3, 7, '2026-11-20 03:00:00', NULL, '', '/tmp/x.log', 'Running')`)
	path, before := s.putHistory(src)
	s.mustTroc(exitError, "run", "list")
	raw := openRaw(t, path)
	if _, err := raw.Exec(`DELETE FROM runs WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	var got []runJSON
	jsonOf(t, s.mustTroc(0, "run", "list", "--json"), &got)
	if len(got) != len(runs01) {
		t.Errorf("%d runs after the retry, want %d", len(got), len(runs01))
	}
	if !bytes.Equal([]byte(fileContent(t, path+".trochilus-0.1.bak")), before) {
		t.Errorf("the backup is not the history as it was first found")
	}
}

// TestConvertOriginalAtOnce: the trocs that cron starts in the same
// minute after the upgrade all find the original's history; one converts
// it, and every one of them records its run.
func TestConvertOriginalAtOnce(t *testing.T) {
	s := newSandbox(t)
	s.putHistory("testdata/trochilus/0.4.1/troc.db")
	const n = 6
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := s.command("exec", "--name", fmt.Sprintf("job%d", i), "true")
		wg.Go(func() { results[i] = runResult(t, cmd) })
	}
	wg.Wait()
	converted := 0
	ids := map[int64]bool{}
	for i, res := range results {
		if strings.Contains(res.stderr, "Converting the original troc's history") {
			converted++
		}
		run := res.run(t)
		if res.code != 0 || run.ID == nil {
			t.Errorf("exec %d: exit, id = %d, %v; want 0, an id\n%s", i, res.code, deref(run.ID), res.stderr)
			continue
		}
		ids[*run.ID] = true
	}
	if converted != 1 {
		t.Errorf("%d trocs converted the history, want 1", converted)
	}
	for id := int64(8); id < 8+n; id++ {
		if !ids[id] {
			t.Errorf("no run %d among %v", id, ids)
		}
	}
	checkSummaries(t, s.history())
}

// TestOriginalPIDStart: a converted Running run whose pid is a process
// that started with it keeps that process; any other process at that
// pid is not the run's.
func TestOriginalPIDStart(t *testing.T) {
	boot, err := bootTime()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	ticks, err := procStartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	began := boot.Add(time.Duration(ticks) * time.Second / userHZ)
	r := &Run{PID: pid, Start: began.Truncate(time.Second)}
	if r.PIDStart = originalPIDStart(pid, r.Start, boot); r.PIDStart != ticks || !runAlive(r) {
		t.Errorf("started with the run: pid_start %d, want %d, alive", r.PIDStart, ticks)
	}
	r.Start = began.Add(-time.Hour).Truncate(time.Second)
	if r.PIDStart = originalPIDStart(pid, r.Start, boot); r.PIDStart == ticks || runAlive(r) {
		t.Errorf("started an hour after the run: pid_start %d, alive; want it taken for another process", r.PIDStart)
	}
}
